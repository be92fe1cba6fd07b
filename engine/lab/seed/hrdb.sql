-- The hrdb VM: the staff master. A change is carried by dblink to
-- timesheets, finance (whose trigger then publishes it to archives), the
-- Admin database on finance, and tenders.
CREATE EXTENSION IF NOT EXISTS dblink;
CREATE TABLE staff (id integer PRIMARY KEY, name text NOT NULL, email text, updated_at timestamptz DEFAULT now());

CREATE FUNCTION staff_propagate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    upsert text := format('INSERT INTO staff (id, name, email) VALUES (%s, %L, %L) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, updated_at = now()',
                          NEW.id, NEW.name, NEW.email);
BEGIN
    PERFORM dblink_exec('host={{.Timesheets}} port=5432 dbname=timesheets user=oas_link password={{.LinkPassword}}', upsert);
    PERFORM dblink_exec('host={{.Finance}} port=5432 dbname=finance user=oas_link password={{.LinkPassword}}', upsert);
    PERFORM dblink_exec('host={{.Finance}} port=5432 dbname=admin user=oas_link password={{.LinkPassword}}', upsert);
    PERFORM dblink_exec('host={{.Tenders}} port=5432 dbname=tenders user=oas_link password={{.LinkPassword}}', upsert);
    RETURN NEW;
END $$;
CREATE TRIGGER staff_propagate AFTER INSERT OR UPDATE ON staff FOR EACH ROW EXECUTE FUNCTION staff_propagate();
ALTER TABLE staff DISABLE TRIGGER staff_propagate;
INSERT INTO staff (id, name, email) SELECT i, 'Staff ' || i, 'staff' || i || '@thehumanjourney.net' FROM generate_series(1, 50) i;
ALTER TABLE staff ENABLE TRIGGER staff_propagate;
