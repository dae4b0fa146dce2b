CREATE TABLE runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    kind              TEXT    NOT NULL,           -- audit, enable, restore, drill
    started_at        TEXT    NOT NULL,           -- RFC3339 UTC
    finished_at       TEXT,
    caller            TEXT    NOT NULL DEFAULT '',
    args              TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL DEFAULT 'running', -- running, completed, interrupted, failed
    coverage_complete INTEGER NOT NULL DEFAULT 0,
    summary           TEXT    NOT NULL DEFAULT '{}', -- JSON KPIs
    errors            TEXT    NOT NULL DEFAULT '[]'  -- JSON scan errors
);

CREATE TABLE table_facts (
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    account       TEXT    NOT NULL,
    region        TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    arn           TEXT    NOT NULL,
    verdict       TEXT    NOT NULL,
    tier          TEXT    NOT NULL,
    owner         TEXT    NOT NULL,
    pitr_status   TEXT    NOT NULL,
    recovery_days INTEGER,
    facts         TEXT    NOT NULL,               -- JSON: settings, tags, reasons, cost
    PRIMARY KEY (run_id, account, region, name)
);
CREATE INDEX table_facts_by_table ON table_facts (account, region, name, run_id);
