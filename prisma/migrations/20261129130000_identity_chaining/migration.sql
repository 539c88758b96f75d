-- Identity chaining across trust domains (draft-ietf-oauth-identity-chaining, ADR 0025).
-- A peer domain is another authorization server this service chains with, in either direction:
-- as the audience of JWT authorization grants it issues (outbound), and as the issuer of grants it
-- redeems with the RFC 7523 §2.1 JWT bearer grant (inbound).
CREATE TABLE "peer_domains" (
    "id" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "grant_requesters" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "grant_scopes" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "grant_ttl_seconds" INTEGER NOT NULL DEFAULT 60,
    "jwks" JSONB,
    "jwks_uri" TEXT,
    "redeeming_clients" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "accepted_scopes" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "subject_mapping" TEXT NOT NULL DEFAULT 'preserve',
    "max_delegation_depth" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "peer_domains_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "peer_domains_issuer_key" ON "peer_domains"("issuer");

-- Every JWT authorization grant a peer presented here, once per (issuer, jti): the row is the
-- single-use record (RFC 7523 §3 point 7) on every instance, and, once a token was issued for it,
-- the foreign parent of the local chain it started (`local_txn`).
CREATE TABLE "peer_grants" (
    "peer_issuer" TEXT NOT NULL,
    "grant_jti" TEXT NOT NULL,
    "grant_txn" TEXT,
    "grant_client_id" TEXT,
    "foreign_actors" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "presented_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "presented_by" TEXT NOT NULL,
    "local_txn" TEXT,
    CONSTRAINT "peer_grants_pkey" PRIMARY KEY ("peer_issuer", "grant_jti")
);
CREATE INDEX "peer_grants_local_txn_idx" ON "peer_grants"("local_txn");
CREATE INDEX "peer_grants_expires_at_idx" ON "peer_grants"("expires_at");
