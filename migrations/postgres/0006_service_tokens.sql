-- The tokens of the upstream services an account linked (GitHub by sign-in; any OAuth 2.0
-- service a provider file declares), one row per (account, service). Tokens are sealed
-- like every other (nonce || ciphertext || tag) with associated data naming the row.
-- `expires_at` (unix seconds) is when the access token runs out, when the service said;
-- the refresh token, when it issued one, is used then and replaced by the one it returns.
-- GitHub tokens still in accounts.upstream_token are moved here by the server at start
-- (they must be opened and sealed again, which SQL cannot do). Kept in step with
-- ../sqlite/0006_service_tokens.sql.
CREATE TABLE service_tokens (
    account_key             TEXT NOT NULL REFERENCES accounts (key),
    service                 TEXT NOT NULL,
    access_token            BYTEA NOT NULL,
    access_token_key_id     SMALLINT NOT NULL CHECK (access_token_key_id BETWEEN 0 AND 255),
    refresh_token           BYTEA,
    refresh_token_key_id    SMALLINT CHECK (refresh_token_key_id BETWEEN 0 AND 255),
    expires_at              BIGINT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    PRIMARY KEY (account_key, service),
    CHECK ((refresh_token IS NULL) = (refresh_token_key_id IS NULL))
);
