-- Own tokens checked against their record (ADR 0028): SHA-256 of the exact signed compact JWT, so
-- that a token presented back is recognised byte for byte instead of by its signature. Nullable:
-- rows written before this column, and any row without a digest, are verified by signature.
-- On the partitioned table the column reaches every partition, present and future.
ALTER TABLE "issued_tokens" ADD COLUMN "token_digest" BYTEA;
