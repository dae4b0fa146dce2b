// Package model holds pitrguard's provider-neutral facts about DynamoDB tables
// and the verdicts derived from them. SDK types never appear here: collection
// (inventory) converts AWS responses into these types, evaluation (policy)
// reads only these types, and writers (report) print them.
package model

import (
	"cmp"
	"strings"
	"time"
)

// Table is everything pitrguard knows about one DynamoDB table.
type Table struct {
	Account            string            `json:"account"`
	Region             string            `json:"region"`
	Name               string            `json:"name"`
	ARN                string            `json:"arn"`
	Status             string            `json:"status"`
	SizeBytes          int64             `json:"size_bytes"`
	LSISizeBytes       int64             `json:"lsi_size_bytes"`
	GSISizeBytes       int64             `json:"gsi_size_bytes"`
	ItemCount          int64             `json:"item_count"`
	BillingMode        string            `json:"billing_mode"`
	TableClass         string            `json:"table_class"`
	DeletionProtection bool              `json:"deletion_protection"`
	Tags               map[string]string `json:"tags"`
	Replicas           []Replica         `json:"replicas"`
	Stream             *Stream           `json:"stream,omitempty"`
	CreatedAt          *time.Time        `json:"created_at,omitempty"`
	PITR               PITR              `json:"pitr"`
	// ReadErrors lists what could not be read about the table, and why.
	ReadErrors []ReadError `json:"read_errors,omitempty"`
	// TagsKnown is false when neither the tagging API nor ListTagsOfResource
	// answered. Tags is then empty but means nothing: when the table's tier
	// (and so its verdict) depends on a tag, the verdict is UNKNOWN with
	// ReasonTagsUnreadable, never a guess from the empty set.
	TagsKnown bool `json:"-"`
	// DescribeKnown is false when DescribeTable failed.
	DescribeKnown bool `json:"-"`
	// Source is where the facts that decide the verdict come from: SourceLive
	// (read now) or SourceConfig (an AWS Config item, SourceAge old).
	// SourceReason says, in a Config-sourced audit, why a table was read live.
	Source       string        `json:"-"`
	SourceReason string        `json:"-"`
	SourceAge    time.Duration `json:"-"`
}

// Table sources (Table.Source).
const (
	SourceLive   = "live"
	SourceConfig = "config"
)

// Replica is one region of a global table.
type Replica struct {
	Region string `json:"region"`
	Status string `json:"status"`
}

// Stream is a table's stream specification.
type Stream struct {
	Enabled  bool   `json:"enabled"`
	ViewType string `json:"view_type,omitempty"`
}

// PITR is a table's point-in-time-recovery state.
type PITR struct {
	// Known is false when DescribeContinuousBackups did not answer; the verdict
	// is then UNKNOWN, never COMPLIANT or NON_COMPLIANT.
	Known              bool
	Enabled            bool
	RecoveryPeriodDays int
	EarliestRestorable *time.Time
	LatestRestorable   *time.Time
}

// StatusString is ENABLED, DISABLED or UNKNOWN.
func (p PITR) StatusString() string {
	switch {
	case !p.Known:
		return "UNKNOWN"
	case p.Enabled:
		return "ENABLED"
	default:
		return "DISABLED"
	}
}

// RestorableDays is the history that can actually be restored now (latest
// minus earliest restorable time), in days; 0 when unknown.
func (p PITR) RestorableDays() float64 {
	if !p.Known || !p.Enabled || p.EarliestRestorable == nil || p.LatestRestorable == nil {
		return 0
	}
	return p.LatestRestorable.Sub(*p.EarliestRestorable).Hours() / 24
}

// RestoreBytes is what a restore is charged on: table data, LSIs and GSIs.
func (t Table) RestoreBytes() int64 { return t.SizeBytes + t.LSISizeBytes + t.GSISizeBytes }

// BillableBytes is what PITR is charged on: table data plus LSIs (GSIs are not
// included, per the DynamoDB pricing page).
func (t Table) BillableBytes() int64 { return t.SizeBytes + t.LSISizeBytes }

// ReadError records one failed read of a table, account or region.
type ReadError struct {
	Op      string `json:"op"`
	Code    string `json:"code"`
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
}

// Gap reports whether the error is a gap in the audit's coverage: an
// account-region (or the run) whose tables were not all read, where the
// absence of a table proves nothing. Table-level errors and a failed Cost
// Explorer query (ReasonSpendUnreadable) are not gaps.
func (e ScanError) Gap() bool {
	return e.Table == "" && e.Reason != ReasonSpendUnreadable
}

