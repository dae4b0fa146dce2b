package store

import "context"

const snapshotsSQL = `SELECT f.run_id, f.account, f.region, f.name, f.arn, f.verdict, f.tier, f.owner,
	f.pitr_status, f.recovery_days, f.facts, f.facts_version, r.started_at
	FROM table_facts f JOIN runs r ON r.id = f.run_id
	WHERE f.account = ? AND f.region = ? AND f.name = ? ORDER BY f.run_id DESC LIMIT ?`

// TableSnapshots returns up to limit records of one table, newest first, each
// with the time its run started. A restore of a deleted table picks the
// newest one whose settings were actually read.
func (s *SQLite) TableSnapshots(ctx context.Context, account, region, name string, limit int) ([]TableRecord, error) {
	rows, err := s.db.QueryContext(ctx, snapshotsSQL, account, region, name, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanTables(rows)
}

// TableSnapshots returns up to limit records of one table, newest first.
func (s *Postgres) TableSnapshots(ctx context.Context, account, region, name string, limit int) ([]TableRecord, error) {
	rows, err := s.pool.Query(ctx, pgPlaceholders(snapshotsSQL), account, region, name, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanTables(rows)
}
