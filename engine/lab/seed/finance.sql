-- The finance VM's finance database: staff and projects whose changes
-- publish on the live routing keys through pg_amqp, and the "pull time
-- sheets" function that reads timesheets by dblink and writes back.
CREATE EXTENSION IF NOT EXISTS dblink;
{{.AmqpSchema}}
INSERT INTO amqp.broker (broker_id, host, port, vhost, username, password)
VALUES (1, '{{.Broker}}', 5672, '{{.Vhost}}', '{{.AmqpUser}}', '{{.AmqpPassword}}');

CREATE TABLE staff (id integer PRIMARY KEY, name text NOT NULL, email text, updated_at timestamptz DEFAULT now());
CREATE TABLE projects (id integer PRIMARY KEY, code text NOT NULL, title text, staff_id integer REFERENCES staff(id),
    updated_at timestamptz DEFAULT now());
-- What the web app writes (its /cgi-bin/note.sh): the downtime test's
-- writer, whose every acknowledged write must reach the new VM.
CREATE TABLE web_notes (id integer PRIMARY KEY, body text NOT NULL, at timestamptz DEFAULT now());
CREATE TABLE timesheet_totals (staff_id integer REFERENCES staff(id), week date, hours numeric NOT NULL,
    PRIMARY KEY (staff_id, week));

CREATE FUNCTION amqp_staff_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM amqp.publish(1, 'oas', 'oas.staff', row_to_json(NEW)::text);
    RETURN NEW;
END $$;
CREATE FUNCTION amqp_project_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM amqp.publish(1, 'oas', 'oas.projects', row_to_json(NEW)::text);
    RETURN NEW;
END $$;
CREATE TRIGGER staff_changed AFTER INSERT OR UPDATE ON staff FOR EACH ROW EXECUTE FUNCTION amqp_staff_changed();
CREATE TRIGGER project_changed AFTER INSERT OR UPDATE ON projects FOR EACH ROW EXECUTE FUNCTION amqp_project_changed();

-- Pull time sheets: totals from timesheets, then mark them pulled there.
CREATE FUNCTION pull_timesheets(p_week date) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO timesheet_totals (staff_id, week, hours)
    SELECT t.staff_id, t.week, t.hours
    FROM dblink('host={{.Timesheets}} port=5432 dbname=timesheets user=oas_link password={{.LinkPassword}}',
                format('SELECT staff_id, week, sum(hours) FROM entries WHERE week = %L GROUP BY 1, 2', p_week))
         AS t(staff_id integer, week date, hours numeric)
    ON CONFLICT (staff_id, week) DO UPDATE SET hours = EXCLUDED.hours;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM dblink_exec('host={{.Timesheets}} port=5432 dbname=timesheets user=oas_link password={{.LinkPassword}}',
                        format('UPDATE entries SET pulled = true WHERE week = %L', p_week));
    RETURN n;
END $$;

INSERT INTO staff (id, name, email) SELECT i, 'Staff ' || i, 'staff' || i || '@thehumanjourney.net' FROM generate_series(1, 50) i;
INSERT INTO projects (id, code, title, staff_id) SELECT i, 'P-' || i, 'Project ' || i, 1 + i % 50 FROM generate_series(1, 200) i;
-- Seeding published on the live keys: those calls are history, not news.
TRUNCATE amqp.published;

-- hrdb's dblink writes into staff as oas_link, whose trigger publishes:
-- pg_amqp's schema must be usable by it.
GRANT USAGE ON SCHEMA amqp TO oas_link;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA amqp TO oas_link;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA amqp TO oas_link;
