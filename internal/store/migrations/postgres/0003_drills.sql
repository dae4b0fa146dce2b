CREATE TABLE drills (
    id              BIGSERIAL PRIMARY KEY,
    run_id          BIGINT  NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    started_at      TEXT    NOT NULL,   -- RFC3339 UTC
    account         TEXT    NOT NULL,
    region          TEXT    NOT NULL,
    table_name      TEXT    NOT NULL,
    scratch_table   TEXT    NOT NULL,
    restore_point   TEXT,
    restore_seconds DOUBLE PRECISION NOT NULL,
    total_seconds   DOUBLE PRECISION NOT NULL,
    size_bytes      BIGINT  NOT NULL,
    result          TEXT    NOT NULL,   -- passed, failed
    cleanup         TEXT    NOT NULL,   -- deleted, failed, not_needed
    evidence        TEXT    NOT NULL    -- JSON: the whole drill result with its checks
);
CREATE INDEX drills_by_table ON drills (account, region, table_name, result, started_at);
