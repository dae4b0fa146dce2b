package policy

import "github.com/pitrguard/pitrguard/internal/model"

// Summary holds the run's KPIs. Field names are part of the JSON contract.
type Summary struct {
	Tables             int                     `json:"tables"`
	Compliant          int                     `json:"compliant"`
	NonCompliant       int                     `json:"non_compliant"`
	Exempt             int                     `json:"exempt"`
	Unknown            int                     `json:"unknown"`
	Skipped            int                     `json:"skipped"`
	ComplianceRate     float64                 `json:"compliance_rate"`
	ByTier             map[string]*TierSummary `json:"by_tier"`
	SnapshotGapTables  int                     `json:"snapshot_gap_tables"`
	GapMonthlyCostUSD  float64                 `json:"gap_monthly_cost_usd"`
	PITRMonthlyCostUSD float64                 `json:"pitr_monthly_cost_usd"`
	CoverageComplete   bool                    `json:"coverage_complete"`
	// AWS Backup (issue 12): tables whose tier requires backups (not
	// exempt, not skipped), those a plan covers (status COVERED), those it does not
	// (NOT_COVERED; UNKNOWN ones are in neither), and the estimated storage
	// of their recovery points per month.
	BackupRequiredTables    int     `json:"backup_required_tables"`
	BackupCoveredTables     int     `json:"backup_covered_tables"`
	BackupRequiredUncovered int     `json:"backup_required_uncovered"`
	BackupMonthlyCostUSD    float64 `json:"backup_monthly_cost_usd"`
	// Actual spend from Cost Explorer (audit --cost-explorer), for the last
	// full month (SpendMonth, e.g. 2026-10): all of DynamoDB, its PITR storage
	// and its backup storage, and (PITR + backup) ÷ DynamoDB. null when not
	// measured (no --cost-explorer, or the query failed: see errors).
	SpendMonth          string   `json:"spend_month,omitempty"`
	DynamoDBSpendUSD    *float64 `json:"dynamodb_spend_usd"`
	PITRSpendUSD        *float64 `json:"pitr_spend_usd"`
	BackupSpendUSD      *float64 `json:"backup_spend_usd"`
	ResilienceCostShare *float64 `json:"resilience_cost_share"`
}

// TierSummary is the KPI breakdown of one tier.
type TierSummary struct {
	Tables         int     `json:"tables"`
	Compliant      int     `json:"compliant"`
	NonCompliant   int     `json:"non_compliant"`
	Unknown        int     `json:"unknown"`
	ComplianceRate float64 `json:"compliance_rate"`
}

// Rate is compliant / (compliant + non_compliant + unknown); exempt and
// skipped tables are left out. With nothing to count the rate is 1.
func Rate(compliant, nonCompliant, unknown int) float64 {
	d := compliant + nonCompliant + unknown
	if d == 0 {
		return 1
	}
	return float64(compliant) / float64(d)
}

// Tally accumulates KPIs one table at a time, so results can be streamed.
type Tally struct{ s Summary }

// NewTally starts an empty tally.
func NewTally() *Tally {
	return &Tally{s: Summary{ByTier: map[string]*TierSummary{}, CoverageComplete: true}}
}

// Add counts one evaluated table; monthlyCost is its PITR cost per month.
func (k *Tally) Add(t *model.Table, r Result, monthlyCost float64) {
	s := &k.s
	s.Tables++
	ts := s.ByTier[r.Tier.Name]
	if ts == nil {
		ts = &TierSummary{}
		s.ByTier[r.Tier.Name] = ts
	}
	ts.Tables++
	switch r.Verdict {
	case model.Compliant:
		s.Compliant++
		ts.Compliant++
	case model.NonCompliant:
		s.NonCompliant++
		ts.NonCompliant++
	case model.Exempt:
		s.Exempt++
	case model.Unknown:
		s.Unknown++
		ts.Unknown++
	case model.Skipped:
		s.Skipped++
	}
	if r.Tier.IsCritical() && r.Verdict != model.Exempt && r.Verdict != model.Skipped &&
		t.PITR.Known && !t.PITR.Enabled {
		s.SnapshotGapTables++
	}
	gap, pitr := CostShares(r.Verdict, r.Reasons, t.PITR.Known && t.PITR.Enabled, monthlyCost)
	s.GapMonthlyCostUSD += gap
	s.PITRMonthlyCostUSD += pitr
	s.AddBackup(r.Verdict, r.Backup)
}

// AddBackup counts one table whose tier requires AWS Backup (b nil: it
// does not), with its status and backup cost: the one place these rules
// live (the live tally and the merge of shards use it). EXEMPT and SKIPPED
// tables keep their verdict whatever their backups: they are not counted.
func (s *Summary) AddBackup(v model.Verdict, b *BackupResult) {
	if b == nil || v == model.Exempt || v == model.Skipped {
		return
	}
	status, monthlyCost := b.Status, b.MonthlyCostUSD
	s.BackupRequiredTables++
	switch status {
	case BackupCovered:
		s.BackupCoveredTables++
	case BackupNotCovered:
		s.BackupRequiredUncovered++
	}
	s.BackupMonthlyCostUSD += monthlyCost
}

// CostShares is what one table adds to the gap cost and to the PITR cost: the
// one place these rules live (the live tally and the merge of shards use it).
// Raising a window costs nothing (price is per GB, not per day); enabling
// PITR costs the table's monthly PITR price.
func CostShares(v model.Verdict, reasons []model.Reason, pitrEnabled bool, monthlyCost float64) (gap, pitr float64) {
	if v == model.NonCompliant {
		for _, reason := range reasons {
			if reason == model.ReasonPITRDisabled {
				gap += monthlyCost
			}
		}
	}
	if pitrEnabled {
		pitr = monthlyCost
	}
	return gap, pitr
}

// Summary returns the KPIs counted so far; coverageComplete is false when an
// account or region could not be scanned.
func (k *Tally) Summary(coverageComplete bool) Summary {
	s := k.s
	s.CoverageComplete = coverageComplete
	s.ComplianceRate = Rate(s.Compliant, s.NonCompliant, s.Unknown)
	by := make(map[string]*TierSummary, len(s.ByTier))
	for name, ts := range s.ByTier {
		c := *ts
		c.ComplianceRate = Rate(c.Compliant, c.NonCompliant, c.Unknown)
		by[name] = &c
	}
	s.ByTier = by
	s.GapMonthlyCostUSD = model.RoundCents(s.GapMonthlyCostUSD)
	s.PITRMonthlyCostUSD = model.RoundCents(s.PITRMonthlyCostUSD)
	s.BackupMonthlyCostUSD = model.RoundCents(s.BackupMonthlyCostUSD)
	return s
}
