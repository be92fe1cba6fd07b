-- archives-db: what arrives from finance on the live routing keys.
CREATE TABLE staff (id integer PRIMARY KEY, body jsonb NOT NULL, received_at timestamptz DEFAULT now());
CREATE TABLE projects (id integer PRIMARY KEY, body jsonb NOT NULL, received_at timestamptz DEFAULT now());
CREATE TABLE received (id serial PRIMARY KEY, routing_key text NOT NULL, body text NOT NULL, received_at timestamptz DEFAULT now());
