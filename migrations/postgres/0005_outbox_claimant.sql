-- Who holds an outbox row's lease: the claiming server's instance id (see
-- `Instance` in src/platform/data_dir.rs). A server restarted after a crash releases the
-- leases recorded under its own id at once, instead of making every later update of those
-- links wait for the lease to run out; leases of other (live) servers are left alone.
-- NULL when the row is not claimed, and for claims made before this migration, which run
-- out as they always did. Kept in step with ../sqlite/0005_outbox_claimant.sql.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
