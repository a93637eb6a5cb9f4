-- QuFLX database schema, for pasting whole into Supabase's SQL editor on a fresh database.
-- Generated from src/db/migrations by `npm run cli -- db schema`; QuFLX applies the same files at
-- start and skips the ones recorded in schema_migrations. Do not edit: regenerate.
BEGIN;
CREATE TABLE IF NOT EXISTS schema_migrations (
  version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());

-- ==================== 001_historical_ticks.sql ====================

-- QuFLX schema, version 1. Applied on start by QuFLX; 002 turns historical_ticks into compact
-- daily partitions. To paste into Supabase's SQL editor, use ../supabase-schema.sql (all versions).

-- Every accepted tick, exactly once. (pair, tick_key) is the tick's identity: the feed's id
-- where it gave one ('i:<id>'), else its time and price ('t:<timestamp>:<price>').
-- The identity is the primary key: no surrogate id, one index fewer to write per tick.
CREATE TABLE IF NOT EXISTS historical_ticks (
  pair        VARCHAR(32)      NOT NULL,
  price       DOUBLE PRECISION NOT NULL CHECK (price > 0),
  "timestamp" BIGINT           NOT NULL,
  tick_key    TEXT             NOT NULL,
  feed_id     TEXT,
  seq         BIGINT,
  received_at TIMESTAMPTZ      NOT NULL DEFAULT now(),
  CONSTRAINT historical_ticks_identity PRIMARY KEY (pair, tick_key)
);

-- Range reads (export, candles at bucket edges) by pair and time.
CREATE INDEX IF NOT EXISTS historical_ticks_pair_time ON historical_ticks (pair, "timestamp");

-- Candle rollups of stored ticks, kept in the same statement that stores the ticks, so candle
-- reads aggregate a few rows instead of every tick. size = bucket length in seconds (5, 60,
-- 3600); every timeframe is a multiple of one of them. open/close carry the (timestamp,
-- tick_key) of their tick, so partial buckets merge exactly whatever the arrival order.
CREATE TABLE IF NOT EXISTS tick_rollups (
  pair      VARCHAR(32)      NOT NULL,
  size      INTEGER          NOT NULL,
  bucket    BIGINT           NOT NULL,
  open      DOUBLE PRECISION NOT NULL,
  high      DOUBLE PRECISION NOT NULL,
  low       DOUBLE PRECISION NOT NULL,
  close     DOUBLE PRECISION NOT NULL,
  volume    BIGINT           NOT NULL,
  open_at   BIGINT           NOT NULL,
  open_key  TEXT             NOT NULL,
  close_at  BIGINT           NOT NULL,
  close_key TEXT             NOT NULL,
  PRIMARY KEY (pair, size, bucket)
);

-- Ticks the database refused (a poison row found by splitting its batch), kept with the reason.
CREATE TABLE IF NOT EXISTS rejected_ticks (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payload     TEXT        NOT NULL,
  reason      TEXT        NOT NULL,
  rejected_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE historical_ticks ENABLE ROW LEVEL SECURITY;
ALTER TABLE rejected_ticks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tick_rollups ENABLE ROW LEVEL SECURITY;

-- On Supabase: anyone with the anon or an authenticated key may read ticks; only the
-- Postgres connection QuFLX uses (the table owner) writes.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon')
     AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated')
     AND NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = current_schema() AND tablename = 'historical_ticks' AND policyname = 'historical_ticks_read') THEN
    CREATE POLICY historical_ticks_read ON historical_ticks FOR SELECT TO anon, authenticated USING (true);
    CREATE POLICY tick_rollups_read ON tick_rollups FOR SELECT TO anon, authenticated USING (true);
  END IF;
END
$$;
INSERT INTO schema_migrations (version) VALUES ('001_historical_ticks.sql');

-- ==================== 002_compact_ticks.sql ====================

