-- Live updates from GitHub webhooks. Kept in step with ../postgres/0002_webhooks.sql.
--
-- The outbox of 0001 was never written to; it is rebuilt with millisecond schedule columns
-- (`_ms`), since retry backoffs and claim leases are often shorter than a second. Every
-- other timestamp stays in unix seconds.

DROP TABLE outbox;

-- Updates waiting to be pushed to Notion. A worker claims due rows by moving
-- locked_until_ms into the future (a lease); a lease that runs out makes the row claimable
-- again, so an update survives a worker killed mid-delivery.
CREATE TABLE outbox (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id           TEXT NOT NULL REFERENCES connections (id),
    uri                     TEXT NOT NULL,
    -- Why the row exists (event name and delivery id), for operators; never a secret.
    payload                 TEXT NOT NULL,
    attempts                INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms      INTEGER NOT NULL,
    locked_until_ms         INTEGER,
    created_at              INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_by_next_attempt ON outbox (next_attempt_at_ms);
CREATE INDEX outbox_by_subscription ON outbox (connection_id, uri);

-- `X-GitHub-Delivery` ids already accepted: a redelivered webhook queues nothing.
CREATE TABLE webhook_deliveries (
    id                      TEXT PRIMARY KEY NOT NULL,
    event                   TEXT NOT NULL,
    received_at             INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_deliveries_by_received_at ON webhook_deliveries (received_at);

-- Which pull requests a commit is the head of, learnt from pull_request and check events:
-- `status` events (and checks of pull requests from forks) name only a commit.
CREATE TABLE pull_heads (
    head_sha                TEXT NOT NULL,
    canonical_uri           TEXT NOT NULL,
    seen_at                 INTEGER NOT NULL,
    PRIMARY KEY (head_sha, canonical_uri)
) STRICT;
CREATE INDEX pull_heads_by_seen_at ON pull_heads (seen_at);
