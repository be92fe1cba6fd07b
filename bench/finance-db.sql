-- A finance-like database for the copy benchmark (scripts/bench-pgcopy.sh):
-- staff, projects and their timesheets, with foreign keys, indexes, a
-- trigger and a view, the shape of the runbook's finance/timesheets
-- databases. psql -v rows=N sets the number of timesheet rows (about
-- 150 bytes each with their indexes). Generated, never committed.
CREATE TABLE staff (
  id         integer PRIMARY KEY,
  login      text NOT NULL UNIQUE,
  full_name  text NOT NULL,
  email      text NOT NULL,
  cost_rate  numeric(8,2) NOT NULL,
  started_on date NOT NULL
);
CREATE TABLE projects (
  id        integer PRIMARY KEY,
  code      text NOT NULL UNIQUE,
  title     text NOT NULL,
  client    text NOT NULL,
  budget    numeric(12,2) NOT NULL,
  closed    boolean NOT NULL DEFAULT false
);
CREATE TABLE timesheets (
  id         bigint PRIMARY KEY,
  staff_id   integer NOT NULL REFERENCES staff(id),
  project_id integer NOT NULL REFERENCES projects(id),
  work_date  date NOT NULL,
  hours      numeric(4,2) NOT NULL CHECK (hours > 0 AND hours <= 24),
  note       text,
  approved   boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX timesheets_staff_date ON timesheets (staff_id, work_date);
CREATE INDEX timesheets_project ON timesheets (project_id);

CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER timesheets_touch BEFORE UPDATE ON timesheets
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE VIEW project_hours AS
  SELECT project_id, sum(hours) AS hours FROM timesheets GROUP BY project_id;

INSERT INTO staff
  SELECT i, 'staff' || i, 'Staff Member ' || i, 'staff' || i || '@thehumanjourney.net',
         30 + (i % 70), date '2010-01-01' + (i % 4000)
  FROM generate_series(1, 20000) i;
INSERT INTO projects
  SELECT i, 'P' || lpad(i::text, 6, '0'), 'Excavation ' || i, 'Client ' || (i % 500),
         10000 + (i % 90) * 1000, i % 7 = 0
  FROM generate_series(1, 5000) i;
INSERT INTO timesheets (id, staff_id, project_id, work_date, hours, note, approved)
  SELECT i, 1 + (i * 7919) % 20000, 1 + (i * 104729) % 5000, date '2015-01-01' + (i % 3650)::int,
         1 + (i % 16) / 2.0, 'site work, trench ' || (i % 997) || ', context ' || (i % 89), i % 3 = 0
  FROM generate_series(1::bigint, :rows) i;
ANALYZE;