-- QuFLX schema, version 2: compact tick storage in daily partitions, retention, Supabase roles.
-- Upgrades a version-1 database in place: every stored tick is moved, none lost or doubled (the
-- counts are compared before the old table goes), in one transaction, with progress as NOTICEs.
--
-- Why this layout (measured on PostgreSQL 15, 1M ticks over 5 pairs, batches of 5,000):
-- * One row per tick: "timestamp" BIGINT, price FLOAT8, pair_id INT4 (a tick_pairs id instead of
--   the name), and the feed's id only where it gave one: feed_num INT8 when the id is a canonical
--   decimal integer ('123', '-5'; not '007'), else feed_text. A row without an id is 52 bytes
--   of heap (24 bytes of tuple header, 20 of data, 4 of line pointer), one with an integer id 60.
-- * One index for range reads, (pair_id, "timestamp") at fillfactor 100: its entries are 28 bytes,
--   narrow enough for PostgreSQL's split rule for rising keys within a group (nbtsplitloc.c
--   applies it to tuples of at most two 8-byte columns), so pages fill completely: 28.5 bytes a
--   tick. A unique (pair_id, "timestamp", price) index is 36 bytes an entry, too wide for that
--   rule, and its pages split in halves: 65 bytes a tick. A tick without an id: about 82 bytes.
-- * Ticks with an id add an index on (pair_id, id key), 28.5 bytes, where the key is the integer
--   id itself or hashtextextended() of a text id. A hash only narrows the search: the stored id
--   is always compared in full, so two ids with the same hash are both kept. About 119 bytes
--   with an integer id; a text id adds its length to the row (9 characters: about 134).
--
-- Identity and why no unique index holds it: a unique index on a partitioned table must contain
-- the partition key ("timestamp"), and the identity (pair, id) does not: the same id could come
-- back with another time, in another day's partition. PostgreSQL has no global index, so QuFLX
-- enforces identity itself, in the one write path (insertTicks): in the writing transaction it
-- takes a transaction-level advisory lock per pair (pg_advisory_xact_lock(tick_pairs oid,
-- pair_id), in pair order), then looks up the batch's identities (by time for ticks without an
-- id, by id key in the days whose id range in tick_days covers it for the others), then inserts
-- only the ticks it did not find. Two processes writing one pair queue on the lock, so the
-- second sees the first's committed rows: a tick cannot be stored twice. Only QuFLX's own
-- connection may write these tables (see the privileges below), so no other writer can bypass it.
--
-- Retention: ticks live in one partition per UTC day, ticks_YYYYMMDD, created by
-- quflx_tick_partition() (CREATE TABLE + ATTACH, which locks the parent in SHARE UPDATE EXCLUSIVE
-- mode and so blocks no reader or writer; CREATE TABLE ... PARTITION OF would take ACCESS
-- EXCLUSIVE). A day is dropped whole once it is older than TICK_RETENTION_DAYS.

-- Pair names, one per symbol (the pair without the characters outside [A-Za-z0-9_]): ticks refer
-- to a pair by its id. symbol is NULL only for a second name of one symbol found in old data.
CREATE TABLE tick_pairs (
  id     INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pair   VARCHAR(32) NOT NULL UNIQUE,
  symbol VARCHAR(32) UNIQUE
);

CREATE TABLE ticks (
  "timestamp" BIGINT           NOT NULL,
  price       DOUBLE PRECISION NOT NULL CHECK (price > 0),
  pair_id     INTEGER          NOT NULL,
  feed_num    BIGINT,
  feed_text   TEXT,
  CHECK (feed_num IS NULL OR feed_text IS NULL)
) PARTITION BY RANGE ("timestamp");

CREATE INDEX ticks_pair_time ON ticks (pair_id, "timestamp") WITH (fillfactor = 100);
CREATE INDEX ticks_feed_id ON ticks (pair_id, (COALESCE(feed_num, hashtextextended(feed_text, 0))))
  WITH (fillfactor = 100) WHERE feed_num IS NOT NULL OR feed_text IS NOT NULL;

-- What each day partition holds per pair, kept in the statement batch that stores the ticks: the
-- count and time span (db stats), and the range of integer and of text ids (in byte order), so an
-- id is looked up only in the days whose range covers it.
CREATE TABLE tick_days (
  pair_id  INTEGER NOT NULL,
  day      INTEGER NOT NULL,
  ticks    BIGINT  NOT NULL,
  first_at BIGINT  NOT NULL,
  last_at  BIGINT  NOT NULL,
  num_lo   BIGINT,
  num_hi   BIGINT,
  text_lo  TEXT COLLATE "C",
  text_hi  TEXT COLLATE "C",
  PRIMARY KEY (pair_id, day)
);

-- Identities of ticks that arrived already older than the retention: not stored, but counted in
-- their candles once. Kept TICK_RETENTION_DAYS after arrival, so a replay in that time counts nothing.
CREATE TABLE expired_ticks (
  pair_id    INTEGER     NOT NULL,
  tick_key   TEXT        NOT NULL,
  arrived_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (pair_id, tick_key)
);

-- Settings every writer must agree on (the CLI and the server alike); the server writes them at start.
CREATE TABLE quflx_settings (
  id                  BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
  tick_retention_days INTEGER CHECK (tick_retention_days > 0)
);
INSERT INTO quflx_settings DEFAULT VALUES;

