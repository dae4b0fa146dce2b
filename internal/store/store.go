// Package store records every run of pitrguard — audits, remediation,
// restores and drills — in a history database: embedded SQLite by default
// (modernc.org/sqlite, pure Go), PostgreSQL for shared deployments (pgx).
// History gives trends, evidence for auditors, the settings of a table after
// it was deleted, and one view of an audit split into shards.
//
// Both drivers implement Store, apply the same numbered migrations (one file
// per dialect and version, under migrations/), and are safe for many
// concurrent writers: migrations run under a lock, every transaction takes
// the write lock up front, and table facts are upserts keyed by (run, account,
// region, table).
package store

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Store is the history database. Every command that records or reads
// history goes through it; SQLite and Postgres implement it.
type Store interface {
	// Path describes the database for messages: a file path, or a
	// PostgreSQL URL without its password.
	Path() string
	// Close releases the database.
	Close() error

	// BeginRun records the start of a run and returns its id.
	BeginRun(ctx context.Context, kind, caller, args string, started time.Time) (int64, error)
	// StartRun is BeginRun with shard and run-group information.
	StartRun(ctx context.Context, s RunStart) (int64, error)
	// AddTables records tables seen by a run (an upsert keyed by run, account,
	// region and table, so a retried batch does not duplicate rows).
	AddTables(ctx context.Context, runID int64, recs []TableRecord) error
	// FinishRun records how a run ended.
	FinishRun(ctx context.Context, runID int64, status string, coverage bool, summary, errs any, finished time.Time) error
	// EndRun is FinishRun with the audit's run information (the JSON "run" object).
	EndRun(ctx context.Context, runID int64, e RunEnd) error
	// Runs returns the most recent runs, newest first; kind "" means all kinds.
	Runs(ctx context.Context, kind string, limit int) ([]Run, error)
	// RunGroup returns every run of a run group, oldest first.
	RunGroup(ctx context.Context, group string) ([]Run, error)
	// LastTable returns the most recent record of a table (ErrNotFound if none).
	LastTable(ctx context.Context, account, region, name string) (*TableRecord, error)
	// Tables returns the tables recorded by a run, sorted by account, region, name.
	Tables(ctx context.Context, runID int64) ([]TableRecord, error)
	// TableSnapshots returns up to limit records of one table, newest first.
	TableSnapshots(ctx context.Context, account, region, name string, limit int) ([]TableRecord, error)

	// AddJournal records a change.
	AddJournal(ctx context.Context, e JournalEntry) error
	// Journal returns recent journal entries, newest first; runID 0 means all runs.
	Journal(ctx context.Context, runID int64, limit int) ([]JournalEntry, error)

	// AddDrill records a drill.
	AddDrill(ctx context.Context, d Drill) error
	// Drills returns recent drills, newest first.
	Drills(ctx context.Context, limit int) ([]Drill, error)
	// LastPassedDrill returns when a table last passed a drill (ErrNotFound if never).
	LastPassedDrill(ctx context.Context, account, region, table string) (time.Time, error)

	// AddEventAction journals one handled CloudTrail event.
	AddEventAction(ctx context.Context, e EventAction) error
	// EventActions returns the journal of one event, oldest first.
	EventActions(ctx context.Context, eventID string) ([]EventAction, error)
	// EventActionsBetween returns every handled event's actions from from to
	// to (both included), oldest first.
	EventActionsBetween(ctx context.Context, from, to time.Time) ([]EventAction, error)
	// NotificationSent reports whether a message with key went to channel at or after since.
	NotificationSent(ctx context.Context, key, channel string, since time.Time) (bool, error)
	// MarkNotificationSent records that a message with key went to channel at at.
	MarkNotificationSent(ctx context.Context, key, channel string, at time.Time) error

	// AddGuardrailChecks records the accounts of a guardrails check.
	AddGuardrailChecks(ctx context.Context, runID int64, recs []GuardrailCheck) error
	// GuardrailChecks returns the accounts recorded by one run, sorted by account.
	GuardrailChecks(ctx context.Context, runID int64) ([]GuardrailCheck, error)
}

