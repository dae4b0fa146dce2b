package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// TableSnapshots returns up to limit records of one table, newest first, each
// with the time its run started. A restore of a deleted table picks the
// newest one whose settings were actually read.
func (s *SQLite) TableSnapshots(ctx context.Context, account, region, name string, limit int) ([]TableRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT f.run_id, f.account, f.region, f.name, f.arn, f.verdict, f.tier, f.owner,
		f.pitr_status, f.recovery_days, f.facts, r.started_at
		FROM table_facts f JOIN runs r ON r.id = f.run_id
		WHERE f.account = ? AND f.region = ? AND f.name = ? ORDER BY f.run_id DESC LIMIT ?`, account, region, name, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TableRecord
	for rows.Next() {
		var r TableRecord
		var days sql.NullInt64
		var facts, seen string
		if err := rows.Scan(&r.RunID, &r.Account, &r.Region, &r.Name, &r.ARN, &r.Verdict, &r.Tier, &r.Owner, &r.PITRStatus, &days, &facts, &seen); err != nil {
			return nil, err
		}
		if days.Valid {
			d := int(days.Int64)
			r.RecoveryDays = &d
		}
		r.Facts = json.RawMessage(facts)
		r.SeenAt, _ = time.Parse(timeFormat, seen)
		out = append(out, r)
	}
	return out, rows.Err()
}
