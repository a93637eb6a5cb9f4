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
