-- Run groups (shards of one audit) and versioned table facts (issue 14).
ALTER TABLE runs ADD COLUMN run_group TEXT    NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN shard     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN shards    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN info      TEXT    NOT NULL DEFAULT '{}';
CREATE INDEX runs_by_group ON runs (run_group, shard, id);
ALTER TABLE table_facts ADD COLUMN facts_version INTEGER NOT NULL DEFAULT 0;
