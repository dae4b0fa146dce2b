// Package history reads audits back from the history database as the
// envelopes the audit printed: one recorded run (AuditOfRun), the shards of a
// run group merged into one audit (RunGroup), and the recent runs with the
// shards of each run group counted as one audit (Recent, Latest).
//
// A run group counts as one audit everywhere: for every shard index the
// newest completed run stands for it (a retried pod records a second run with
// the same index), else the newest run at all.
package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/rungroup"
	"github.com/pitrguard/pitrguard/internal/store"
)

// ErrNoAudit is returned by Latest when no finished audit is recorded.
var ErrNoAudit = errors.New("no finished audit is recorded")

// Reader is the part of the history database that rebuilds audits: the
// runs of a run group and the tables of a run.
type Reader interface {
	RunGroup(ctx context.Context, group string) ([]store.Run, error)
	Tables(ctx context.Context, runID int64) ([]store.TableRecord, error)
}

// Lister is Reader plus the list of recent runs (Recent, Latest).
type Lister interface {
	Reader
	Runs(ctx context.Context, kind string, limit int) ([]store.Run, error)
}

var _ Lister = store.Store(nil)

// KindAudit is the kind of the runs recorded by `pitrguard audit`.
const KindAudit = "audit"

// TableResult rebuilds the audit's JSON row from stored facts.
func TableResult(f *store.Facts) report.TableResult {
	r := report.TableResult{
		Account: f.Account, Region: f.Region, Name: f.Name, ARN: f.ARN, Status: f.Status, Tier: f.Tier, Owner: f.Owner,
		Tags: f.Tags, SizeBytes: f.SizeBytes, LSISizeBytes: f.LSISizeBytes, GSISizeBytes: f.GSISizeBytes, ItemCount: f.ItemCount,
		BillingMode: f.BillingMode, TableClass: f.TableClass, DeletionProtection: f.DeletionProtection,
		PITR: report.PITRResult{Status: f.PITR.Status, RecoveryPeriodDays: f.PITR.RecoveryPeriodDays,
			EarliestRestorable: f.PITR.EarliestRestorable, LatestRestorable: f.PITR.LatestRestorable, RestorableDays: f.PITR.RestorableDays},
		Verdict: model.Verdict(f.Verdict), Notes: f.Notes, PITRMonthlyCostUSD: f.PITRMonthlyCostUSD, CostEstimated: f.CostEstimated,
		Source: f.Source, SourceAgeSeconds: f.SourceAgeSeconds, SourceReason: f.SourceReason,
		Replicas: []model.Replica{}, Reasons: []model.Reason{},
	}
	if r.Source == "" {
		r.Source = model.SourceLive // written before the Config fast path: every table was read live
	}
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	if r.Notes == nil {
		r.Notes = []string{}
	}
	for _, rp := range f.Replicas {
		r.Replicas = append(r.Replicas, model.Replica{Region: rp.Region, Status: rp.Status})
	}
	if f.Stream != nil {
		r.Stream = &model.Stream{Enabled: f.Stream.Enabled, ViewType: f.Stream.ViewType}
	}
	for _, re := range f.Reasons {
		r.Reasons = append(r.Reasons, model.Reason(re))
	}
	if x := f.Exemption; x != nil {
		r.Exemption = &policy.AppliedExemption{Pattern: x.Pattern, Reason: x.Reason, Owner: x.Owner, Expires: x.Expires, Expired: x.Expired}
	}
	r.Backup, r.RPOExposureHours = backupResultOf(f.Backup), f.RPOExposureHours
	return r
}

