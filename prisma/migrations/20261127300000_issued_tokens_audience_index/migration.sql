-- Finds live tokens addressed to an id before that id may become an agent.
CREATE INDEX "issued_tokens_aud_expires_at_idx" ON "issued_tokens"("aud", "expires_at");
