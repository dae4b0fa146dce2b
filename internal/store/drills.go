package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// Drill is one recorded restore drill (evidence for auditors).
type Drill struct {
	ID             int64           `json:"id"`
	RunID          int64           `json:"run_id"`
	StartedAt      time.Time       `json:"started_at"`
	Account        string          `json:"account"`
	Region         string          `json:"region"`
	Table          string          `json:"table"`
	ScratchTable   string          `json:"scratch_table"`
	RestorePoint   *time.Time      `json:"restore_point"`
	RestoreSeconds float64         `json:"restore_seconds"`
	TotalSeconds   float64         `json:"total_seconds"`
	SizeBytes      int64           `json:"size_bytes"`
	Result         string          `json:"result"`
	Cleanup        string          `json:"cleanup"`
	Evidence       json.RawMessage `json:"evidence"`
}

const drillColumns = `id, run_id, started_at, account, region, table_name, scratch_table, restore_point,
	restore_seconds, total_seconds, size_bytes, result, cleanup, evidence`

const lastPassedDrillSQL = `SELECT started_at FROM drills WHERE account = ? AND region = ? AND table_name = ? AND result = 'passed'
	ORDER BY started_at DESC LIMIT 1`

func drillArgs(d Drill) []any {
	var rp any
	if d.RestorePoint != nil {
		rp = formatTime(*d.RestorePoint)
	}
	evidence := string(d.Evidence)
	if evidence == "" {
		evidence = "null"
	}
	return []any{d.RunID, formatTime(d.StartedAt), d.Account, d.Region, d.Table, d.ScratchTable, rp,
		d.RestoreSeconds, d.TotalSeconds, d.SizeBytes, d.Result, d.Cleanup, evidence}
}

// AddDrill records a drill.
func (s *SQLite) AddDrill(ctx context.Context, d Drill) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO drills (run_id, started_at, account, region, table_name, scratch_table, restore_point,
		restore_seconds, total_seconds, size_bytes, result, cleanup, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		drillArgs(d)...)
	return err
}

// Drills returns recent drills, newest first.
func (s *SQLite) Drills(ctx context.Context, limit int) ([]Drill, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+drillColumns+` FROM drills ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Drill
	for rows.Next() {
		d, err := scanDrill(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func scanDrill(row rowScanner) (Drill, error) {
	var d Drill
	var started, evidence string
	var rp *string
	if err := row.Scan(&d.ID, &d.RunID, &started, &d.Account, &d.Region, &d.Table, &d.ScratchTable, &rp,
		&d.RestoreSeconds, &d.TotalSeconds, &d.SizeBytes, &d.Result, &d.Cleanup, &evidence); err != nil {
		return d, err
	}
	d.StartedAt = parseTime(started)
	if rp != nil {
		t := parseTime(*rp)
		d.RestorePoint = &t
	}
	d.Evidence = json.RawMessage(evidence)
	return d, nil
}

// LastPassedDrill returns when a table last passed a drill (ErrNotFound if never).
func (s *SQLite) LastPassedDrill(ctx context.Context, account, region, table string) (time.Time, error) {
	var started string
	err := s.db.QueryRowContext(ctx, lastPassedDrillSQL, account, region, table).Scan(&started)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, ErrNotFound
	}
	if err != nil {
		return time.Time{}, err
	}
	return parseTime(started), nil
}
