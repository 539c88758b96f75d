-- The trusted issuer whose token started the chain, carried to every token derived in it, so that
-- removing that issuer ends every chain it started (its tokens are no longer trusted).
ALTER TABLE "issued_tokens" ADD COLUMN "root_issuer" TEXT;
