CREATE TABLE journal (
    id          BIGSERIAL PRIMARY KEY,
    run_id      BIGINT  NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    at          TEXT    NOT NULL,   -- RFC3339 UTC
    caller      TEXT    NOT NULL,   -- identity that made the change
    account     TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    table_name  TEXT    NOT NULL,
    action      TEXT    NOT NULL,   -- enable_pitr, raise_recovery_period, ...
    before      TEXT    NOT NULL,   -- JSON state before
    after       TEXT    NOT NULL,   -- JSON state after (as read back)
    result      TEXT    NOT NULL,   -- applied, already_compliant, pending, failed
    error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX journal_by_table ON journal (account, region, table_name, id);
