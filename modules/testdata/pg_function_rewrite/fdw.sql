-- Foreign servers and user mappings for pg_function_rewrite's
-- foreign_servers tests, loaded after finance.sql: the archives server by
-- IP with a password in its user mapping, and a server reached by hostaddr
-- (which must stay numeric).
CREATE EXTENSION IF NOT EXISTS postgres_fdw;

CREATE SERVER archives FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '10.0.10.130', port '5432', dbname 'archives');
CREATE USER MAPPING FOR postgres SERVER archives
    OPTIONS (user 'finance', password 'old-secret');

CREATE SERVER mapdata FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (hostaddr '192.168.98.24', port '5432', dbname 'mapdata');
CREATE USER MAPPING FOR PUBLIC SERVER mapdata OPTIONS (user 'maps');
