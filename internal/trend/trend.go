// Package trend lists the audits recorded in the history as points over
// time — one per audit, the shards of a run group merged into one, as
// `history --run-group` prints them — and draws them as terminal sparklines
// (`pitrguard history --trend`). The evidence report charts the same points.
package trend

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/pitrguard/pitrguard/internal/history"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/rungroup"
	"github.com/pitrguard/pitrguard/internal/store"
)

// Reader is the part of the history database the trend reads.
type Reader interface {
	history.Reader
	Runs(ctx context.Context, kind string, limit int) ([]store.Run, error)
}

var _ Reader = store.Store(nil)

// Audit is one audit of the history: a single run, or the shards of a run
// group taken together.
type Audit struct {
	// At is when it started (a run group's earliest shard).
	At time.Time
	// RunIDs are the runs it is built from, in id order.
	RunIDs   []int64
	RunGroup string
	Summary  policy.Summary
	// Raw are the runs' stored summaries as written, for fields this
	// version of the summary does not declare.
	Raw []json.RawMessage

	run *store.Run // a single run; nil for a run group
}

// Report rebuilds the audit's full envelope (with its tables) from the history.
func (a *Audit) Report(ctx context.Context, db history.Reader) (*report.Audit, error) {
	if a.run != nil {
		return history.AuditOfRun(ctx, db, *a.run)
	}
	return groupReport(ctx, db, a.RunGroup)
}

func groupReport(ctx context.Context, db history.Reader, group string) (*report.Audit, error) {
	parts, err := history.Parts(ctx, db, group)
	if err != nil {
		return nil, fmt.Errorf("read run group %s: %w", group, err)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("run group %s has no runs", group)
	}
	return rungroup.Merge(parts)
}

// Audits returns the audits that started at or after from (zero: all), at
// most limit of them (the newest; 0: no limit), oldest first. A run that
// never finished (status running, not part of a run group) is left out: it
// has no summary.
func Audits(ctx context.Context, db Reader, from time.Time, limit int) ([]Audit, error) {
	runs, err := db.Runs(ctx, "audit", math.MaxInt32)
	if err != nil {
		return nil, err
	}
	groups := map[string][]store.Run{}
	var out []Audit
	for i := range runs {
		r := runs[i]
		if r.RunGroup != "" {
			groups[r.RunGroup] = append(groups[r.RunGroup], r)
			continue
		}
		if r.Status == store.StatusRunning || r.StartedAt.Before(from) {
			continue
		}
		a := Audit{At: r.StartedAt, RunIDs: []int64{r.ID}, Raw: []json.RawMessage{r.Summary}, run: &r}
		if err := json.Unmarshal(r.Summary, &a.Summary); err != nil {
			return nil, fmt.Errorf("run %d: stored summary: %w", r.ID, err)
		}
		out = append(out, a)
	}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		rs := groups[g]
		a := Audit{At: rs[0].StartedAt, RunGroup: g}
		for _, r := range rs {
			a.At = minTime(a.At, r.StartedAt)
		}
		if a.At.Before(from) {
			continue
		}
		m, err := groupReport(ctx, db, g)
		if err != nil {
			return nil, err
		}
		a.Summary = m.Summary
		for _, r := range rs {
			a.RunIDs = append(a.RunIDs, r.ID)
		}
		slices.Sort(a.RunIDs)
		for _, id := range a.RunIDs {
			i := slices.IndexFunc(rs, func(r store.Run) bool { return r.ID == id })
			a.Raw = append(a.Raw, rs[i].Summary)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y Audit) int { return cmp.Or(x.At.Compare(y.At), cmp.Compare(x.RunIDs[0], y.RunIDs[0])) })
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
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
