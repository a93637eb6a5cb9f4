-- QuFLX price alerts (stands alone: no reference to the tick tables). Applied on start by QuFLX;
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
-- or writes them; only the Postgres connection QuFLX uses (the owner) does.
ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
DO $$
DECLARE
  roles TEXT := (SELECT string_agg(quote_ident(rolname), ', ' ORDER BY rolname) FROM pg_roles
                 WHERE rolname IN ('anon', 'authenticated', 'service_role'));
BEGIN
  IF roles IS NOT NULL THEN
    EXECUTE format('REVOKE ALL ON alerts FROM %s', roles);
    EXECUTE format('REVOKE ALL ON SEQUENCE alerts_id_seq FROM %s', roles);
  END IF;
END
$$;