// backupResultOf rebuilds a table's backup block from the history.
func backupResultOf(f *store.FactsBackup) *policy.BackupResult {
	if f == nil {
		return nil
	}
	b := &policy.BackupResult{Status: f.Status, LastRecoveryPoint: f.LastRecoveryPoint, AgeHours: f.AgeHours, PointStatusChecked: f.PointStatusChecked,
		OptIn: f.OptIn, AdvancedFeatures: f.AdvancedFeatures, OnDemandLatest: f.OnDemandLatest, MonthlyCostUSD: f.MonthlyCostUSD,
		CostEstimated: f.CostEstimated, Excluded: orEmpty(f.Excluded), Notes: orEmpty(f.Notes), Plans: []policy.BackupPlanResult{}}
	for _, p := range f.Plans {
		bp := policy.BackupPlanResult{Plan: p.Plan, PlanID: p.PlanID, Selection: p.Selection, Rule: p.Rule, Schedule: p.Schedule,
			RetentionDays: p.RetentionDays, ColdAfterDays: p.ColdAfterDays, Vault: p.Vault, VaultLocked: p.VaultLocked, Copies: []policy.BackupCopyResult{}}
		for _, c := range p.Copies {
			bp.Copies = append(bp.Copies, policy.BackupCopyResult(c))
		}
		b.Plans = append(b.Plans, bp)
	}
	return b
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AuditOfRun rebuilds the audit envelope of one recorded run.
func AuditOfRun(ctx context.Context, db Reader, r store.Run) (*report.Audit, error) {
	a := &report.Audit{SchemaVersion: report.SchemaVersion, GeneratedAt: rungroup.GeneratedAt(r.StartedAt),
		Tables: []report.TableResult{}}
	if err := json.Unmarshal(r.Summary, &a.Summary); err != nil {
		return nil, fmt.Errorf("run %d: stored summary: %w", r.ID, err)
	}
	if err := json.Unmarshal(r.Errors, &a.Errors); err != nil {
		return nil, fmt.Errorf("run %d: stored errors: %w", r.ID, err)
	}
	if len(r.Info) > 0 {
		if err := json.Unmarshal(r.Info, &a.Run); err != nil {
			return nil, fmt.Errorf("run %d: stored run information: %w", r.ID, err)
		}
	}
	a.Run.ID, a.Run.RunGroup, a.Run.Shard, a.Run.Shards = r.ID, r.RunGroup, r.Shard, r.Shards
	if a.Run.Caller == "" {
		a.Run.Caller = r.Caller
	}
	recs, err := db.Tables(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		facts, err := rec.Snapshot()
		if err != nil {
			return nil, fmt.Errorf("run %d, table %s/%s/%s: %w", r.ID, rec.Account, rec.Region, rec.Name, err)
		}
		a.Tables = append(a.Tables, TableResult(facts))
	}
	if a.Errors == nil {
		a.Errors = []model.ScanError{}
	}
	return a, nil
}

// bestShards picks, for every shard index of a run group's runs (oldest
// first), the newest completed run, else the newest run at all; the result
// is sorted by shard index.
func bestShards(runs []store.Run) []store.Run {
	best := map[int]store.Run{}
	for _, r := range runs {
		prev, ok := best[r.Shard]
		if !ok || r.Status == store.StatusCompleted || prev.Status != store.StatusCompleted {
			best[r.Shard] = r
		}
	}
	out := make([]store.Run, 0, len(best))
	for _, k := range slices.Sorted(maps.Keys(best)) {
		out = append(out, best[k])
	}
	return out
}

// Parts rebuilds the report of every shard of a recorded run group (see
// bestShards); none when the group has no run.
func Parts(ctx context.Context, db Reader, group string) ([]rungroup.Part, error) {
	runs, err := db.RunGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	return partsOf(ctx, db, bestShards(runs))
}

func partsOf(ctx context.Context, db Reader, runs []store.Run) ([]rungroup.Part, error) {
	parts := make([]rungroup.Part, 0, len(runs))
	for _, r := range runs {
		a, err := AuditOfRun(ctx, db, r)
		if err != nil {
			return nil, err
		}
		parts = append(parts, rungroup.Part{Source: fmt.Sprintf("run %d", r.ID), Audit: a, Status: r.Status})
	}
	return parts, nil
}

// Entry is one run as the history lists it, with the shards of a run group
// as one entry.
type Entry struct {
	// ID is the run's id; for a run group, the id of its newest shard run.
	ID   int64
	Kind string
	// RunGroup names the run group ("" for a single run).
	RunGroup string
	// Runs are the runs the entry stands for: one, or one per shard index
	// (sorted by shard).
	Runs []store.Run
	// StartedAt is the earliest start; FinishedAt the latest end, nil while
	// a run is still running.
	StartedAt  time.Time
	FinishedAt *time.Time
	// Status is "running" while any run runs, else "completed" when every
	// run completed, else the first other status (interrupted, failed).
	Status string
	// Caller is the identity of the first run.
	Caller string
	// Summary is the audit's KPIs (shards summed and rates recomputed); the
	// zero value for other kinds.
	Summary policy.Summary
	// CoverageComplete is false when a run's coverage was incomplete, a
	// shard did not complete, or a shard index has no run at all.
	CoverageComplete bool
}

// Running reports whether a run of the entry is still running.
func (e *Entry) Running() bool { return e.Status == store.StatusRunning }

// Failed reports whether every run of the entry failed: an audit that
// failed before it judged a table records no table and an empty summary, so
// it has nothing to show (its zero counts are not measurements). A run group
// with some shards failed still has the others' tables: it is not Failed.
func (e *Entry) Failed() bool {
	for _, r := range e.Runs {
		if r.Status != store.StatusFailed {
			return false
		}
	}
	return len(e.Runs) > 0
}

// Shards is the number of shards of the run group (0 for a single run).
func (e *Entry) Shards() int {
	if e.RunGroup == "" || len(e.Runs) == 0 {
		return 0
	}
	return e.Runs[0].Shards
}

// Recent returns the most recent runs of kind ("" for every kind), newest
// first, with the shards of a run group as one entry: at most limit entries.
func Recent(ctx context.Context, db Lister, kind string, limit int) ([]Entry, error) {
	if limit < 1 {
		return []Entry{}, nil
	}
	// A run group's shards take a row each: read more rows until limit
	// entries are found or the history ends.
	for fetch := limit; ; fetch *= 4 {
		runs, err := db.Runs(ctx, kind, fetch)
		if err != nil {
			return nil, err
		}
		out := []Entry{}
		seen := map[string]bool{}
		for _, r := range runs {
			if r.RunGroup == "" || r.Shards == 0 {
				out = append(out, entryOf([]store.Run{r}))
			} else if !seen[r.RunGroup] {
				seen[r.RunGroup] = true
				group, err := db.RunGroup(ctx, r.RunGroup)
				if err != nil {
					return nil, err
				}
				out = append(out, entryOf(bestShards(group)))
			}
			if len(out) == limit {
				return out, nil
			}
		}
		if len(runs) < fetch {
			return out, nil
		}
	}
}

// entryOf summarises runs: one run, or the best run of each shard index of
// one run group.
func entryOf(runs []store.Run) Entry {
	first := runs[0]
	e := Entry{Kind: first.Kind, RunGroup: first.RunGroup, Runs: runs, StartedAt: first.StartedAt, Caller: first.Caller,
		Status: store.StatusCompleted, CoverageComplete: true}
	if first.Shards == 0 {
		e.RunGroup = ""
	}
	var sums []policy.Summary
	finished := true
	for _, r := range runs {
		e.ID = max(e.ID, r.ID)
		if r.StartedAt.Before(e.StartedAt) {
			e.StartedAt = r.StartedAt
		}
		switch {
		case r.Status == store.StatusRunning:
			e.Status, finished = store.StatusRunning, false
		case r.Status != store.StatusCompleted && e.Status == store.StatusCompleted:
			e.Status = r.Status
		}
		if r.FinishedAt == nil {
			finished = false
		} else if e.FinishedAt == nil || r.FinishedAt.After(*e.FinishedAt) {
			t := *r.FinishedAt
			e.FinishedAt = &t
		}
		if !r.CoverageComplete || r.Status != store.StatusCompleted {
			e.CoverageComplete = false
		}
		var s policy.Summary
		if r.Kind == KindAudit && json.Unmarshal(r.Summary, &s) == nil {
			sums = append(sums, s)
		}
	}
	if !finished {
		e.FinishedAt = nil
	}
	if e.RunGroup != "" && len(runs) < first.Shards {
		e.CoverageComplete = false // a shard index has no run
	}
	if first.Kind == KindAudit {
		if e.RunGroup == "" && len(sums) == 1 {
			e.Summary = sums[0]
		} else {
			e.Summary = rungroup.SumSummaries(sums, e.CoverageComplete)
		}
	}
	return e
}

// Latest returns the newest finished audit — the newest single audit, or
// the newest run group merged as one — with the entry it was built from.
// An audit still running (any of its shards) is passed over: the latest
// finished one stands until it ends; so is one that failed before it judged
// a table (Failed: nothing recorded). ErrNoAudit when there is none.
func Latest(ctx context.Context, db store.Store) (*report.Audit, *Entry, error) {
	e, err := LatestEntry(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	a, err := Load(ctx, db, e)
	if err != nil {
		return nil, nil, err
	}
	return a, e, nil
}

// LatestEntry is Latest without reading the audit's tables (cheap: a
// caller can tell from it whether the latest audit changed).
func LatestEntry(ctx context.Context, db store.Store) (*Entry, error) {
	const page = 20
	for limit := page; ; limit *= 4 {
		es, err := Recent(ctx, db, KindAudit, limit)
		if err != nil {
			return nil, err
		}
		for i := range es {
			if !es[i].Running() && !es[i].Failed() {
				return &es[i], nil
			}
		}
		if len(es) < limit {
			return nil, ErrNoAudit
		}
	}
}

// Load rebuilds the audit an entry stands for: the run's envelope, or the
// run group's shards merged.
func Load(ctx context.Context, db Reader, e *Entry) (*report.Audit, error) {
	if e.RunGroup == "" {
		return AuditOfRun(ctx, db, e.Runs[0])
	}
	parts, err := partsOf(ctx, db, e.Runs)
	if err != nil {
		return nil, err
	}
	return rungroup.Merge(parts)
}

// Key identifies the state of an entry: it changes when a run of it is
// added, retried or ends (for caching what was read from it).
func (e *Entry) Key() string {
	k := ""
	for _, r := range e.Runs {
		fin := int64(0)
		if r.FinishedAt != nil {
			fin = r.FinishedAt.UnixNano()
		}
		k += fmt.Sprintf("%d:%s:%d;", r.ID, r.Status, fin)
	}
	return k
}
