package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite is the embedded store: one file, one writer connection per process,
// WAL so readers never wait for a writer.
type SQLite struct {
	db       *sql.DB
	path     string
	readOnly bool
}

// busyTimeoutMS is how long a connection waits for another process's write
// lock (a shard writing a batch, a migration) before giving up.
const busyTimeoutMS = 30000

// sqliteDSN builds the driver's DSN from a file path safely (issue 9 #12):
// the path is an escaped file: URL, so '#', '?' and '%' in it stay part of
// the name and nothing in it can add a parameter; the parameters are fixed
// here. _pragma values run as raw SQL, so none comes from input.
// mode is SQLite's URI mode: rwc (create), rw (must exist) or ro.
func sqliteDSN(absPath, mode string) string {
	q := url.Values{}
	q.Set("mode", mode)
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	if mode != "ro" {
		q.Add("_pragma", "journal_mode(WAL)")
		// BEGIN IMMEDIATE: a transaction takes the write lock when it starts,
		// so two writers queue on busy_timeout instead of one failing with
		// SQLITE_BUSY when it upgrades a read lock (issue 16 #3).
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(absPath), RawQuery: q.Encode()}
	if !strings.HasPrefix(u.Path, "/") { // Windows: C:/x → /C:/x
		u.Path = "/" + u.Path
	}
	return u.String()
}

// OpenSQLite opens the SQLite database at path. With create, a missing file
// is created 0600 in a directory created 0700 (it holds caller ARNs, command
// lines and tags) and migrated. Without create, nothing is created: a missing
// file is ErrNoDatabase, and a file this process may not write is opened
// read-only.
func OpenSQLite(ctx context.Context, path string, create bool) (*SQLite, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("history database %s: %w", path, err)
	}
	mode := "rwc"
	if create {
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return nil, fmt.Errorf("create the directory for the history database %s: %w", path, err)
		}
		// O_EXCL: of two processes creating it at once, one creates and the
		// other opens what it created.
		f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		switch {
		case err == nil:
			f.Close()
		case !errors.Is(err, fs.ErrExist):
			return nil, fmt.Errorf("create the history database %s: %w", path, err)
		}
	} else {
		fi, err := os.Stat(abs)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("%w at %s: nothing has been recorded there yet (run `pitrguard audit` first, or pass --db)", ErrNoDatabase, path)
		case err != nil:
			return nil, fmt.Errorf("history database %s: %w", path, err)
		case fi.IsDir():
			return nil, fmt.Errorf("history database %s is a directory; pass the database file with --db", path)
		}
		mode = "rw"
		if !writable(abs) {
			mode = "ro"
		}
	}
	s, err := openSQLiteRetry(ctx, path, sqliteDSN(abs, mode), mode == "ro")
	if err != nil && mode == "ro" && isCantOpen(err) {
		// A WAL database in a directory this process cannot write has no
		// -shm file to share; reading it as immutable is what SQLite offers
		// (https://sqlite.org/wal.html#readonly).
		s, err = openSQLiteDSN(ctx, path, sqliteDSN(abs, "ro")+"&immutable=1", true)
	}
	if err != nil {
		return nil, sqliteOpenError(path, err)
	}
	return s, nil
}

// writable reports whether this process may write the file (a package
// variable so tests running as root can pretend it may not).
var writable = func(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

func isCantOpen(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_CANTOPEN || se.Code()&0xff == sqlite3.SQLITE_READONLY)
}

// openSQLiteRetry opens and migrates, retrying while another process holds
// a lock that SQLite does not wait for: switching a new file to WAL, or WAL
// recovery, answer SQLITE_BUSY at once instead of calling the busy handler.
func openSQLiteRetry(ctx context.Context, path, dsn string, readOnly bool) (*SQLite, error) {
	deadline := time.Now().Add(busyTimeoutMS * time.Millisecond)
	wait := 20 * time.Millisecond
	for {
		s, err := openSQLiteDSN(ctx, path, dsn, readOnly)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait + time.Duration(rand.Int64N(int64(wait)))):
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED)
}

