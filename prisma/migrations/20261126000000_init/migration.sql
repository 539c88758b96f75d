-- agent-sts initial schema: registry, keys, lineage, audit, provider records.

CREATE TABLE "agents" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "owner" TEXT NOT NULL DEFAULT '',
    "status" TEXT NOT NULL DEFAULT 'enabled',
    "token_endpoint_auth_method" TEXT NOT NULL,
    "secret_hash" TEXT,
    "jwks" JSONB,
    "jwks_uri" TEXT,
    "allowed_scopes" TEXT[],
    "allowed_audiences" TEXT[],
    "grant_types" TEXT[],
    "max_delegation_depth" INTEGER NOT NULL,
    "token_ttl_seconds" INTEGER NOT NULL,
    "may_impersonate" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),
    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "resources" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL DEFAULT '',
    "scopes" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "resources_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "trusted_issuers" (
    "id" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "jwks" JSONB,
    "jwks_uri" TEXT,
    "audiences" TEXT[],
    "scope_claim" TEXT NOT NULL DEFAULT 'scope',
    "max_delegation_depth" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "trusted_issuers_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "trusted_issuers_issuer_key" ON "trusted_issuers"("issuer");

CREATE TABLE "signing_keys" (
    "kid" TEXT NOT NULL,
    "alg" TEXT NOT NULL,
    "public_jwk" JSONB NOT NULL,
    "private_jwk_encrypted" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activated_at" TIMESTAMPTZ(3),
    "retired_at" TIMESTAMPTZ(3),
    CONSTRAINT "signing_keys_pkey" PRIMARY KEY ("kid")
);

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
    "issued_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    CONSTRAINT "issued_tokens_pkey" PRIMARY KEY ("jti")
);
CREATE INDEX "issued_tokens_parent_jti_idx" ON "issued_tokens"("parent_jti");
CREATE INDEX "issued_tokens_txn_idx" ON "issued_tokens"("txn");
CREATE INDEX "issued_tokens_chain_agents_idx" ON "issued_tokens" USING GIN ("chain_agents");

CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
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
    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "audit_events_at_idx" ON "audit_events"("at");
CREATE INDEX "audit_events_client_id_at_idx" ON "audit_events"("client_id", "at");
CREATE INDEX "audit_events_subject_at_idx" ON "audit_events"("subject", "at");
CREATE INDEX "audit_events_txn_idx" ON "audit_events"("txn");

-- The audit log is append-only: the database itself refuses updates and deletes.
CREATE FUNCTION "audit_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
CREATE TRIGGER "audit_events_no_update_or_delete"
  BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "audit_events_append_only"();

CREATE TABLE "provider_records" (
    "model" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    CONSTRAINT "provider_records_pkey" PRIMARY KEY ("model","id")
);
CREATE INDEX "provider_records_expires_at_idx" ON "provider_records"("expires_at");
