CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now(); -- a ; inside the body
  RETURN NEW;
END;
$$;

CREATE FUNCTION outer_fn() RETURNS text LANGUAGE sql AS $body$
  SELECT $$inner; quoted$$ || $x$ $$ $x$;
$body$;

DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app') THEN
    EXECUTE 'CREATE ROLE app';
  END IF;
END
$do$;
PREPARE claim AS SELECT * FROM runs WHERE id = $1 AND a$b = $12;
