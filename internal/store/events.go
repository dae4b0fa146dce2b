package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"github.com/jackc/pgx/v5"
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

const (
	addEventActionSQL = `INSERT INTO event_actions (event_id, at, event_name, actor, account, region, table_name, action, result, before, after, message)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	eventActionsSQL = `SELECT event_id, at, event_name, actor, account, region, table_name, action, result, before, after, message
		FROM event_actions WHERE event_id = ? ORDER BY at, id`
	// Times are stored fixed-width (formatTime), so they compare as text.
	eventActionsBetweenSQL = `SELECT event_id, at, event_name, actor, account, region, table_name, action, result, before, after, message
		FROM event_actions WHERE at >= ? AND at <= ? ORDER BY at, id`
	notificationSentSQL     = `SELECT sent_at FROM notifications_sent WHERE dedup_key = ? AND channel = ?`
	markNotificationSentSQL = `INSERT INTO notifications_sent (dedup_key, channel, sent_at) VALUES (?, ?, ?)
		ON CONFLICT (dedup_key, channel) DO UPDATE SET sent_at = excluded.sent_at`
)

func eventActionArgs(e EventAction) []any {
	before, after := string(e.Before), string(e.After)
	if before == "" {
		before = "null"
	}
	if after == "" {
		after = "null"
	}
	return []any{e.EventID, formatTime(e.At), e.EventName, e.Actor, e.Account, e.Region, e.Table, e.Action, e.Result, before, after, e.Message}
}

func scanEventActions(rows rowsScanner) ([]EventAction, error) {
	var out []EventAction
	for rows.Next() {
		var e EventAction
		var at, before, after string
		if err := rows.Scan(&e.EventID, &at, &e.EventName, &e.Actor, &e.Account, &e.Region, &e.Table, &e.Action, &e.Result, &before, &after, &e.Message); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		e.Before, e.After = json.RawMessage(before), json.RawMessage(after)
		out = append(out, e)
	}
	return out, rows.Err()
}

// rowsScanner is what both drivers' row sets offer.
type rowsScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// AddEventAction journals one handled event.
func (s *SQLite) AddEventAction(ctx context.Context, e EventAction) error {
	_, err := s.db.ExecContext(ctx, addEventActionSQL, eventActionArgs(e)...)
	return err
}

// EventActions returns the journal of one event, oldest first.
func (s *SQLite) EventActions(ctx context.Context, eventID string) ([]EventAction, error) {
	rows, err := s.db.QueryContext(ctx, eventActionsSQL, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanEventActions(rows)
}

// EventActionsBetween returns what the event handler did from from to to
// (both included), oldest first: the changes section of the evidence report.
func (s *SQLite) EventActionsBetween(ctx context.Context, from, to time.Time) ([]EventAction, error) {
	rows, err := s.db.QueryContext(ctx, eventActionsBetweenSQL, formatTime(from), formatTime(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanEventActions(rows)
}

// NotificationSent reports whether a message with key went to channel at or after since.
func (s *SQLite) NotificationSent(ctx context.Context, key, channel string, since time.Time) (bool, error) {
	var at string
	err := s.db.QueryRowContext(ctx, notificationSentSQL, key, channel).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !parseTime(at).Before(since), nil
}

// MarkNotificationSent records that a message with key went to channel at at.
func (s *SQLite) MarkNotificationSent(ctx context.Context, key, channel string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, markNotificationSentSQL, key, channel, formatTime(at))
	return err
}

// AddEventAction journals one handled event.
func (s *Postgres) AddEventAction(ctx context.Context, e EventAction) error {
	_, err := s.pool.Exec(ctx, pgPlaceholders(addEventActionSQL), eventActionArgs(e)...)
	return err
}

// EventActions returns the journal of one event, oldest first.
func (s *Postgres) EventActions(ctx context.Context, eventID string) ([]EventAction, error) {
	rows, err := s.pool.Query(ctx, pgPlaceholders(eventActionsSQL), eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanEventActions(rows)
}

// EventActionsBetween returns what the event handler did from from to to
// (both included), oldest first.
func (s *Postgres) EventActionsBetween(ctx context.Context, from, to time.Time) ([]EventAction, error) {
	rows, err := s.pool.Query(ctx, pgPlaceholders(eventActionsBetweenSQL), formatTime(from), formatTime(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanEventActions(rows)
}

// NotificationSent reports whether a message with key went to channel at or after since.
func (s *Postgres) NotificationSent(ctx context.Context, key, channel string, since time.Time) (bool, error) {
	var at string
	err := s.pool.QueryRow(ctx, pgPlaceholders(notificationSentSQL), key, channel).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !parseTime(at).Before(since), nil
}

// MarkNotificationSent records that a message with key went to channel at at.
func (s *Postgres) MarkNotificationSent(ctx context.Context, key, channel string, at time.Time) error {
	_, err := s.pool.Exec(ctx, pgPlaceholders(markNotificationSentSQL), key, channel, formatTime(at))
	return err
}
