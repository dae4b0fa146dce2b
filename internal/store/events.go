package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// EventAction is one thing the event handler did (or decided not to do) for
// one CloudTrail event. The event id makes handling idempotent.
type EventAction struct {
	EventID   string          `json:"event_id"`
	At        time.Time       `json:"at"`
	EventName string          `json:"event_name"`
	Actor     string          `json:"actor"`
	Account   string          `json:"account"`
	Region    string          `json:"region"`
	Table     string          `json:"table"`
	Action    string          `json:"action"`
	Result    string          `json:"result"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
	Message   string          `json:"message"`
}

// AddEventAction journals one handled event.
func (s *SQLite) AddEventAction(ctx context.Context, e EventAction) error {
	before, after := string(e.Before), string(e.After)
	if before == "" {
		before = "null"
	}
	if after == "" {
		after = "null"
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO event_actions (event_id, at, event_name, actor, account, region, table_name, action, result, before, after, message)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.EventID, e.At.UTC().Format(timeFormat), e.EventName, e.Actor, e.Account, e.Region,
		e.Table, e.Action, e.Result, before, after, e.Message)
	return err
}

// EventActions returns the journal of one event, oldest first.
func (s *SQLite) EventActions(ctx context.Context, eventID string) ([]EventAction, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT event_id, at, event_name, actor, account, region, table_name, action, result, before, after, message
		FROM event_actions WHERE event_id = ? ORDER BY at, rowid`, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EventAction
	for rows.Next() {
		var e EventAction
		var at, before, after string
		if err := rows.Scan(&e.EventID, &at, &e.EventName, &e.Actor, &e.Account, &e.Region, &e.Table, &e.Action, &e.Result, &before, &after, &e.Message); err != nil {
			return nil, err
		}
		e.At, _ = time.Parse(timeFormat, at)
		e.Before, e.After = json.RawMessage(before), json.RawMessage(after)
		out = append(out, e)
	}
	return out, rows.Err()
}

// NotificationSent reports whether a message with key went to channel at or after since.
func (s *SQLite) NotificationSent(ctx context.Context, key, channel string, since time.Time) (bool, error) {
	var at string
	err := s.db.QueryRowContext(ctx, `SELECT sent_at FROM notifications_sent WHERE dedup_key = ? AND channel = ?`, key, channel).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	t, err := time.Parse(timeFormat, at)
	return err == nil && !t.Before(since), nil
}

// MarkNotificationSent records that a message with key went to channel at at.
func (s *SQLite) MarkNotificationSent(ctx context.Context, key, channel string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO notifications_sent (dedup_key, channel, sent_at) VALUES (?, ?, ?)`,
		key, channel, at.UTC().Format(timeFormat))
	return err
}
