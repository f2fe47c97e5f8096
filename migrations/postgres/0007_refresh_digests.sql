-- What a provider file's `[cache] refresh` last read for a link: the SHA-256 of the
-- preview, per provider, scope (empty for a public preview, else the account key) and
-- link. A restarted server (its memory and cache gone) compares its first reading with
-- this, so a change made while it was down is still pushed, and an unchanged link is not.
-- Written when a reading differs from the one kept. Kept in step with
-- ../sqlite/0007_refresh_digests.sql.
CREATE TABLE refresh_digests (
    provider                TEXT NOT NULL,
    scope                   TEXT NOT NULL,
    uri                     TEXT NOT NULL,
    digest                  BYTEA NOT NULL,
    updated_at              BIGINT NOT NULL,
    PRIMARY KEY (provider, scope, uri)
);