-- Row-level security and privileges of one QuFLX table, where Supabase's API roles exist (on
-- Supabase they get every privilege on new tables by default, and service_role bypasses RLS):
-- every privilege is taken back, readable tables get SELECT and a read policy for anon and
-- authenticated; writes stay with the owner, QuFLX's own connection.
CREATE FUNCTION quflx_secure(tbl REGCLASS, readable BOOLEAN) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
  api TEXT;
  roles TEXT := (SELECT string_agg(quote_ident(rolname), ', ' ORDER BY rolname) FROM pg_roles
                 WHERE rolname IN ('anon', 'authenticated', 'service_role'));
  policy TEXT := (SELECT relname FROM pg_class WHERE oid = tbl) || '_read';
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = tbl) <> 'v' THEN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  END IF;
  IF roles IS NULL THEN RETURN; END IF;
  EXECUTE format('REVOKE ALL ON %s FROM %s', tbl, roles);
  IF NOT readable THEN RETURN; END IF;
  EXECUTE format('GRANT SELECT ON %s TO %s', tbl, roles);
  api := (SELECT string_agg(quote_ident(rolname), ', ' ORDER BY rolname) FROM pg_roles WHERE rolname IN ('anon', 'authenticated'));
  IF api IS NOT NULL AND (SELECT relkind FROM pg_class WHERE oid = tbl) <> 'v'
     AND NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = tbl AND polname = policy) THEN
    EXECUTE format('CREATE POLICY %I ON %s FOR SELECT TO %s USING (true)', policy, tbl, api);
  END IF;
END
$$;

-- The partition of ticks for a UTC day (days since 1970-01-01), created when missing; returns its name.
CREATE FUNCTION quflx_tick_partition(day INTEGER) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
  parent REGCLASS := 'ticks'::regclass;
  ns TEXT := (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = parent);
  name TEXT := 'ticks_' || to_char(DATE '1970-01-01' + day, 'YYYYMMDD');
  part TEXT := format('%s.%I', ns, name);
BEGIN
  IF to_regclass(part) IS NOT NULL THEN RETURN name; END IF;
  -- One creator at a time (held to the end of the transaction); then look again.
  PERFORM pg_advisory_xact_lock(parent::oid::int, -1);
  IF to_regclass(part) IS NOT NULL THEN RETURN name; END IF;
  EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
  EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                 parent, part, day::bigint * 86400000, (day + 1)::bigint * 86400000);
  PERFORM quflx_secure(part::regclass, false);
  RETURN name;
END
$$;

-- Move the version-1 rows, one (pair, day) at a time in time order, so each partition's indexes
-- are filled from the right. Memory stays flat: every step is one INSERT ... SELECT in the server.
ALTER TABLE historical_ticks RENAME TO historical_ticks_v1;

DO $$
DECLARE
  total BIGINT := (SELECT count(*) FROM historical_ticks_v1);
  moved BIGINT := 0;
  step BIGINT;
  p RECORD;
  t BIGINT;
  d INTEGER;
  started TIMESTAMPTZ := clock_timestamp();
  reported TIMESTAMPTZ := clock_timestamp();
