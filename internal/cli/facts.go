package cli

import (
	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

// factsOf is what the history keeps about one audited table: the versioned
// store.Facts, not the report row, so that the output format can change
// without making old history unreadable (issue 14).
func factsOf(row *audit.Row) store.Facts {
	r := &row.Result
	f := store.Facts{
		Account: r.Account, Region: r.Region, Name: r.Name, ARN: r.ARN, Status: r.Status,
		DescribeKnown: row.DescribeKnown, TagsKnown: row.TagsKnown, Tags: r.Tags,
		SizeBytes: r.SizeBytes, LSISizeBytes: r.LSISizeBytes, GSISizeBytes: r.GSISizeBytes, ItemCount: r.ItemCount,
		BillingMode: r.BillingMode, TableClass: r.TableClass, DeletionProtection: r.DeletionProtection,
		CreatedAt: row.CreatedAt,
		PITR: store.FactsPITR{Status: r.PITR.Status, RecoveryPeriodDays: r.PITR.RecoveryPeriodDays,
			EarliestRestorable: r.PITR.EarliestRestorable, LatestRestorable: r.PITR.LatestRestorable, RestorableDays: r.PITR.RestorableDays},
		Tier: r.Tier, Critical: row.Critical, Owner: r.Owner, Verdict: string(r.Verdict),
		Notes: r.Notes, PITRMonthlyCostUSD: r.PITRMonthlyCostUSD, CostEstimated: r.CostEstimated,
		Source: r.Source, SourceAgeSeconds: r.SourceAgeSeconds, SourceReason: r.SourceReason,
		Replicas: []store.FactsReplica{}, Reasons: []string{}, ReadErrors: []store.FactsError{},
	}
	for _, rp := range r.Replicas {
		f.Replicas = append(f.Replicas, store.FactsReplica{Region: rp.Region, Status: rp.Status})
	}
	if r.Stream != nil {
		f.Stream = &store.FactsStream{Enabled: r.Stream.Enabled, ViewType: r.Stream.ViewType}
	}
	for _, re := range r.Reasons {
		f.Reasons = append(f.Reasons, string(re))
	}
	for _, re := range row.ReadErrors {
		f.ReadErrors = append(f.ReadErrors, store.FactsError{Op: re.Op, Code: re.Code, Reason: string(re.Reason), Message: re.Message})
	}
	if x := r.Exemption; x != nil {
		f.Exemption = &store.FactsExemption{Pattern: x.Pattern, Reason: x.Reason, Owner: x.Owner, Expires: x.Expires, Expired: x.Expired}
	}
	return f
}

// tableResultOf rebuilds the audit's JSON row from stored facts.
func tableResultOf(f *store.Facts) report.TableResult {
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