func openSQLiteDSN(ctx context.Context, path, dsn string, readOnly bool) (*SQLite, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer per process; WAL lets other processes read
	s := &SQLite{db: db, path: path, readOnly: readOnly}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// sqliteOpenError says what to do about a database that cannot be used. Only
// a file that is not a database (or is damaged) is worth moving aside; a busy
// or read-only healthy database is not (issue 16 #3).
func sqliteOpenError(path string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("history database %s is not a pitrguard database or is damaged: %w (move it aside or pass --db to use another file)", path, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("history database %s is locked by another process: %w; try again when it finishes", path, err)
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM:
			return fmt.Errorf("history database %s cannot be opened for this command: %w (check the file's and its directory's permissions, or pass --db)", path, err)
		}
	}
	return fmt.Errorf("history database %s: %w", path, err)
}

// Path is the database file.
func (s *SQLite) Path() string { return s.path }

// Close closes the database; closing a nil store does nothing.
func (s *SQLite) Close() error {
	if s == nil {
		return nil
	}
	return s.db.Close()
}

// migrate brings the schema up to date in one BEGIN IMMEDIATE transaction:
// a second process opening a new database waits for the first to finish,
// then finds nothing left to do.
func (s *SQLite) migrate(ctx context.Context) error {
	ms, err := loadMigrations("sqlite")
	if err != nil {
		return err
	}
	if s.readOnly {
		return s.checkVersion(ctx, len(ms))
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var cur int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
		return err
	}
	if cur > len(ms) {
		return schemaTooNew(cur, len(ms))
	}
	for _, m := range ms[cur:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, m.Version); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// checkVersion is migrate for a read-only file: it can only say whether the
// schema is usable.
func (s *SQLite) checkVersion(ctx context.Context, known int) error {
	var cur int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
		return err
	}
	switch {
	case cur > known:
		return schemaTooNew(cur, known)
	case cur < known:
		return fmt.Errorf("the database has schema version %d and this pitrguard needs %d; it is read-only here, so run pitrguard once with write access to upgrade it", cur, known)
	}
	return nil
}

// BeginRun records the start of a run and returns its id.
func (s *SQLite) BeginRun(ctx context.Context, kind, caller, args string, started time.Time) (int64, error) {
	return s.StartRun(ctx, RunStart{Kind: kind, Caller: caller, Args: args, StartedAt: started})
}

// StartRun records the start of a run, with its shard and run group.
func (s *SQLite) StartRun(ctx context.Context, r RunStart) (int64, error) {
	if err := checkRunStart(r); err != nil {
		return 0, err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO runs (kind, started_at, caller, args, run_group, shard, shards) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.Kind, formatTime(r.StartedAt), r.Caller, r.Args, r.RunGroup, r.Shard, r.Shards)
	if err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	return res.LastInsertId()
}

const upsertTableSQL = `INSERT INTO table_facts
	(run_id, account, region, name, arn, verdict, tier, owner, pitr_status, recovery_days, facts, facts_version)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (run_id, account, region, name) DO UPDATE SET arn = excluded.arn, verdict = excluded.verdict,
	tier = excluded.tier, owner = excluded.owner, pitr_status = excluded.pitr_status,
	recovery_days = excluded.recovery_days, facts = excluded.facts, facts_version = excluded.facts_version`

// AddTables records tables seen by a run, in one transaction.
func (s *SQLite) AddTables(ctx context.Context, runID int64, recs []TableRecord) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, upsertTableSQL)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range recs {
		if _, err := stmt.ExecContext(ctx, runID, r.Account, r.Region, r.Name, r.ARN, r.Verdict, r.Tier, r.Owner,
			r.PITRStatus, r.RecoveryDays, string(r.Facts), r.FactsVersion); err != nil {
			return fmt.Errorf("record table %s/%s/%s: %w", r.Account, r.Region, r.Name, err)
		}
	}
	return tx.Commit()
}

// FinishRun records how a run ended.
func (s *SQLite) FinishRun(ctx context.Context, runID int64, status string, coverage bool, summary, errs any, finished time.Time) error {
	return s.EndRun(ctx, runID, RunEnd{Status: status, Coverage: coverage, Summary: summary, Errors: errs, Finished: finished})
}

// EndRun records how a run ended, with the audit's run information.
func (s *SQLite) EndRun(ctx context.Context, runID int64, e RunEnd) error {
	sj, ej, ij, err := endJSON(e)
	if err != nil {
		return err
	}
	q := `UPDATE runs SET finished_at = ?, status = ?, coverage_complete = ?, summary = ?, errors = ? WHERE id = ?`
	args := []any{formatTime(e.Finished), e.Status, e.Coverage, sj, ej, runID}
	if e.Info != nil {
		q = `UPDATE runs SET finished_at = ?, status = ?, coverage_complete = ?, summary = ?, errors = ?, info = ? WHERE id = ?`
		args = []any{formatTime(e.Finished), e.Status, e.Coverage, sj, ej, ij, runID}
	}
	_, err = s.db.ExecContext(ctx, q, args...)
	return err
}

