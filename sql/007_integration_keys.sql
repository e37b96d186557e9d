-- 007_integration_keys: integration keys (pmi_) for the systems that print (a
-- POS back end, not a person): bound to a company and optionally one branch,
-- stored as the BLAKE2b hash of the key like agent keys, revocable.
CREATE TABLE integration_keys (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    company_id  uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    branch_id   uuid,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    key_hash    bytea NOT NULL,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (company_id, branch_id) REFERENCES branches(company_id, id) ON DELETE CASCADE,
    UNIQUE (company_id, id)
);
CREATE UNIQUE INDEX integration_keys_key_hash_key ON integration_keys (key_hash);
