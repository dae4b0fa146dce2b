package store

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/jackc/pgx/v5"
)

// GuardrailCheck is one account as seen by `pitrguard guardrails check`.
type GuardrailCheck struct {
	RunID      int64           `json:"run_id"`
	Account    string          `json:"account"`
	Management bool            `json:"management"`
	Prevent    string          `json:"prevent"`
	Detect     string          `json:"detect"`
	Correct    string          `json:"correct"`
	Trail      string          `json:"trail"`
	Details    json.RawMessage `json:"details"`
}

const (
	addGuardrailCheckSQL = `INSERT INTO guardrail_checks
		(run_id, account, management, prevent, detect, correct, trail, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, account) DO UPDATE SET management = excluded.management, prevent = excluded.prevent,
		detect = excluded.detect, correct = excluded.correct, trail = excluded.trail, details = excluded.details`
	guardrailChecksSQL = `SELECT run_id, account, management, prevent, detect, correct, trail, details
		FROM guardrail_checks WHERE run_id = ? ORDER BY account`
)

func guardrailDetails(r GuardrailCheck) string {
	if len(r.Details) == 0 {
		return "[]"
	}
	return string(r.Details)
}

// AddGuardrailChecks records the accounts of a guardrails check, in one transaction.
func (s *Postgres) AddGuardrailChecks(ctx context.Context, runID int64, recs []GuardrailCheck) error {
	var b pgx.Batch
	for _, r := range recs {
		b.Queue(pgPlaceholders(addGuardrailCheckSQL), runID, r.Account, r.Management, r.Prevent, r.Detect, r.Correct, r.Trail, guardrailDetails(r))
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, &b)
		for _, r := range recs {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return fmt.Errorf("record guardrails of account %s: %w", r.Account, err)
			}
		}
		return br.Close()
	})
}

// GuardrailChecks returns the accounts recorded by one run, sorted by account.
func (s *Postgres) GuardrailChecks(ctx context.Context, runID int64) ([]GuardrailCheck, error) {
	rows, err := s.pool.Query(ctx, pgPlaceholders(guardrailChecksSQL), runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanGuardrailChecks(rows)
}

// AddGuardrailChecks records the accounts of a guardrails check, in one transaction.
func (s *SQLite) AddGuardrailChecks(ctx context.Context, runID int64, recs []GuardrailCheck) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, addGuardrailCheckSQL)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range recs {
		if _, err := stmt.ExecContext(ctx, runID, r.Account, r.Management, r.Prevent, r.Detect, r.Correct, r.Trail, guardrailDetails(r)); err != nil {
			return fmt.Errorf("record guardrails of account %s: %w", r.Account, err)
		}
	}
	return tx.Commit()
}

// GuardrailChecks returns the accounts recorded by one run, sorted by account.
func (s *SQLite) GuardrailChecks(ctx context.Context, runID int64) ([]GuardrailCheck, error) {
	rows, err := s.db.QueryContext(ctx, guardrailChecksSQL, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanGuardrailChecks(rows)
}

func scanGuardrailChecks(rows rowsScanner) ([]GuardrailCheck, error) {
	var out []GuardrailCheck
	for rows.Next() {
		var g GuardrailCheck
		var details string
		if err := rows.Scan(&g.RunID, &g.Account, &g.Management, &g.Prevent, &g.Detect, &g.Correct, &g.Trail, &details); err != nil {
			return nil, err
		}
		g.Details = json.RawMessage(details)
		out = append(out, g)
	}
	return out, rows.Err()
}
