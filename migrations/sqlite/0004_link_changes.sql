-- Links whose previews an accepted webhook made stale. Each instance polls the recent rows
-- and drops its own cached previews of those links, so an instance that did not take the
-- webhook does not answer Notion with the old preview. Kept in step with
-- ../postgres/0004_link_changes.sql.
CREATE TABLE link_changes (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    -- A subscribed link as Notion sent it (the key of the cached previews).
    uri                     TEXT NOT NULL,
    -- Unix seconds, when the webhook was accepted; rows are purged soon after.
    changed_at              INTEGER NOT NULL
) STRICT;
CREATE INDEX link_changes_by_changed_at ON link_changes (changed_at);
