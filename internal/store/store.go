// Package store records every run of pitrguard — audits now; remediation,
// restores and drills as they come — in an embedded SQLite database
// (modernc.org/sqlite, pure Go). History gives trends, evidence for auditors,
// and the settings of a table after it was deleted.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // driver "sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Run is one recorded run.
type Run struct {
	ID               int64
	Kind             string
	StartedAt        time.Time
	FinishedAt       *time.Time
	Caller           string
	Args             string
	Status           string
	CoverageComplete bool
	Summary          json.RawMessage
	Errors           json.RawMessage
}

// TableRecord is one table as seen by one run.
type TableRecord struct {
	RunID        int64
	Account      string
	Region       string
	Name         string
	ARN          string
	Verdict      string
	Tier         string
	Owner        string
	PITRStatus   string
	RecoveryDays *int
	Facts        json.RawMessage
	SeenAt       time.Time
}

// SQLite is the embedded store.
type SQLite struct {
	db   *sql.DB
	path string
}

// DefaultPath is where the database lives without --db:
// $PITRGUARD_DB, else $XDG_DATA_HOME/pitrguard/pitrguard.db, else
// ~/.local/share/pitrguard/pitrguard.db (the OS's config directory outside Linux).
func DefaultPath() (string, error) {
	if p := os.Getenv("PITRGUARD_DB"); p != "" {
		return p, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "pitrguard", "pitrguard.db"), nil
	}
	if runtime.GOOS == "linux" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the home directory for the history database (use --db PATH or --no-store): %w", err)
		}
		return filepath.Join(home, ".local", "share", "pitrguard", "pitrguard.db"), nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find a data directory for the history database (use --db PATH or --no-store): %w", err)
	}
	return filepath.Join(d, "pitrguard", "pitrguard.db"), nil
}

// Open opens (creating if needed) the database at path and migrates it.
func Open(ctx context.Context, path string) (*SQLite, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create the directory for the history database %s: %w", path, err)
	}
	// The DSN is built from a path only; _pragma values are fixed here, never
	// taken from input (they run as raw SQL).
	dsn := "file:" + filepath.ToSlash(path) + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open history database %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer
	s := &SQLite{db: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("history database %s: %w (move it aside or pass --db to use another file)", path, err)
	}
	return s, nil
}

// Path is the database file.
func (s *SQLite) Path() string { return s.path }

// Close closes the database; closing a nil store (--no-store) does nothing.
func (s *SQLite) Close() error {
	if s == nil {
		return nil
	}
	return s.db.Close()
}

func (s *SQLite) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var cur int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
		return err
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	for i, f := range files {
		v := i + 1
		if v <= cur {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", f, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, v); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	if cur > len(files) {
		return fmt.Errorf("the database has schema version %d, newer than this pitrguard understands (%d); upgrade pitrguard", cur, len(files))
	}
	return nil
}

const timeFormat = time.RFC3339Nano

// BeginRun records the start of a run and returns its id.
func (s *SQLite) BeginRun(ctx context.Context, kind, caller, args string, started time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO runs (kind, started_at, caller, args) VALUES (?, ?, ?, ?)`,
		kind, started.UTC().Format(timeFormat), caller, args)
	if err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	return res.LastInsertId()
}

// AddTables records tables seen by a run, in one transaction.
func (s *SQLite) AddTables(ctx context.Context, runID int64, recs []TableRecord) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO table_facts
		(run_id, account, region, name, arn, verdict, tier, owner, pitr_status, recovery_days, facts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range recs {
		if _, err := stmt.ExecContext(ctx, runID, r.Account, r.Region, r.Name, r.ARN, r.Verdict, r.Tier, r.Owner,
			r.PITRStatus, r.RecoveryDays, string(r.Facts)); err != nil {
			return fmt.Errorf("record table %s/%s/%s: %w", r.Account, r.Region, r.Name, err)
		}
	}
	return tx.Commit()
}

// FinishRun records how a run ended.
func (s *SQLite) FinishRun(ctx context.Context, runID int64, status string, coverage bool, summary, errs any, finished time.Time) error {
	sj, err := json.Marshal(summary)
	if err != nil {
		return err
	}
	ej, err := json.Marshal(errs)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `UPDATE runs SET finished_at = ?, status = ?, coverage_complete = ?, summary = ?, errors = ? WHERE id = ?`,
		finished.UTC().Format(timeFormat), status, coverage, string(sj), string(ej), runID)
	return err
}

// Runs returns the most recent runs, newest first; kind "" means all kinds.
func (s *SQLite) Runs(ctx context.Context, kind string, limit int) ([]Run, error) {
	q := `SELECT id, kind, started_at, finished_at, caller, args, status, coverage_complete, summary, errors FROM runs`
	var args []any
	if kind != "" {
		q += ` WHERE kind = ?`
		args = append(args, kind)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started string
		var finished sql.NullString
		var summary, errs string
		if err := rows.Scan(&r.ID, &r.Kind, &started, &finished, &r.Caller, &r.Args, &r.Status, &r.CoverageComplete, &summary, &errs); err != nil {
			return nil, err
		}
		r.StartedAt, _ = time.Parse(timeFormat, started)
		if finished.Valid {
			t, _ := time.Parse(timeFormat, finished.String)
			r.FinishedAt = &t
		}
		r.Summary, r.Errors = json.RawMessage(summary), json.RawMessage(errs)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErrNotFound is returned when nothing is recorded for a lookup.
var ErrNotFound = errors.New("not recorded")

// LastTable returns the most recent record of a table, from any completed or
// interrupted run.
func (s *SQLite) LastTable(ctx context.Context, account, region, name string) (*TableRecord, error) {
	row := s.db.QueryRowContext(ctx, `SELECT f.run_id, f.account, f.region, f.name, f.arn, f.verdict, f.tier, f.owner,
		f.pitr_status, f.recovery_days, f.facts, r.started_at
		FROM table_facts f JOIN runs r ON r.id = f.run_id
		WHERE f.account = ? AND f.region = ? AND f.name = ? ORDER BY f.run_id DESC LIMIT 1`, account, region, name)
	var r TableRecord
	var days sql.NullInt64
	var facts, seen string
	if err := row.Scan(&r.RunID, &r.Account, &r.Region, &r.Name, &r.ARN, &r.Verdict, &r.Tier, &r.Owner, &r.PITRStatus, &days, &facts, &seen); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if days.Valid {
		d := int(days.Int64)
		r.RecoveryDays = &d
	}
	r.Facts = json.RawMessage(facts)
	r.SeenAt, _ = time.Parse(timeFormat, seen)
	return &r, nil
}

// Tables returns the tables recorded by a run, sorted by account, region, name.
func (s *SQLite) Tables(ctx context.Context, runID int64) ([]TableRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT account, region, name, arn, verdict, tier, owner, pitr_status, recovery_days, facts
		FROM table_facts WHERE run_id = ? ORDER BY account, region, name`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TableRecord
	for rows.Next() {
		r := TableRecord{RunID: runID}
		var days sql.NullInt64
		var facts string
		if err := rows.Scan(&r.Account, &r.Region, &r.Name, &r.ARN, &r.Verdict, &r.Tier, &r.Owner, &r.PITRStatus, &days, &facts); err != nil {
			return nil, err
		}
		if days.Valid {
			d := int(days.Int64)
			r.RecoveryDays = &d
		}
		r.Facts = json.RawMessage(facts)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Argv joins command-line arguments for the record.
func Argv(args []string) string { return strings.Join(args, " ") }
