-- The admin change log: who (the bootstrap admin token, or the agent and jti of an sts:admin
-- access token) changed what, when, in which request. Written in the transaction of the change it
-- records. No foreign keys: it outlives the agents, resources, issuers and keys it names.
-- `changes` never holds a secret, a secret's digest or private key material.
CREATE TABLE "admin_events" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_kind" TEXT NOT NULL,
    "actor" TEXT,
    "actor_jti" TEXT,
    "action" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT NOT NULL,
    "changes" JSONB NOT NULL DEFAULT '{}',
    "request_id" TEXT NOT NULL,
    CONSTRAINT "admin_events_pkey" PRIMARY KEY ("id"),
    -- The bootstrap token names no agent and no token; an access token always names both.
    CONSTRAINT "admin_events_actor_check" CHECK (
        ("actor_kind" = 'admin_token' AND "actor" IS NULL AND "actor_jti" IS NULL)
        OR ("actor_kind" = 'access_token' AND "actor" IS NOT NULL AND "actor_jti" IS NOT NULL)
    )
);
CREATE INDEX "admin_events_at_idx" ON "admin_events"("at");
CREATE INDEX "admin_events_target_type_target_id_idx" ON "admin_events"("target_type", "target_id");
CREATE INDEX "admin_events_actor_idx" ON "admin_events"("actor");

-- Append-only, like audit_events: the database itself refuses updates and deletes, and here
-- TRUNCATE as well, which row triggers do not see.
CREATE FUNCTION "admin_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'admin_events is append-only';
END;
$$;
CREATE TRIGGER "admin_events_no_update_or_delete"
  BEFORE UPDATE OR DELETE ON "admin_events"
  FOR EACH ROW EXECUTE FUNCTION "admin_events_append_only"();
CREATE TRIGGER "admin_events_no_truncate"
  BEFORE TRUNCATE ON "admin_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "admin_events_append_only"();
