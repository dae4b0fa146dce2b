CREATE TABLE guardrail_checks (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    account     TEXT    NOT NULL,
    management  INTEGER NOT NULL DEFAULT 0,
    prevent     TEXT    NOT NULL,   -- yes, no, unknown, not_applicable
    detect      TEXT    NOT NULL,
    correct     TEXT    NOT NULL,
    trail       TEXT    NOT NULL,
    details     TEXT    NOT NULL,   -- JSON: per-control evidence
    PRIMARY KEY (run_id, account)
);
