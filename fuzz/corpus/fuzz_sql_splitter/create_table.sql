-- Users and their sessions.
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "Sessions" (
    user_id bigint REFERENCES users (id) ON DELETE CASCADE,
    "token;value" text,
    expires numeric(10, 2) DEFAULT 1.5e3
);
INSERT INTO users (email) VALUES ('it''s@example.com'), ('a;b@example.com');
