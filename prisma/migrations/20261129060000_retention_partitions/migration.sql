-- Retention without losing the append-only promise (issue #6 item 11, ADR 0015).
--
-- audit_events and issued_tokens become tables range-partitioned by day (UTC), each with a DEFAULT
-- partition as a safety net. The retention job (src/infra/retention.ts) creates the partitions of
-- the coming days ahead of time and drops whole partitions once everything in them is past
-- retention; that is the only way a row ever leaves either table: row deletes and TRUNCATE are
-- refused by the database itself. Existing rows are copied over, ids and all.
--
-- audit_events is partitioned by `at`. issued_tokens by the new column `chain_started_at`: the
-- issue time of its chain's root token, the same for every token of one chain. Every token of a
-- chain expires no later than its root (a hop never outlives its parent) and a root lives at most
-- the longest token lifetime, so a chain lives and is dropped in one partition, whole.
-- Primary keys include the partition key, as PostgreSQL requires; ids stay unique by construction
-- (a sequence, random jtis).

-- Copying a large table takes longer than the service's statement timeout.
SET LOCAL statement_timeout = 0;

-- ---- the partition helpers the retention job calls ------------------------------------------------

-- issued_tokens rows leave only when retention drops their partition; revocation updates them.
CREATE FUNCTION "issued_tokens_no_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'issued_tokens rows leave only by retention (ADR 0015)';
END;
$$;

-- The partition key of each partitioned log table.
CREATE FUNCTION "sts_partition_key"(parent text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE parent WHEN 'audit_events' THEN 'at' WHEN 'issued_tokens' THEN 'chain_started_at' END;
$$;

-- A partition of `parent`: TRUNCATE on a partition itself bypasses the parent's statement
-- trigger, so each partition carries its own (row triggers are cloned from the parent).
CREATE FUNCTION "sts_guard_partition"(parent text, child text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format(
    'CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION %I()',
    child || '_no_truncate', child,
    CASE parent WHEN 'audit_events' THEN 'audit_events_append_only' ELSE 'issued_tokens_no_delete' END);
END;
$$;

-- Creates the partition of `parent` for one UTC day, named <parent>_pYYYYMMDD, unless it exists or
-- the DEFAULT partition already holds rows of that day (they stay there; ADR 0015). True when created.
CREATE FUNCTION "sts_ensure_day_partition"(parent text, day date, wait interval) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  key text := sts_partition_key(parent);
  child text := parent || '_p' || to_char(day, 'YYYYMMDD');
  low timestamptz := day::timestamp AT TIME ZONE 'UTC';
  high timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
  in_default boolean;
BEGIN
  IF key IS NULL THEN RAISE EXCEPTION 'not a partitioned log table: %', parent; END IF;
  IF to_regclass(quote_ident(child)) IS NOT NULL THEN RETURN false; END IF;
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= $1 AND %I < $2)', parent || '_default', key, key)
    INTO in_default USING low, high;
  IF in_default THEN RETURN false; END IF;
  -- Creating takes a short lock on the parent: give up rather than queue inserts behind it. Under
  -- the lock, a concurrent round's partition is seen.
  PERFORM set_config('lock_timeout', (extract(epoch FROM wait) * 1000)::bigint::text, true);
  EXECUTE format('LOCK TABLE ONLY %I IN ACCESS EXCLUSIVE MODE', parent);
  IF to_regclass(quote_ident(child)) IS NOT NULL THEN RETURN false; END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', child, parent, low, high);
  PERFORM sts_guard_partition(parent, child);
  RETURN true;
END;
$$;

-- Detaches and drops one day partition, in one transaction; false when it is already gone. The
-- only statement that removes rows from the log tables.
CREATE FUNCTION "sts_drop_partition"(parent text, child text, wait interval) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF child !~ ('^' || parent || '_p[0-9]{8}$') THEN RAISE EXCEPTION 'not a day partition of %: %', parent, child; END IF;
  PERFORM set_config('lock_timeout', (extract(epoch FROM wait) * 1000)::bigint::text, true);
  -- Taking the parent's lock first serialises concurrent rounds: the second sees the partition gone.
  EXECUTE format('LOCK TABLE ONLY %I IN ACCESS EXCLUSIVE MODE', parent);
  IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = to_regclass(quote_ident(parent))
                   AND inhrelid = to_regclass(quote_ident(child))) THEN
    RETURN false;
  END IF;
  EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, child);
  EXECUTE format('DROP TABLE %I', child);
  RETURN true;
