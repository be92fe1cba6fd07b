-- The Admin database on the finance VM: a copy of staff kept by hrdb.
CREATE TABLE staff (id integer PRIMARY KEY, name text NOT NULL, email text, updated_at timestamptz DEFAULT now());
INSERT INTO staff (id, name, email) SELECT i, 'Staff ' || i, 'staff' || i || '@thehumanjourney.net' FROM generate_series(1, 50) i;
