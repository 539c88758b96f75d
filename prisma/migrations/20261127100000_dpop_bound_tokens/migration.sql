-- RFC 9449 §5.2 `dpop_bound_access_tokens`: an agent flagged so is issued no token without a DPoP proof.
ALTER TABLE "agents" ADD COLUMN "dpop_bound_access_tokens" BOOLEAN NOT NULL DEFAULT false;
-- RFC 9449 §6: the JWK thumbprint an issued token is bound to (its `cnf.jkt`); null for a Bearer token.
ALTER TABLE "issued_tokens" ADD COLUMN "jkt" TEXT;
