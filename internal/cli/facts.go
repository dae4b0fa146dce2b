package cli

import (
	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/policy"
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
