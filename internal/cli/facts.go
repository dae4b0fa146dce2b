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
func factsOf(e audit.Entry) store.Facts {
	t, r := e.Table, e.Result
	f := store.Facts{
		Account: r.Account, Region: r.Region, Name: r.Name, ARN: r.ARN, Status: r.Status,
		DescribeKnown: t.DescribeKnown, TagsKnown: t.TagsKnown, Tags: r.Tags,
		SizeBytes: r.SizeBytes, LSISizeBytes: r.LSISizeBytes, GSISizeBytes: r.GSISizeBytes, ItemCount: r.ItemCount,
		BillingMode: r.BillingMode, TableClass: r.TableClass, DeletionProtection: r.DeletionProtection,
		CreatedAt: t.CreatedAt,
		PITR: store.FactsPITR{Status: r.PITR.Status, RecoveryPeriodDays: r.PITR.RecoveryPeriodDays,
			EarliestRestorable: r.PITR.EarliestRestorable, LatestRestorable: r.PITR.LatestRestorable, RestorableDays: r.PITR.RestorableDays},
		Tier: r.Tier, Critical: e.Eval.Tier.IsCritical(), Owner: r.Owner, Verdict: string(r.Verdict),
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
	for _, re := range t.ReadErrors {
		f.ReadErrors = append(f.ReadErrors, store.FactsError{Op: re.Op, Code: re.Code, Reason: string(re.Reason), Message: re.Message})
	}
	if x := r.Exemption; x != nil {
		f.Exemption = &store.FactsExemption{Pattern: x.Pattern, Reason: x.Reason, Owner: x.Owner, Expires: x.Expires, Expired: x.Expired}
	}
	f.Backup, f.RPOExposureHours = factsBackupOf(r.Backup), r.RPOExposureHours
	return f
}

// factsBackupOf is the stored form of a table's backup block (nil: none).
func factsBackupOf(b *policy.BackupResult) *store.FactsBackup {
	if b == nil {
		return nil
	}
	f := &store.FactsBackup{Status: b.Status, LastRecoveryPoint: b.LastRecoveryPoint, AgeHours: b.AgeHours, PointStatusChecked: b.PointStatusChecked,
		OptIn: b.OptIn, AdvancedFeatures: b.AdvancedFeatures, OnDemandLatest: b.OnDemandLatest, MonthlyCostUSD: b.MonthlyCostUSD,
		CostEstimated: b.CostEstimated, Excluded: b.Excluded, Notes: b.Notes, Plans: []store.FactsBackupPlan{}}
	for _, p := range b.Plans {
		fp := store.FactsBackupPlan{Plan: p.Plan, PlanID: p.PlanID, Selection: p.Selection, Rule: p.Rule, Schedule: p.Schedule,
			RetentionDays: p.RetentionDays, ColdAfterDays: p.ColdAfterDays, Vault: p.Vault, VaultLocked: p.VaultLocked, Copies: []store.FactsBackupCopy{}}
		for _, c := range p.Copies {
			fp.Copies = append(fp.Copies, store.FactsBackupCopy(c))
		}
		f.Plans = append(f.Plans, fp)
	}
	return f
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
	r.Backup, r.RPOExposureHours = backupResultOf(f.Backup), f.RPOExposureHours
	return r
}