BEGIN
  RAISE NOTICE 'compact ticks: moving % ticks from historical_ticks (version 1)', total;
  -- For each symbol the name with the most ticks keeps it; another name of it is kept without.
  INSERT INTO tick_pairs (pair, symbol)
  SELECT pair, CASE WHEN rank = 1 THEN symbol END
  FROM (SELECT pair, symbol, row_number() OVER (PARTITION BY symbol ORDER BY n DESC, pair) AS rank
        FROM (SELECT pair, regexp_replace(pair, '[^A-Za-z0-9_]', '', 'g') AS symbol, count(*) AS n
              FROM historical_ticks_v1 GROUP BY pair
              UNION
              SELECT DISTINCT pair, regexp_replace(pair, '[^A-Za-z0-9_]', '', 'g'), 0 FROM tick_rollups
              WHERE pair NOT IN (SELECT pair FROM historical_ticks_v1)) named) ranked
  ORDER BY pair;
  FOR p IN SELECT id, pair FROM tick_pairs WHERE symbol IS NULL LOOP
    RAISE NOTICE 'compact ticks: pair % shares its symbol with another stored name; its ticks keep this name', p.pair;
  END LOOP;

  FOR p IN SELECT id, pair FROM tick_pairs ORDER BY id LOOP
    t := (SELECT min("timestamp") FROM historical_ticks_v1 WHERE pair = p.pair);
    WHILE t IS NOT NULL LOOP
      d := floor(t / 86400000.0);
      PERFORM quflx_tick_partition(d);
      WITH src AS (
        SELECT o."timestamp", o.price, p.id AS pair_id,
               CASE WHEN id ~ '^(0|-?[1-9][0-9]{0,18})$' THEN
                 CASE WHEN id::numeric BETWEEN -9223372036854775808 AND 9223372036854775807 THEN id::bigint END
               END AS feed_num,
               id AS feed_text
        FROM (SELECT "timestamp", price, CASE WHEN tick_key LIKE 'i:%' THEN substr(tick_key, 3) END AS id
              FROM historical_ticks_v1
              WHERE pair = p.pair AND "timestamp" >= d::bigint * 86400000 AND "timestamp" < (d + 1)::bigint * 86400000
              ORDER BY "timestamp") o
      ), stored AS (
        INSERT INTO ticks ("timestamp", price, pair_id, feed_num, feed_text)
        SELECT "timestamp", price, pair_id, feed_num, CASE WHEN feed_num IS NULL THEN feed_text END FROM src
        RETURNING "timestamp", feed_num, feed_text
      )
      INSERT INTO tick_days (pair_id, day, ticks, first_at, last_at, num_lo, num_hi, text_lo, text_hi)
      SELECT p.id, d, count(*), min("timestamp"), max("timestamp"), min(feed_num), max(feed_num),
             min(feed_text COLLATE "C"), max(feed_text COLLATE "C")
      FROM stored
      RETURNING ticks INTO step;
      moved := moved + step;
      IF clock_timestamp() - reported > interval '2 seconds' THEN
        reported := clock_timestamp();
        RAISE NOTICE 'compact ticks: % of % moved (% %%), % ticks/s', moved, total,
          round(100.0 * moved / greatest(total, 1), 1),
          round(moved / greatest(extract(epoch FROM clock_timestamp() - started), 0.001));
      END IF;
      t := (SELECT min("timestamp") FROM historical_ticks_v1 WHERE pair = p.pair AND "timestamp" >= (d + 1)::bigint * 86400000);
    END LOOP;
  END LOOP;

  IF moved <> total OR (SELECT sum(ticks) FROM tick_days) IS DISTINCT FROM nullif(total, 0) THEN
    RAISE EXCEPTION 'compact ticks: moved % of % ticks; nothing changed', moved, total;
  END IF;
  RAISE NOTICE 'compact ticks: moved all % ticks in % s', total, round(extract(epoch FROM clock_timestamp() - started)::numeric, 1);
END
$$;

DROP TABLE historical_ticks_v1;

-- The contract's table, for every reader: pair, price, "timestamp", and the feed's id (NULL when
-- it gave none). Filters on pair and "timestamp" reach the (pair_id, "timestamp") index.
CREATE VIEW historical_ticks WITH (security_invoker = true) AS
SELECT p.pair, t.price, t."timestamp", COALESCE(t.feed_num::text, t.feed_text) AS feed_id
FROM ticks t JOIN tick_pairs p ON p.id = t.pair_id;

SELECT quflx_secure('tick_pairs', true), quflx_secure('ticks', true), quflx_secure('tick_days', true),
       quflx_secure('tick_rollups', true), quflx_secure('historical_ticks', true),
       quflx_secure('rejected_ticks', false), quflx_secure('expired_ticks', false),
       quflx_secure('quflx_settings', false), quflx_secure('schema_migrations', false);

