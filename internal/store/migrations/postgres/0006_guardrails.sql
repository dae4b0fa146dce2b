CREATE TABLE guardrail_checks (
    run_id      BIGINT  NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    account     TEXT    NOT NULL,
    management  BOOLEAN NOT NULL DEFAULT FALSE,
    prevent     TEXT    NOT NULL,   -- yes, no, unknown, not_applicable
    detect      TEXT    NOT NULL,
    correct     TEXT    NOT NULL,
    trail       TEXT    NOT NULL,
    details     TEXT    NOT NULL,   -- JSON: per-control evidence
    PRIMARY KEY (run_id, account)
);