// Verdict is the outcome of evaluating one table against the policy.
type Verdict string

// Live-audit verdicts.
const (
	Compliant    Verdict = "COMPLIANT"
	NonCompliant Verdict = "NON_COMPLIANT"
	Exempt       Verdict = "EXEMPT"
	Unknown      Verdict = "UNKNOWN"
	Skipped      Verdict = "SKIPPED"
)

// Reason is a stable snake_case reason code attached to a verdict.
type Reason string

// Reason codes. They are part of the JSON contract: never rename one.
const (
	ReasonPITRDisabled        Reason = "pitr_disabled"
	ReasonPeriodBelowMinimum  Reason = "recovery_period_below_minimum"
	ReasonExemptionExpired    Reason = "exemption_expired"
	ReasonAccessDenied        Reason = "access_denied"
	ReasonThrottled           Reason = "throttled"
	ReasonNotFound            Reason = "not_found"
	ReasonTableNotActive      Reason = "table_not_active"
	ReasonReadError           Reason = "read_error"
	ReasonInterrupted         Reason = "interrupted"
	ReasonAssumeRoleFailed    Reason = "assume_role_failed"
	ReasonRegionDisabled      Reason = "region_disabled"
	ReasonHistoryBelowMinimum Reason = "restorable_history_below_minimum"
	ReasonTagsUnreadable      Reason = "tags_unreadable"
	// ReasonTimeout: the calls did not answer within --request-timeout (after
	// the SDK's retries).
	ReasonTimeout Reason = "timeout"
	// AWS Backup reasons (issue 12), for tiers with a `backup:` block.
	// ReasonNoBackupPlan: no selection of any plan assigns the table.
	ReasonNoBackupPlan Reason = "no_backup_plan"
	// ReasonBackupOptInDisabled: selected by tags (or "*"), but the region's
	// AWS Backup opt-in for DynamoDB is off, so nothing is backed up.
	ReasonBackupOptInDisabled Reason = "backup_opt_in_disabled"
	// ReasonBackupRetentionBelowMinimum: no covering rule keeps recovery
	// points for min_retention_days.
	ReasonBackupRetentionBelowMinimum Reason = "backup_retention_below_minimum"
	// ReasonBackupStale: the newest restorable recovery point is older than max_age_hours.
	ReasonBackupStale Reason = "backup_stale"
	// ReasonBackupMissing: covered, but no restorable recovery point exists.
	ReasonBackupMissing Reason = "backup_missing"
	// ReasonBackupVaultUnlocked: require_vault_lock, and no covering rule's vault is locked.
	ReasonBackupVaultUnlocked Reason = "backup_vault_unlocked"
	// ReasonBackupCopyMissing: copy_to_region/copy_to_account, and no
	// covering rule copies there (or the region's advanced features, which
	// DynamoDB copies need, are off).
	ReasonBackupCopyMissing Reason = "backup_copy_missing"
	// ReasonBackupUnreadable: an AWS Backup read failed, and the tier
	// requires backups: the verdict is UNKNOWN.
	ReasonBackupUnreadable Reason = "backup_unreadable"
	// ReasonConfigNotRecorded: with audit --source config, an account-region
	// has tables but AWS Config's aggregator has no item for any of them (no
	// recorder, DynamoDB tables not recorded, or not aggregated).
	ReasonConfigNotRecorded Reason = "config_not_recorded"
	// ReasonSpendUnreadable: audit --cost-explorer could not read the spend
	// from Cost Explorer. It is an error of the run, not of an account-region:
	// every table was still read (ScanError.Gap is false).
	ReasonSpendUnreadable Reason = "spend_unreadable"
)

// ScanError is something that could not be read: an account, a region, or a
// table. Entries without a table make the run's coverage incomplete.
type ScanError struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Table   string `json:"table"`
	Code    string `json:"code"`
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
}

// Compare orders by account, then region, then name: the order of every
// list pitrguard prints.
func Compare(account1, region1, name1, account2, region2, name2 string) int {
	return cmp.Or(strings.Compare(account1, account2), strings.Compare(region1, region2), strings.Compare(name1, name2))
}

// Target is one (account, region) pair to scan.
type Target struct {
	Account string
	Region  string
}
