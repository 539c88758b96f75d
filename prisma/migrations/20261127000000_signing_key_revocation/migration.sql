-- KM-02 emergency revocation: a key in state `revoked` (when `revoked_at` is set) is never
-- published, trusted or used for signing again. `state` is free text, so only the time is new.
ALTER TABLE "signing_keys" ADD COLUMN "revoked_at" TIMESTAMPTZ(3);
