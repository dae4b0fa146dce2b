CREATE TABLE event_actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT    NOT NULL,   -- CloudTrail eventID (else the EventBridge id)
    at          TEXT    NOT NULL,   -- RFC3339 UTC
    event_name  TEXT    NOT NULL,   -- CreateTable, UpdateContinuousBackups, ...
    actor       TEXT    NOT NULL,   -- userIdentity.arn of the call
    account     TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    table_name  TEXT    NOT NULL,
    action      TEXT    NOT NULL,   -- enable_pitr, raise_recovery_period, alert, none, ...
    result      TEXT    NOT NULL,   -- applied, already_compliant, ignored, requeued, pending, failed, ...
    before      TEXT    NOT NULL,   -- JSON state before
    after       TEXT    NOT NULL,   -- JSON state after (as read back)
    message     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX event_actions_by_event ON event_actions (event_id, at);
CREATE INDEX event_actions_by_table ON event_actions (account, region, table_name, at);

CREATE TABLE notifications_sent (
    dedup_key   TEXT    NOT NULL,   -- table|kind|state
    channel     TEXT    NOT NULL,
    sent_at     TEXT    NOT NULL,   -- RFC3339 UTC
    PRIMARY KEY (dedup_key, channel)
);