var (
	_ Store = (*SQLite)(nil)
	_ Store = (*Postgres)(nil)
)

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
	// RunGroup, Shard and Shards place a run in a sharded audit ("" and 0
	// when it is not part of one). Shard is 1-based: K of K/N.
	RunGroup string
	Shard    int
	Shards   int
	// Info is the audit's JSON "run" object ({} for other kinds).
	Info json.RawMessage
}

// RunStart describes a run being started.
type RunStart struct {
	Kind, Caller, Args string
	StartedAt          time.Time
	RunGroup           string
	Shard, Shards      int
}

// RunEnd describes how a run ended.
type RunEnd struct {
	Status   string
	Coverage bool
	Summary  any
	Errors   any
	Info     any // may be nil
	Finished time.Time
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
	// Facts is the table's facts as JSON: store.Facts (FactsVersion ≥ 1), or,
	// for rows written before facts were versioned (FactsVersion 0), the
	// audit's JSON row. Read it with DecodeFacts.
	Facts        json.RawMessage
	FactsVersion int
	SeenAt       time.Time
}

// Run statuses.
const (
	StatusRunning     = "running"
	StatusCompleted   = "completed"
	StatusInterrupted = "interrupted"
	StatusFailed      = "failed"
)

// ErrNotFound is returned when nothing is recorded for a lookup.
var ErrNotFound = errors.New("not recorded")

// ErrNoDatabase is returned by OpenExisting when there is no database yet.
var ErrNoDatabase = errors.New("no history database")

// IsPostgresURL reports whether target names a PostgreSQL database rather
// than a SQLite file.
func IsPostgresURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// Open opens the history database named by target — a PostgreSQL URL
// (postgres://…) or a SQLite file path — creating and migrating it as
// needed. Safe to call from many processes at once on a new database.
func Open(ctx context.Context, target string) (Store, error) {
	if IsPostgresURL(target) {
		return OpenPostgres(ctx, target, true)
	}
	return OpenSQLite(ctx, target, true)
}

// OpenExisting opens the database for a command that only reads: it never
// creates a database, a file or a directory (ErrNoDatabase when there is
// none), and it works on a read-only SQLite file.
func OpenExisting(ctx context.Context, target string) (Store, error) {
	if IsPostgresURL(target) {
		return OpenPostgres(ctx, target, false)
	}
	return OpenSQLite(ctx, target, false)
}

// DefaultPath is where the database lives without --db:
// $PITRGUARD_DB (a file or a postgres:// URL), else
// $XDG_DATA_HOME/pitrguard/pitrguard.db, else
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

// Argv joins command-line arguments for the record.
func Argv(args []string) string { return strings.Join(args, " ") }

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migration is one numbered schema change in one dialect.
type migration struct {
	Version int
	Name    string
	SQL     string
}

// loadMigrations returns a dialect's migrations in version order. Versions
// come from the file name (0004_x.sql is version 4) and must run 1, 2, 3…
func loadMigrations(dialect string) ([]migration, error) {
	dir := "migrations/" + dialect
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: the name must start with its version, e.g. 0005_name.sql", e.Name())
		}
		body, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{Version: v, Name: dir + "/" + e.Name(), SQL: string(body)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.Version - b.Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations/%s: expected version %d, found %s", dialect, i+1, m.Name)
		}
	}
	return out, nil
}

// timeFormat is fixed-width so that stored times sort as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// parseTime reads a stored time (fixed-width, or the RFC 3339 of older rows).
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func marshalJSON(v any, empty string) (string, error) {
	if v == nil {
		return empty, nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		if len(raw) == 0 {
			return empty, nil
		}
		return string(raw), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func checkRunStart(s RunStart) error {
	if s.Shards < 0 || s.Shard < 0 || s.Shard > s.Shards || (s.Shards > 0 && s.Shard == 0) {
		return fmt.Errorf("record run: shard %d/%d is not valid", s.Shard, s.Shards)
	}
	return nil
}

// schemaError explains a database whose schema this pitrguard cannot use.
func schemaTooNew(cur, known int) error {
	return fmt.Errorf("the database has schema version %d, newer than this pitrguard understands (%d); upgrade pitrguard", cur, known)
}
