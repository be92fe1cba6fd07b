-- The timesheets VM: entries that finance pulls, staff kept by hrdb.
CREATE TABLE staff (id integer PRIMARY KEY, name text NOT NULL, email text, updated_at timestamptz DEFAULT now());
CREATE TABLE entries (id serial PRIMARY KEY, staff_id integer NOT NULL REFERENCES staff(id), week date NOT NULL,
    hours numeric NOT NULL, pulled boolean NOT NULL DEFAULT false);
CREATE INDEX entries_week ON entries (week);
INSERT INTO staff (id, name, email) SELECT i, 'Staff ' || i, 'staff' || i || '@thehumanjourney.net' FROM generate_series(1, 50) i;
INSERT INTO entries (staff_id, week, hours)
SELECT 1 + i % 50, date '2026-01-05' + 7 * (i % 40), 1 + i % 8 FROM generate_series(1, 2000) i;
