-- mapdata's oasites database: the tenders table tenders writes into.
CREATE TABLE tenders (episode_id integer PRIMARY KEY, title text NOT NULL, status text NOT NULL,
    updated_at timestamptz DEFAULT now());
INSERT INTO tenders (episode_id, title, status) SELECT i, 'Episode ' || i, 'open' FROM generate_series(1, 100) i;
