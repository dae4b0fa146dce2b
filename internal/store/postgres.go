package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the shared store: shards, the event handler and `serve` write
// to one history through a connection pool.
type Postgres struct {
	pool *pgxpool.Pool
	desc string
}

// migrationLockKey is the advisory lock that serialises migrations across
// processes ("pitrguard" as a number).
const migrationLockKey int64 = 0x70697472677561

// OpenPostgres connects to the PostgreSQL database at rawURL. With migrate,
// the schema is created or upgraded under an advisory lock (many shards may
// start at once); without, a database with no pitrguard schema is
// ErrNoDatabase.
func OpenPostgres(ctx context.Context, rawURL string, migrate bool) (*Postgres, error) {
	desc := redactURL(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's message may quote the URL; say only what is wrong.
		return nil, fmt.Errorf("history database %s: not a valid PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=…)", desc)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("history database %s: %w", desc, err)
	}
	s := &Postgres{pool: pool, desc: desc}
	if err := s.migrate(ctx, migrate); err != nil {
		pool.Close()
		if errors.Is(err, ErrNoDatabase) {
			return nil, err
		}
		return nil, fmt.Errorf("history database %s: %w", desc, err)
	}
	return s, nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// Path is the database URL without its password.
func (s *Postgres) Path() string { return s.desc }

// Close closes the pool; closing a nil store does nothing.
func (s *Postgres) Close() error {
	if s == nil {
		return nil
	}
	s.pool.Close()
	return nil
}

func (s *Postgres) migrate(ctx context.Context, apply bool) error {
	ms, err := loadMigrations("postgres")
	if err != nil {
		return err
	}
	if !apply {
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%w in %s: nothing has been recorded there yet (run `pitrguard audit --db …` first)", ErrNoDatabase, s.desc)
		}
		var cur int
		if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
			return err
		}
		if cur == len(ms) {
			return nil
		}
		if cur > len(ms) {
			return schemaTooNew(cur, len(ms))
		}
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// Transactional DDL plus an advisory lock taken first: concurrent openers
	// of a new database queue here, and each later one finds it up to date.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var cur int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
		return err
	}
	if cur > len(ms) {
		return schemaTooNew(cur, len(ms))
	}
	for _, m := range ms[cur:] {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, m.Version); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// BeginRun records the start of a run and returns its id.
func (s *Postgres) BeginRun(ctx context.Context, kind, caller, args string, started time.Time) (int64, error) {
	return s.StartRun(ctx, RunStart{Kind: kind, Caller: caller, Args: args, StartedAt: started})
}

// StartRun records the start of a run, with its shard and run group.
func (s *Postgres) StartRun(ctx context.Context, r RunStart) (int64, error) {
	if err := checkRunStart(r); err != nil {
		return 0, err
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO runs (kind, started_at, caller, args, run_group, shard, shards)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		r.Kind, formatTime(r.StartedAt), r.Caller, r.Args, r.RunGroup, r.Shard, r.Shards).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	return id, nil
}

// AddTables records tables seen by a run, in one transaction (one round trip).
func (s *Postgres) AddTables(ctx context.Context, runID int64, recs []TableRecord) error {
	var b pgx.Batch
	for _, r := range recs {
		b.Queue(`INSERT INTO table_facts
			(run_id, account, region, name, arn, verdict, tier, owner, pitr_status, recovery_days, facts, facts_version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (run_id, account, region, name) DO UPDATE SET arn = excluded.arn, verdict = excluded.verdict,
			tier = excluded.tier, owner = excluded.owner, pitr_status = excluded.pitr_status,
			recovery_days = excluded.recovery_days, facts = excluded.facts, facts_version = excluded.facts_version`,
			runID, r.Account, r.Region, r.Name, r.ARN, r.Verdict, r.Tier, r.Owner, r.PITRStatus, r.RecoveryDays,
			string(r.Facts), r.FactsVersion)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, &b)
		for _, r := range recs {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return fmt.Errorf("record table %s/%s/%s: %w", r.Account, r.Region, r.Name, err)
			}
		}
		return br.Close()
	})
}

// FinishRun records how a run ended.
func (s *Postgres) FinishRun(ctx context.Context, runID int64, status string, coverage bool, summary, errs any, finished time.Time) error {
	return s.EndRun(ctx, runID, RunEnd{Status: status, Coverage: coverage, Summary: summary, Errors: errs, Finished: finished})
}

