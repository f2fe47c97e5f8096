-- SQLite schema. Kept in step with ../postgres/0001_initial.sql: same tables, columns and
-- indexes; only the column types differ. Timestamps are unix seconds. STRICT tables make SQLite
-- refuse a value of the wrong type, as PostgreSQL would.

CREATE TABLE accounts (
    key                     TEXT PRIMARY KEY NOT NULL,
    name                    TEXT NOT NULL,
    -- nonce || ciphertext || tag, sealed with associated data naming this row.
    upstream_token          BLOB,
    upstream_token_key_id   INTEGER CHECK (upstream_token_key_id BETWEEN 0 AND 255),
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    CHECK ((upstream_token IS NULL) = (upstream_token_key_id IS NULL))
) STRICT;

CREATE TABLE connections (
    id                      TEXT PRIMARY KEY NOT NULL,
    account_key             TEXT NOT NULL REFERENCES accounts (key),
    bot_id                  TEXT NOT NULL,
    workspace_id            TEXT NOT NULL,
    workspace_name          TEXT,
    workspace_icon          TEXT,
    notion_token            BLOB,
    notion_token_key_id     INTEGER CHECK (notion_token_key_id BETWEEN 0 AND 255),
    created_at              INTEGER NOT NULL,
    revoked_at              INTEGER,
    CHECK ((notion_token IS NULL) = (notion_token_key_id IS NULL))
) STRICT;
CREATE INDEX connections_by_account ON connections (account_key);

CREATE TABLE auth_codes (
    code_hash               BLOB PRIMARY KEY NOT NULL,
    connection_id           TEXT NOT NULL REFERENCES connections (id),
    client_id               TEXT NOT NULL,
    redirect_uri            TEXT NOT NULL,
    expires_at              INTEGER NOT NULL,
    used_at                 INTEGER
) STRICT;
CREATE INDEX auth_codes_by_connection ON auth_codes (connection_id);

CREATE TABLE refresh_tokens (
    token_hash              BLOB PRIMARY KEY NOT NULL,
    connection_id           TEXT NOT NULL REFERENCES connections (id),
    family_id               TEXT NOT NULL,
    expires_at              INTEGER NOT NULL,
    spent_at                INTEGER,
    revoked_at              INTEGER
) STRICT;
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_connection ON refresh_tokens (connection_id);

CREATE TABLE subscriptions (
    connection_id           TEXT NOT NULL REFERENCES connections (id),
    uri                     TEXT NOT NULL,
    canonical_uri           TEXT NOT NULL,
    created_at              INTEGER NOT NULL,
    PRIMARY KEY (connection_id, uri)
) STRICT;
CREATE INDEX subscriptions_by_canonical_uri ON subscriptions (canonical_uri);

-- Updates waiting to be pushed to Notion; a worker claims rows by moving locked_until.
CREATE TABLE outbox (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id           TEXT NOT NULL REFERENCES connections (id),
    uri                     TEXT NOT NULL,
    payload                 TEXT NOT NULL,
    attempts                INTEGER NOT NULL DEFAULT 0,
    next_attempt_at         INTEGER NOT NULL,
    locked_until            INTEGER,
    created_at              INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_by_next_attempt ON outbox (next_attempt_at);
CREATE INDEX outbox_by_connection ON outbox (connection_id);
