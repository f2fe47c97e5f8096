-- What several instances sharing this database must see of each other's work. Kept in
-- step with ../postgres/0003_shared_state.sql.

-- Single-use steps of the account-linking flow (the consent POST, the GitHub callback),
-- recorded here so that every instance refuses a replay.
CREATE TABLE spent_steps (
    -- SHA-256 of the step's name and the pending authorisation's random id or state.
    step_hash               BLOB PRIMARY KEY NOT NULL,
    -- When the pending authorisation expires; the row is useless (and purged) after it.
    expires_at              INTEGER NOT NULL
) STRICT;
CREATE INDEX spent_steps_by_expires_at ON spent_steps (expires_at);

-- Each instance polls for recent revocations to drop its cached view of those connections.
CREATE INDEX connections_by_revoked_at ON connections (revoked_at);