// EndRun records how a run ended, with the audit's run information.
func (s *Postgres) EndRun(ctx context.Context, runID int64, e RunEnd) error {
	sj, ej, ij, err := endJSON(e)
	if err != nil {
		return err
	}
	if e.Info != nil {
		_, err = s.pool.Exec(ctx, `UPDATE runs SET finished_at = $1, status = $2, coverage_complete = $3, summary = $4, errors = $5, info = $6 WHERE id = $7`,
			formatTime(e.Finished), e.Status, e.Coverage, sj, ej, ij, runID)
	} else {
		_, err = s.pool.Exec(ctx, `UPDATE runs SET finished_at = $1, status = $2, coverage_complete = $3, summary = $4, errors = $5 WHERE id = $6`,
			formatTime(e.Finished), e.Status, e.Coverage, sj, ej, runID)
	}
	return err
}

// Runs returns the most recent runs, newest first; kind "" means all kinds.
func (s *Postgres) Runs(ctx context.Context, kind string, limit int) ([]Run, error) {
	if kind != "" {
		return s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE kind = $1 ORDER BY id DESC LIMIT $2`, kind, limit)
	}
	return s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs ORDER BY id DESC LIMIT $1`, limit)
}

// RunGroup returns every run of a run group, oldest first.
func (s *Postgres) RunGroup(ctx context.Context, group string) ([]Run, error) {
	return s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE run_group = $1 ORDER BY id`, group)
}

func (s *Postgres) queryRuns(ctx context.Context, q string, args ...any) ([]Run, error) {
	rows, err := s.pool.Query(ctx, q, args...)
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

// LastTable returns the most recent record of a table, from any run.
func (s *Postgres) LastTable(ctx context.Context, account, region, name string) (*TableRecord, error) {
	r, err := scanTable(s.pool.QueryRow(ctx, pgPlaceholders(lastTableSQL), account, region, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return r, err
}

// Tables returns the tables recorded by a run, sorted by account, region, name.
func (s *Postgres) Tables(ctx context.Context, runID int64) ([]TableRecord, error) {
	rows, err := s.pool.Query(ctx, pgPlaceholders(tablesSQL), runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanTables(rows)
}

// AddJournal records a change.
func (s *Postgres) AddJournal(ctx context.Context, e JournalEntry) error {
	before, after := journalStates(e)
	_, err := s.pool.Exec(ctx, `INSERT INTO journal (run_id, at, caller, account, region, table_name, action, before, after, result, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, e.RunID, formatTime(e.At), e.Caller, e.Account, e.Region, e.Table,
		e.Action, before, after, e.Result, e.Error)
	return err
}

// Journal returns recent journal entries, newest first; runID 0 means all runs.
func (s *Postgres) Journal(ctx context.Context, runID int64, limit int) ([]JournalEntry, error) {
	var rows pgx.Rows
	var err error
	if runID != 0 {
		rows, err = s.pool.Query(ctx, `SELECT `+journalColumns+` FROM journal WHERE run_id = $1 ORDER BY id DESC LIMIT $2`, runID, limit)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+journalColumns+` FROM journal ORDER BY id DESC LIMIT $1`, limit)
	}
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

// AddDrill records a drill.
func (s *Postgres) AddDrill(ctx context.Context, d Drill) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO drills (run_id, started_at, account, region, table_name, scratch_table, restore_point,
		restore_seconds, total_seconds, size_bytes, result, cleanup, evidence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		drillArgs(d)...)
	return err
}

// Drills returns recent drills, newest first.
func (s *Postgres) Drills(ctx context.Context, limit int) ([]Drill, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+drillColumns+` FROM drills ORDER BY id DESC LIMIT $1`, limit)
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

// LastPassedDrill returns when a table last passed a drill (ErrNotFound if never).
func (s *Postgres) LastPassedDrill(ctx context.Context, account, region, table string) (time.Time, error) {
	var started string
	err := s.pool.QueryRow(ctx, pgPlaceholders(lastPassedDrillSQL), account, region, table).Scan(&started)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, ErrNotFound
	}
	if err != nil {
		return time.Time{}, err
	}
	return parseTime(started), nil
}

// pgPlaceholders rewrites ? placeholders to $1, $2, … for queries whose text
// is otherwise the same in both dialects (none of them has a ? in a literal).
func pgPlaceholders(q string) string {
	out := make([]byte, 0, len(q)+8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = fmt.Appendf(out, "$%d", n)
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}

func journalStates(e JournalEntry) (before, after string) {
	before, after = string(e.Before), string(e.After)
	if before == "" {
		before = "null"
	}
	if after == "" {
		after = "null"
	}
	return before, after
}
