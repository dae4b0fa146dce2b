// Package trend lists the audits recorded in the history as points over
// time — one per audit, the shards of a run group merged into one, as
// `history --run-group` prints them — and draws them as terminal sparklines
// (`pitrguard history --trend`). The evidence report charts the same points.
package trend

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/pitrguard/pitrguard/internal/history"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

// Reader is the part of the history database the trend reads.
type Reader = history.Lister

// Audit is one audit of the history: a single run, or the shards of a run
// group taken together (history.Entry: the best run of each shard index).
type Audit struct {
	// At is when it started (a run group's earliest shard).
	At time.Time
	// RunIDs are the runs it is built from, in id order.
	RunIDs   []int64
	RunGroup string
	Summary  policy.Summary

	entry history.Entry
}

// Report rebuilds the audit's full envelope (with its tables) from the history.
func (a *Audit) Report(ctx context.Context, db history.Reader) (*report.Audit, error) {
	return history.Load(ctx, db, &a.entry)
}

// Audits returns the finished audits that started at or after from (zero:
// all), at most limit of them (the newest; 0: no limit), oldest first. An
// audit still running — a single run, or any shard of a run group — is
// left out, as everywhere the history is read (history.Latest), and so is one
// that failed before it judged a table (it recorded no table and an empty
// summary: no point to chart).
func Audits(ctx context.Context, db Reader, from time.Time, limit int) ([]Audit, error) {
	es, err := history.Recent(ctx, db, history.KindAudit, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	var out []Audit
	for _, e := range es {
		if e.Running() || e.Failed() || e.StartedAt.Before(from) {
			continue
		}
		a := Audit{At: e.StartedAt, RunGroup: e.RunGroup, Summary: e.Summary, entry: e}
		runs := slices.SortedFunc(slices.Values(e.Runs), func(x, y store.Run) int { return cmp.Compare(x.ID, y.ID) })
		for _, r := range runs {
			a.RunIDs = append(a.RunIDs, r.ID)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y Audit) int { return cmp.Or(x.At.Compare(y.At), cmp.Compare(x.RunIDs[0], y.RunIDs[0])) })
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// Point is one audit's KPIs, as charted.
type Point struct {
	At                 time.Time          `json:"at"`
	RunIDs             []int64            `json:"run_ids"`
	RunGroup           string             `json:"run_group,omitempty"`
	Tables             int                `json:"tables"`
	ComplianceRate     float64            `json:"compliance_rate"`
	ByTier             map[string]float64 `json:"by_tier"`
	NonCompliant       int                `json:"non_compliant"`
	Unknown            int                `json:"unknown"`
	SnapshotGapTables  int                `json:"snapshot_gap_tables"`
	PITRMonthlyCostUSD float64            `json:"pitr_monthly_cost_usd"`
	CoverageComplete   bool               `json:"coverage_complete"`
	// ResilienceCostShare is the audit's measured spend share (null when
	// it did not read Cost Explorer).
	ResilienceCostShare *float64 `json:"resilience_cost_share"`
}

// Points turns audits into points.
func Points(audits []Audit) []Point {
	out := make([]Point, 0, len(audits))
	for _, a := range audits {
		s := a.Summary
		p := Point{At: a.At.UTC(), RunIDs: a.RunIDs, RunGroup: a.RunGroup, Tables: s.Tables, ComplianceRate: s.ComplianceRate,
			ByTier: map[string]float64{}, NonCompliant: s.NonCompliant, Unknown: s.Unknown, SnapshotGapTables: s.SnapshotGapTables,
			PITRMonthlyCostUSD: s.PITRMonthlyCostUSD, CoverageComplete: s.CoverageComplete, ResilienceCostShare: s.ResilienceCostShare}
		for name, t := range s.ByTier {
			p.ByTier[name] = t.ComplianceRate
		}
		out = append(out, p)
	}
	return out
}
