-- A finance database in miniature, for pg_function_rewrite's tests: the
-- seed's amqp_* functions, dblink functions with the seed's IPs and a
-- password, and the attributes CREATE OR REPLACE must keep.
CREATE EXTENSION IF NOT EXISTS dblink;

-- Roles are cluster-wide: created once, shared by every test database.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cutover_rw_owner') THEN CREATE ROLE cutover_rw_owner; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cutover_rw_reader') THEN CREATE ROLE cutover_rw_reader; END IF;
END
$$;

-- pg_amqp's schema (amqp.broker, amqp.publish) comes first, from
-- engine/pgamqp's Schema.
INSERT INTO amqp.broker (host, vhost, username, password) VALUES ('10.0.10.107', '/', 'finance', 'secret');

CREATE TABLE staff (id serial PRIMARY KEY, name text);
CREATE TABLE projects (id serial PRIMARY KEY, code text);

CREATE FUNCTION amqp_staff_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM amqp.publish(1, 'oas', 'oas.staff', row_to_json(NEW)::text);
    RETURN NEW;
END
$$;

CREATE FUNCTION amqp_project_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM amqp.publish(1, 'oas', 'oas.projects', row_to_json(NEW)::text);
    RETURN NEW;
END
$$;

CREATE TRIGGER staff_changed AFTER INSERT OR UPDATE ON staff FOR EACH ROW EXECUTE FUNCTION amqp_staff_changed();
CREATE TRIGGER project_changed AFTER INSERT OR UPDATE ON projects FOR EACH ROW EXECUTE FUNCTION amqp_project_changed();

-- Not selected by name amqp_%, holds a routing key that must not change
-- when only amqp_% is rewritten.
CREATE FUNCTION notify_staff_report() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'oas.staff'::text $$;

-- dblink functions: 10.0.10.48 and 10.0.10.4 are different hosts.
CREATE FUNCTION timesheet_hours(p_staff integer) RETURNS numeric LANGUAGE plpgsql STABLE AS $$
DECLARE
    total numeric;
BEGIN
    SELECT h INTO total FROM dblink('host=10.0.10.23 port=5432 dbname=timesheets user=finance password=secret',
        format('SELECT sum(hours) FROM hours WHERE staff = %s', p_staff)) AS t(h numeric);
    RETURN total;
END
$$;

CREATE FUNCTION finance_conn() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN 'host=10.0.10.48 dbname=finance user=finance password=secret';
END
$$;

CREATE FUNCTION legacy_conn() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    -- 10.0.10.4 is another host than finance; hostaddr must stay numeric.
    RETURN 'host=10.0.10.4 dbname=legacy user=legacy password=secret hostaddr=10.0.10.42';
END
$$;

CREATE FUNCTION remote_hosts() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['10.0.10.42,10.0.10.63', '10.0.10.130', '192.168.98.24', '10.0.10.480']
$$;

-- Overloads: both change, each keeps its own signature.
CREATE FUNCTION hr_lookup(p_id integer) RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'host=10.0.10.42 id=' || p_id $$;
CREATE FUNCTION hr_lookup(p_name text) RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'host=10.0.10.42 name=' || p_name $$;

-- SECURITY DEFINER with SET search_path, an owner, grants and a comment.
CREATE FUNCTION tenders_sync(p_episode integer) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp STABLE AS $$
BEGIN
    RETURN 'host=10.0.10.63 dbname=tenders episode=' || p_episode;
END
$$;
ALTER FUNCTION tenders_sync(integer) OWNER TO cutover_rw_owner;
REVOKE ALL ON FUNCTION tenders_sync(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenders_sync(integer) TO cutover_rw_reader;
COMMENT ON FUNCTION tenders_sync(integer) IS 'pushes an episode to mapdata via tenders';

-- A procedure.
CREATE PROCEDURE archive_push(p_project integer) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dblink_exec('host=10.0.10.130 dbname=archives user=finance password=secret',
        format('UPDATE projects SET pushed = now() WHERE id = %s', p_project));
END
$$;

-- Untouched by every test rewrite.
CREATE FUNCTION add_one(i integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT i + 1 $$;

-- An aggregate is never selected.
CREATE AGGREGATE text_cat_10_0_10_48(text) (SFUNC = textcat, STYPE = text, INITCOND = '10.0.10.48');
