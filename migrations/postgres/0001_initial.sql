-- PostgreSQL schema. Kept in step with ../sqlite/0001_initial.sql: same tables, columns and
-- indexes; only the column types differ. Timestamps are unix seconds.

CREATE TABLE accounts (
    key                     TEXT PRIMARY KEY NOT NULL,
    name                    TEXT NOT NULL,
    -- nonce || ciphertext || tag, sealed with associated data naming this row.
    upstream_token          BYTEA,
    upstream_token_key_id   SMALLINT CHECK (upstream_token_key_id BETWEEN 0 AND 255),
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    CHECK ((upstream_token IS NULL) = (upstream_token_key_id IS NULL))
);

CREATE TABLE connections (
    id                      TEXT PRIMARY KEY NOT NULL,
    account_key             TEXT NOT NULL REFERENCES accounts (key),
    bot_id                  TEXT NOT NULL,
    workspace_id            TEXT NOT NULL,
    workspace_name          TEXT,
    workspace_icon          TEXT,
    notion_token            BYTEA,
    notion_token_key_id     SMALLINT CHECK (notion_token_key_id BETWEEN 0 AND 255),
    created_at              BIGINT NOT NULL,
    revoked_at              BIGINT,
    CHECK ((notion_token IS NULL) = (notion_token_key_id IS NULL))
);
CREATE INDEX connections_by_account ON connections (account_key);

CREATE TABLE auth_codes (
    code_hash               BYTEA PRIMARY KEY NOT NULL,
    connection_id           TEXT NOT NULL REFERENCES connections (id),
    client_id               TEXT NOT NULL,
    redirect_uri            TEXT NOT NULL,
    expires_at              BIGINT NOT NULL,
    used_at                 BIGINT
);
CREATE INDEX auth_codes_by_connection ON auth_codes (connection_id);

CREATE TABLE refresh_tokens (
    token_hash              BYTEA PRIMARY KEY NOT NULL,
    connection_id           TEXT NOT NULL REFERENCES connections (id),
    family_id               TEXT NOT NULL,
    expires_at              BIGINT NOT NULL,
    spent_at                BIGINT,
    revoked_at              BIGINT
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_connection ON refresh_tokens (connection_id);

CREATE TABLE subscriptions (
    connection_id           TEXT NOT NULL REFERENCES connections (id),
    uri                     TEXT NOT NULL,
    canonical_uri           TEXT NOT NULL,
    created_at              BIGINT NOT NULL,
    PRIMARY KEY (connection_id, uri)
);
CREATE INDEX subscriptions_by_canonical_uri ON subscriptions (canonical_uri);

-- Updates waiting to be pushed to Notion; a worker claims rows by moving locked_until.
CREATE TABLE outbox (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id           TEXT NOT NULL REFERENCES connections (id),
    uri                     TEXT NOT NULL,
    payload                 TEXT NOT NULL,
    attempts                BIGINT NOT NULL DEFAULT 0,
    next_attempt_at         BIGINT NOT NULL,
    locked_until            BIGINT,
    created_at              BIGINT NOT NULL
);
CREATE INDEX outbox_by_next_attempt ON outbox (next_attempt_at);
CREATE INDEX outbox_by_connection ON outbox (connection_id);