DO $$
DECLARE
  roles TEXT := (SELECT string_agg(quote_ident(rolname), ', ') FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role'));
BEGIN
  -- Functions are executable by PUBLIC by default: these are QuFLX's own.
  REVOKE ALL ON FUNCTION quflx_secure(REGCLASS, BOOLEAN), quflx_tick_partition(INTEGER) FROM PUBLIC;
  IF roles IS NOT NULL THEN
    EXECUTE format('REVOKE ALL ON FUNCTION quflx_secure(REGCLASS, BOOLEAN), quflx_tick_partition(INTEGER) FROM %s', roles);
    EXECUTE format('REVOKE ALL ON SEQUENCE tick_pairs_id_seq, rejected_ticks_id_seq FROM %s', roles);
  END IF;
END
$$;
INSERT INTO schema_migrations (version) VALUES ('002_compact_ticks.sql');

-- ==================== 003_alerts.sql ====================

-- QuFLX price alerts (no reference to the tick tables; it uses 002's quflx_secure for Supabase's roles). Applied on start by QuFLX;
-- also fit to paste whole into Supabase's SQL editor.

-- An alert fires once: the process that claims it (UPDATE ... WHERE triggered_at IS NULL) sets
-- triggered_at and the tick that fired it; every other claim finds it taken.
CREATE TABLE IF NOT EXISTS alerts (
  id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The instrument's canonical name (the first spelling seen of its symbol).
  pair              VARCHAR(32)      NOT NULL,
  condition         TEXT             NOT NULL CHECK (condition IN ('above', 'below')),
  price             DOUBLE PRECISION NOT NULL CHECK (price > 0 AND price < 'Infinity'),
  note              TEXT             CHECK (char_length(note) <= 200),
  created_at        TIMESTAMPTZ      NOT NULL,
  -- The pair's seq when the alert was made: ticks up to it were accepted before it.
  created_seq       BIGINT           NOT NULL DEFAULT 0,
  triggered_at      TIMESTAMPTZ,
  -- The tick that fired it: its price and its own timestamp (epoch ms).
  trigger_price     DOUBLE PRECISION,
  trigger_timestamp BIGINT,
  CONSTRAINT alerts_trigger_whole CHECK ((triggered_at IS NULL) = (trigger_price IS NULL) AND (triggered_at IS NULL) = (trigger_timestamp IS NULL))
);

-- What every process loads and watches: the alerts that have not fired.
CREATE INDEX IF NOT EXISTS alerts_waiting ON alerts (id) WHERE triggered_at IS NULL;

-- Alerts are the trader's own: on Supabase no API role (anon, authenticated, service_role) reads
-- or writes them; only the Postgres connection QuFLX uses (the owner) does (see 002's quflx_secure).
SELECT quflx_secure('alerts', false);
DO $$
DECLARE
  roles TEXT := (SELECT string_agg(quote_ident(rolname), ', ' ORDER BY rolname) FROM pg_roles
                 WHERE rolname IN ('anon', 'authenticated', 'service_role'));
BEGIN
  IF roles IS NOT NULL THEN
    EXECUTE format('REVOKE ALL ON SEQUENCE alerts_id_seq FROM %s', roles);
  END IF;
END
$$;
INSERT INTO schema_migrations (version) VALUES ('003_alerts.sql');

-- ==================== 004_tick_partition_race.sql ====================

-- quflx_tick_partition(), safe when two writers create the same day at once (two QuFLX processes,
-- WORKERS=N). The version in 002 looked the partition up again with to_regclass() after waiting for
-- the creator's lock, but a name lookup inside one statement may still use the catalog as it was
-- before the other writer committed, so the second writer tried to create the table again
-- ("relation ticks_YYYYMMDD already exists"). Now the second look is a query of pg_class (a fresh
-- snapshot), and a creation that still meets the other's table counts as found.
CREATE OR REPLACE FUNCTION quflx_tick_partition(day INTEGER) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
  parent REGCLASS := 'ticks'::regclass;
  ns OID := (SELECT relnamespace FROM pg_class WHERE oid = parent);
  name TEXT := 'ticks_' || to_char(DATE '1970-01-01' + day, 'YYYYMMDD');
  part TEXT := format('%s.%I', ns::regnamespace::text, name);
BEGIN
  IF to_regclass(part) IS NOT NULL THEN RETURN name; END IF;
  -- One creator at a time (held to the end of the transaction); then look again, in pg_class itself.
  PERFORM pg_advisory_xact_lock(parent::oid::int, -1);
  IF EXISTS (SELECT 1 FROM pg_class WHERE relname = name AND relnamespace = ns) THEN RETURN name; END IF;
  BEGIN
    EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
  EXCEPTION WHEN duplicate_table OR unique_violation THEN
    RETURN name; -- made by a writer that committed meanwhile: it is attached and secured already
  END;
  EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                 parent, part, day::bigint * 86400000, (day + 1)::bigint * 86400000);
  PERFORM quflx_secure(part::regclass, false);
  RETURN name;
END
$$;

DO $$
DECLARE
  roles TEXT := (SELECT string_agg(quote_ident(rolname), ', ') FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role'));
BEGIN
  -- Functions are executable by PUBLIC by default: this one is QuFLX's own.
  REVOKE ALL ON FUNCTION quflx_tick_partition(INTEGER) FROM PUBLIC;
  IF roles IS NOT NULL THEN
    EXECUTE format('REVOKE ALL ON FUNCTION quflx_tick_partition(INTEGER) FROM %s', roles);
  END IF;
END
$$;
INSERT INTO schema_migrations (version) VALUES ('004_tick_partition_race.sql');
COMMIT;
