-- The tightest delegation-depth limit a chain inherited from outside the registry (a trusted
-- issuer's maxDelegationDepth), carried to every token derived in the chain so it binds every hop.
ALTER TABLE "issued_tokens" ADD COLUMN "depth_limit" INTEGER;