END;
$$;

-- Replaces the DEFAULT partition of `parent` by an empty one when it holds rows and every one of
-- them is older than `cutoff`: the safety net is dropped whole, like any partition. Returns how
-- many rows went (0 when nothing was done). The full count runs before any lock; under the lock,
-- after the detach, only a check for rows inserted meanwhile at or after `cutoff`, which keep it.
CREATE FUNCTION "sts_drop_default_partition"(parent text, cutoff timestamptz, wait interval) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  key text := sts_partition_key(parent);
  child text := parent || '_default';
  total bigint;
  newest timestamptz;
  fresh boolean;
BEGIN
  IF key IS NULL THEN RAISE EXCEPTION 'not a partitioned log table: %', parent; END IF;
  EXECUTE format('SELECT count(*), max(%I) FROM %I', key, child) INTO total, newest;
  IF total = 0 OR newest >= cutoff THEN RETURN 0; END IF;
  PERFORM set_config('lock_timeout', (extract(epoch FROM wait) * 1000)::bigint::text, true);
  BEGIN
    EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, child);
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= $1)', child, key) INTO fresh USING cutoff;
    IF fresh THEN
      RAISE EXCEPTION USING ERRCODE = 'SR001', MESSAGE = 'default partition changed';
    END IF;
    EXECUTE format('DROP TABLE %I', child);
    EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', child, parent);
    PERFORM sts_guard_partition(parent, child);
    RETURN total;
  EXCEPTION WHEN SQLSTATE 'SR001' THEN
    RETURN 0;
  END;
END;
$$;

-- ---- audit_events ---------------------------------------------------------------------------------

ALTER TABLE "audit_events" RENAME TO "audit_events_unpartitioned";
ALTER TABLE "audit_events_unpartitioned" RENAME CONSTRAINT "audit_events_pkey" TO "audit_events_unpartitioned_pkey";
DROP INDEX "audit_events_at_idx", "audit_events_client_id_at_idx", "audit_events_subject_at_idx", "audit_events_txn_idx";

CREATE TABLE "audit_events" (
    "id" BIGINT NOT NULL DEFAULT nextval('audit_events_id_seq'),
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "decision" TEXT NOT NULL,
    "rule" TEXT NOT NULL,
    "grant_type" TEXT,
    "client_id" TEXT,
    "subject" TEXT,
    "audience" TEXT,
    "requested_scope" TEXT,
    "granted_scope" TEXT,
    "jti" TEXT,
    "parent_jti" TEXT,
    "txn" TEXT,
    "impersonation" BOOLEAN NOT NULL DEFAULT false,
    "description" TEXT,
    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id", "at")
) PARTITION BY RANGE ("at");
-- The sequence (and so every id handed out) carries over; it now belongs to the new table.
ALTER SEQUENCE "audit_events_id_seq" OWNED BY "audit_events"."id";
CREATE TABLE "audit_events_default" PARTITION OF "audit_events" DEFAULT;

-- On the parent, so every partition has them: the admin API's filters.
CREATE INDEX "audit_events_at_idx" ON "audit_events"("at");
CREATE INDEX "audit_events_client_id_at_idx" ON "audit_events"("client_id", "at");
CREATE INDEX "audit_events_subject_at_idx" ON "audit_events"("subject", "at");
CREATE INDEX "audit_events_txn_idx" ON "audit_events"("txn");
CREATE INDEX "audit_events_decision_at_idx" ON "audit_events"("decision", "at");

CREATE TRIGGER "audit_events_no_update_or_delete"
  BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "audit_events_append_only"();
CREATE TRIGGER "audit_events_no_truncate"
  BEFORE TRUNCATE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_append_only"();
SELECT sts_guard_partition('audit_events', 'audit_events_default');

-- A partition for every day that has events, and for today and the week ahead.
SELECT sts_ensure_day_partition('audit_events', day, interval '1 minute')
FROM (
  SELECT DISTINCT ("at" AT TIME ZONE 'UTC')::date AS day FROM "audit_events_unpartitioned"
  UNION
  SELECT (now() AT TIME ZONE 'UTC')::date + ahead FROM generate_series(0, 7) AS ahead
) AS days ORDER BY day;

INSERT INTO "audit_events" ("id", "at", "decision", "rule", "grant_type", "client_id", "subject", "audience",
    "requested_scope", "granted_scope", "jti", "parent_jti", "txn", "impersonation", "description")
