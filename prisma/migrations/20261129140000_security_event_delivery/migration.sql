-- Security Event Token delivery (ADR 0026): receivers of revocation SETs, and the outbox of SETs
-- to deliver. An outbox row is written in the transaction of the revocation it reports, so a
-- crash can never lose a push; the delivery worker and the poll endpoint read it afterwards.

-- Who receives revocation SETs: by RFC 8935 push to `endpoint_url`, or by RFC 8936 poll.
CREATE TABLE "set_receivers" (
    "id" TEXT NOT NULL,
    -- The SET `aud`: how the receiver names itself.
    "audience" TEXT NOT NULL,
    "delivery" TEXT NOT NULL,
    "endpoint_url" TEXT,
    -- Push: the Authorization header value sent with each SET, sealed under KEY_ENCRYPTION_KEY.
    "authorization_sealed" TEXT,
    -- Poll: the digest of the bearer secret the receiver polls with (ADR 0002).
    "poll_secret_hash" TEXT,
    -- The token audiences (resources, agents) whose revoked tokens it is told about.
    "audiences" TEXT[] NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "set_receivers_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "set_receivers_delivery_check" CHECK (
        ("delivery" = 'push' AND "endpoint_url" IS NOT NULL AND "poll_secret_hash" IS NULL)
        OR ("delivery" = 'poll' AND "endpoint_url" IS NULL AND "authorization_sealed" IS NULL
            AND "poll_secret_hash" IS NOT NULL)
    )
);
CREATE UNIQUE INDEX "set_receivers_poll_secret_hash_key" ON "set_receivers"("poll_secret_hash");
CREATE INDEX "set_receivers_audiences_idx" ON "set_receivers" USING GIN ("audiences");

-- The outbox: one row per SET (one receiver, up to 1000 revoked jtis). Its `jti` is the SET's
-- `jti`, so every (re)delivery of the row carries the same one and receivers drop duplicates.
CREATE TABLE "security_events" (
    "jti" TEXT NOT NULL,
    "receiver_id" TEXT NOT NULL,
    "jtis" TEXT[] NOT NULL,
    "txns" TEXT[] NOT NULL DEFAULT '{}',
    "reason" TEXT NOT NULL,
    "revoked_at" TIMESTAMPTZ(3) NOT NULL,
    -- The latest `exp` of the revoked tokens: after it the SET no longer matters.
    "tokens_expire_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    CONSTRAINT "security_events_pkey" PRIMARY KEY ("jti"),
    CONSTRAINT "security_events_receiver_id_fkey" FOREIGN KEY ("receiver_id")
        REFERENCES "set_receivers"("id") ON DELETE CASCADE,
    CONSTRAINT "security_events_status_check" CHECK ("status" IN ('pending', 'delivered', 'failed'))
);
CREATE INDEX "security_events_due_idx" ON "security_events"("next_attempt_at") WHERE "status" = 'pending';
CREATE INDEX "security_events_receiver_id_created_at_idx" ON "security_events"("receiver_id", "created_at");
