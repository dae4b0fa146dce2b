package audit

import (
	"context"
	"math"

	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/pricing"
)

// backupStep joins AWS Backup coverage to the verdict of the tables whose
// tier requires backups (issue 12). It is nil when no tier does, or the
// caller acts on PITR alone (Params.Backup false): such an audit makes no
// AWS Backup call at all.
type backupStep struct {
	col    *inventory.BackupCollector
	ev     *policy.Evaluator
	prices *pricing.Table
}

func newBackupStep(p Provider, prm Params, ev *policy.Evaluator) *backupStep {
	if !prm.Backup || prm.Policy == nil || !prm.Policy.RequiresBackup() {
		return nil
	}
	return &backupStep{ev: ev, prices: prm.Prices,
		col: inventory.NewBackupCollector(p, inventory.BackupOptions{Clients: prm.Clients, PointBudget: prm.BackupPointBudget})}
}

// apply reads t's AWS Backup facts when its tier requires backups and
// returns r with the backup block, reasons, cost and RPO exposure. The reads
// that failed join t's read errors, so every backup_unreadable has its
// cause in the run's errors.
func (s *backupStep) apply(ctx context.Context, t *model.Table, r policy.Result) policy.Result {
	if s == nil || !r.Tier.RequiresBackup() {
		return r
	}
	f := s.col.Facts(ctx, t, r.Tier.IsCritical())
	for _, e := range append(append(append([]model.ReadError{}, f.Region.PlanErrors...), settingsError(f.Region)...), f.Errors...) {
		e.Op = "backup:" + e.Op
		if e.Op == "backup:ListBackups" {
			e.Op = "dynamodb:ListBackups"
		}
		t.ReadErrors = append(t.ReadErrors, e)
	}
	r = s.ev.WithBackup(t, r, f)
	if b := r.Backup; b != nil && len(b.Plans) > 0 {
		rules := make([]pricing.BackupRule, 0, len(b.Plans))
		for _, p := range b.Plans {
			br := pricing.BackupRule{Schedule: p.Schedule, DeleteAfterDays: deref(p.RetentionDays), ColdAfterDays: deref(p.ColdAfterDays)}
			for _, c := range p.Copies {
				br.CopyDeleteAfterDays = append(br.CopyDeleteAfterDays, deref(c.RetentionDays))
			}
			rules = append(rules, br)
		}
		cost, est := s.prices.BackupMonthly(t.Region, t.BillableBytes(), rules, b.AdvancedFeatures != nil && *b.AdvancedFeatures)
		b.MonthlyCostUSD, b.CostEstimated = math.Round(cost*10000)/10000, est || !t.DescribeKnown
	}
	return r
}

func settingsError(rb *model.RegionBackup) []model.ReadError {
	if rb == nil || rb.SettingsError == nil {
		return nil
	}
	return []model.ReadError{*rb.SettingsError}
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
