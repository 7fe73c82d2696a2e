\set ON_ERROR_STOP on
\echo don't split
COPY users (email) FROM stdin;
a@example.com
\.
SELECT 1;
\i other.sql
