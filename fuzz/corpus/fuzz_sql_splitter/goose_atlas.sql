-- +goose NO TRANSACTION
-- atlas:txmode none
CREATE DATABASE analytics;
ALTER SYSTEM SET work_mem = '64MB';