func endJSON(e RunEnd) (summary, errs, info string, err error) {
	if summary, err = marshalJSON(e.Summary, "{}"); err != nil {
		return
	}
	if errs, err = marshalJSON(e.Errors, "[]"); err != nil {
		return
	}
	info, err = marshalJSON(e.Info, "{}")
	return
}

const runColumns = `id, kind, started_at, finished_at, caller, args, status, coverage_complete, summary, errors, run_group, shard, shards, info`

// Runs returns the most recent runs, newest first; kind "" means all kinds.
func (s *SQLite) Runs(ctx context.Context, kind string, limit int) ([]Run, error) {
	q := `SELECT ` + runColumns + ` FROM runs`
	var args []any
	if kind != "" {
		q += ` WHERE kind = ?`
		args = append(args, kind)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	return s.queryRuns(ctx, q, args...)
}

// RunGroup returns every run of a run group, oldest first.
func (s *SQLite) RunGroup(ctx context.Context, group string) ([]Run, error) {
	return s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE run_group = ? ORDER BY id`, group)
}

func (s *SQLite) queryRuns(ctx context.Context, q string, args ...any) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// rowScanner is satisfied by *sql.Rows and pgx.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanRun(row rowScanner) (Run, error) {
	var r Run
	var started string
	var finished *string
	var summary, errs, info string
	if err := row.Scan(&r.ID, &r.Kind, &started, &finished, &r.Caller, &r.Args, &r.Status, &r.CoverageComplete,
		&summary, &errs, &r.RunGroup, &r.Shard, &r.Shards, &info); err != nil {
		return r, err
	}
	r.StartedAt = parseTime(started)
	if finished != nil {
		t := parseTime(*finished)
		r.FinishedAt = &t
	}
	r.Summary, r.Errors, r.Info = json.RawMessage(summary), json.RawMessage(errs), json.RawMessage(info)
	return r, nil
}

const lastTableSQL = `SELECT f.run_id, f.account, f.region, f.name, f.arn, f.verdict, f.tier, f.owner,
	f.pitr_status, f.recovery_days, f.facts, f.facts_version, r.started_at
	FROM table_facts f JOIN runs r ON r.id = f.run_id
	WHERE f.account = ? AND f.region = ? AND f.name = ? ORDER BY f.run_id DESC LIMIT 1`

// LastTable returns the most recent record of a table, from any run.
func (s *SQLite) LastTable(ctx context.Context, account, region, name string) (*TableRecord, error) {
	r, err := scanTable(s.db.QueryRowContext(ctx, lastTableSQL, account, region, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return r, err
}

const tablesSQL = `SELECT f.run_id, f.account, f.region, f.name, f.arn, f.verdict, f.tier, f.owner,
	f.pitr_status, f.recovery_days, f.facts, f.facts_version, r.started_at
	FROM table_facts f JOIN runs r ON r.id = f.run_id WHERE f.run_id = ? ORDER BY f.account, f.region, f.name`

// Tables returns the tables recorded by a run, sorted by account, region, name.
func (s *SQLite) Tables(ctx context.Context, runID int64) ([]TableRecord, error) {
	rows, err := s.db.QueryContext(ctx, tablesSQL, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanTables(rows)
}

// scanTables reads every table row of a query (both drivers' row sets).
func scanTables(rows rowsScanner) ([]TableRecord, error) {
	var out []TableRecord
	for rows.Next() {
		r, err := scanTable(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

func scanTable(row rowScanner) (*TableRecord, error) {
	var r TableRecord
	var days *int64
	var facts, seen string
	if err := row.Scan(&r.RunID, &r.Account, &r.Region, &r.Name, &r.ARN, &r.Verdict, &r.Tier, &r.Owner, &r.PITRStatus,
		&days, &facts, &r.FactsVersion, &seen); err != nil {
		return nil, err
	}
	if days != nil {
		d := int(*days)
		r.RecoveryDays = &d
	}
	r.Facts = json.RawMessage(facts)
	r.SeenAt = parseTime(seen)
	return &r, nil
}
