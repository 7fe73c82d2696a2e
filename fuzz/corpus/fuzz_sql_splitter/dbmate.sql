-- migrate:up
CREATE TABLE widgets (id serial PRIMARY KEY, name text);
ALTER TABLE widgets ADD COLUMN price numeric;

-- migrate:down
DROP TABLE widgets;
