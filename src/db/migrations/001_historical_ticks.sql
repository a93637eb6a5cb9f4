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
