-- The tenders VM: episodes whose changes reach mapdata's oasites.tenders.
CREATE EXTENSION IF NOT EXISTS dblink;
CREATE TABLE staff (id integer PRIMARY KEY, name text NOT NULL, email text, updated_at timestamptz DEFAULT now());
CREATE TABLE episodes (id integer PRIMARY KEY, title text NOT NULL, status text NOT NULL DEFAULT 'open',
    updated_at timestamptz DEFAULT now());

CREATE FUNCTION episode_to_mapdata() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dblink_exec('host={{.Mapdata}} port=5432 dbname=oasites user=oas_link password={{.LinkPassword}}',
        format('INSERT INTO tenders (episode_id, title, status) VALUES (%s, %L, %L) ON CONFLICT (episode_id) DO UPDATE SET title = EXCLUDED.title, status = EXCLUDED.status, updated_at = now()',
               NEW.id, NEW.title, NEW.status));
    RETURN NEW;
END $$;
CREATE TRIGGER episode_changed AFTER INSERT OR UPDATE ON episodes FOR EACH ROW EXECUTE FUNCTION episode_to_mapdata();
INSERT INTO staff (id, name, email) SELECT i, 'Staff ' || i, 'staff' || i || '@thehumanjourney.net' FROM generate_series(1, 50) i;
ALTER TABLE episodes DISABLE TRIGGER episode_changed;
INSERT INTO episodes (id, title) SELECT i, 'Episode ' || i FROM generate_series(1, 100) i;
ALTER TABLE episodes ENABLE TRIGGER episode_changed;
