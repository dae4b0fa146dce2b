package store

import (
	"context"
	"encoding/json"
	"time"
)

// JournalEntry is one change pitrguard made (or tried to make).
type JournalEntry struct {
	ID      int64           `json:"id"`
	RunID   int64           `json:"run_id"`
	At      time.Time       `json:"at"`
	Caller  string          `json:"caller"`
	Account string          `json:"account"`
	Region  string          `json:"region"`
	Table   string          `json:"table"`
	Action  string          `json:"action"`
	Before  json.RawMessage `json:"before"`
	After   json.RawMessage `json:"after"`
	Result  string          `json:"result"`
	Error   string          `json:"error"`
}

const journalColumns = `id, run_id, at, caller, account, region, table_name, action, before, after, result, error`

// AddJournal records a change.
func (s *SQLite) AddJournal(ctx context.Context, e JournalEntry) error {
	before, after := journalStates(e)
	_, err := s.db.ExecContext(ctx, `INSERT INTO journal (run_id, at, caller, account, region, table_name, action, before, after, result, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.RunID, formatTime(e.At), e.Caller, e.Account, e.Region, e.Table,
		e.Action, before, after, e.Result, e.Error)
	return err
}

// Journal returns recent journal entries, newest first; runID 0 means all runs.
func (s *SQLite) Journal(ctx context.Context, runID int64, limit int) ([]JournalEntry, error) {
	q := `SELECT ` + journalColumns + ` FROM journal`
	var args []any
	if runID != 0 {
		q += ` WHERE run_id = ?`
		args = append(args, runID)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []JournalEntry
	for rows.Next() {
		e, err := scanJournal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scanJournal(row rowScanner) (JournalEntry, error) {
	var e JournalEntry
	var at, before, after string
	if err := row.Scan(&e.ID, &e.RunID, &at, &e.Caller, &e.Account, &e.Region, &e.Table, &e.Action, &before, &after, &e.Result, &e.Error); err != nil {
		return e, err
	}
	e.At = parseTime(at)
	e.Before, e.After = json.RawMessage(before), json.RawMessage(after)
	return e, nil
}
