package rungroup

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

// Reader is the part of the history database that rebuilds audits: the
// runs of a run group and the tables of a run.
type Reader interface {
	RunGroup(ctx context.Context, group string) ([]store.Run, error)
	Tables(ctx context.Context, runID int64) ([]store.TableRecord, error)
}

var _ Reader = store.Store(nil)

// Parts rebuilds each shard's report from the history: for every
// shard index the newest completed run (a retried pod records a second run
// with the same index), else the newest run at all.
func Parts(ctx context.Context, db Reader, group string) ([]Part, error) {
	runs, err := db.RunGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	best := map[int]store.Run{}
	for _, r := range runs { // oldest first
		prev, ok := best[r.Shard]
		if !ok || r.Status == store.StatusCompleted || prev.Status != store.StatusCompleted {
			best[r.Shard] = r
		}
	}
	var parts []Part
	for _, k := range slices.Sorted(maps.Keys(best)) {
		r := best[k]
		a, err := AuditOfRun(ctx, db, r)
		if err != nil {
			return nil, err
		}
		parts = append(parts, Part{Source: fmt.Sprintf("run %d", r.ID), Audit: a, Status: r.Status})
	}
	return parts, nil
}

// AuditOfRun rebuilds the audit envelope of one recorded run from the
// history: its stored summary, errors and run information, and its tables.
func AuditOfRun(ctx context.Context, db Reader, r store.Run) (*report.Audit, error) {
	a := &report.Audit{SchemaVersion: report.SchemaVersion, GeneratedAt: GeneratedAt(r.StartedAt),
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
	return r
}