SELECT "id", "at", "decision", "rule", "grant_type", "client_id", "subject", "audience",
    "requested_scope", "granted_scope", "jti", "parent_jti", "txn", "impersonation", "description"
FROM "audit_events_unpartitioned";
-- Dropping the old table removes its rows without firing its row triggers; they live on above.
DROP TABLE "audit_events_unpartitioned";

-- ---- issued_tokens --------------------------------------------------------------------------------

ALTER TABLE "issued_tokens" RENAME TO "issued_tokens_unpartitioned";
ALTER TABLE "issued_tokens_unpartitioned" RENAME CONSTRAINT "issued_tokens_pkey" TO "issued_tokens_unpartitioned_pkey";
DROP INDEX "issued_tokens_parent_jti_idx", "issued_tokens_txn_idx", "issued_tokens_chain_agents_idx",
  "issued_tokens_aud_expires_at_idx";

CREATE TABLE "issued_tokens" (
    "jti" TEXT NOT NULL,
    "parent_jti" TEXT,
    "txn" TEXT NOT NULL,
    "depth" INTEGER NOT NULL,
    "sub" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "chain_agents" TEXT[],
    "aud" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "grant_type" TEXT NOT NULL,
    "impersonation" BOOLEAN NOT NULL DEFAULT false,
    "subject_is_agent" BOOLEAN NOT NULL DEFAULT false,
    "depth_limit" INTEGER,
    "root_issuer" TEXT,
    "jkt" TEXT,
    "issued_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "chain_started_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "issued_tokens_pkey" PRIMARY KEY ("jti", "chain_started_at")
) PARTITION BY RANGE ("chain_started_at");
CREATE TABLE "issued_tokens_default" PARTITION OF "issued_tokens" DEFAULT;

-- Cascade by parent, chain by txn, revocation by agent (chain_agents) and by audience.
CREATE INDEX "issued_tokens_parent_jti_idx" ON "issued_tokens"("parent_jti");
CREATE INDEX "issued_tokens_txn_idx" ON "issued_tokens"("txn");
CREATE INDEX "issued_tokens_chain_agents_idx" ON "issued_tokens" USING GIN ("chain_agents");
CREATE INDEX "issued_tokens_aud_expires_at_idx" ON "issued_tokens"("aud", "expires_at");

CREATE TRIGGER "issued_tokens_no_delete"
  BEFORE DELETE ON "issued_tokens"
  FOR EACH ROW EXECUTE FUNCTION "issued_tokens_no_delete"();
CREATE TRIGGER "issued_tokens_no_truncate"
  BEFORE TRUNCATE ON "issued_tokens"
  FOR EACH STATEMENT EXECUTE FUNCTION "issued_tokens_no_delete"();
SELECT sts_guard_partition('issued_tokens', 'issued_tokens_default');

-- Each chain starts when its oldest token was issued.
CREATE TEMPORARY TABLE "chain_starts" ON COMMIT DROP AS
  SELECT "txn", min("issued_at") AS "started_at" FROM "issued_tokens_unpartitioned" GROUP BY "txn";

SELECT sts_ensure_day_partition('issued_tokens', day, interval '1 minute')
FROM (
  SELECT DISTINCT ("started_at" AT TIME ZONE 'UTC')::date AS day FROM "chain_starts"
  UNION
  SELECT (now() AT TIME ZONE 'UTC')::date + ahead FROM generate_series(0, 7) AS ahead
) AS days ORDER BY day;

INSERT INTO "issued_tokens" ("jti", "parent_jti", "txn", "depth", "sub", "client_id", "chain_agents", "aud",
    "scope", "grant_type", "impersonation", "subject_is_agent", "depth_limit", "root_issuer", "jkt",
    "issued_at", "expires_at", "revoked_at", "chain_started_at")
SELECT t."jti", t."parent_jti", t."txn", t."depth", t."sub", t."client_id", t."chain_agents", t."aud",
    t."scope", t."grant_type", t."impersonation", t."subject_is_agent", t."depth_limit", t."root_issuer", t."jkt",
    t."issued_at", t."expires_at", t."revoked_at", c."started_at"
FROM "issued_tokens_unpartitioned" t JOIN "chain_starts" c ON c."txn" = t."txn";
DROP TABLE "issued_tokens_unpartitioned";
