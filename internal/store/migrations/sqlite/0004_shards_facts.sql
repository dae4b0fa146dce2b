-- Run groups (shards of one audit) and versioned table facts (issue 14).
ALTER TABLE runs ADD COLUMN run_group TEXT NOT NULL DEFAULT '';   -- '' = not part of a group
ALTER TABLE runs ADD COLUMN shard     INTEGER NOT NULL DEFAULT 0; -- K of K/N (1-based); 0 = unsharded
ALTER TABLE runs ADD COLUMN shards    INTEGER NOT NULL DEFAULT 0; -- N of K/N; 0 = unsharded
ALTER TABLE runs ADD COLUMN info      TEXT    NOT NULL DEFAULT '{}'; -- JSON: the audit's "run" object
CREATE INDEX runs_by_group ON runs (run_group, shard, id);
-- 0: facts written before versioning (the audit's JSON row); 1+: store.Facts.
ALTER TABLE table_facts ADD COLUMN facts_version INTEGER NOT NULL DEFAULT 0;
