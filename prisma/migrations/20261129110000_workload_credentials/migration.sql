-- ADR 0023: agents that authenticate with a workload credential (a SPIFFE JWT-SVID or a Kubernetes
-- service-account token) instead of a secret or a registered key.
ALTER TABLE "agents" ADD COLUMN "workload_identity" TEXT;
CREATE UNIQUE INDEX "agents_workload_identity_key" ON "agents"("workload_identity");

-- The trust domains and clusters whose keys verify those credentials.
CREATE TABLE "workload_issuers" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "jwks" JSONB,
    "jwks_uri" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "workload_issuers_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "workload_issuers_kind_name_key" ON "workload_issuers"("kind", "name");
