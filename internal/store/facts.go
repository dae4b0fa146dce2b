package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// FactsVersion is the version of Facts written today. The stored schema is
// owned here, not by the audit's JSON output: restoring a deleted table reads
// facts recorded months earlier, so the output format may change without
// making old history unreadable. Change Facts only by adding fields; bump
// the version (and teach DecodeFacts the old one) for anything else.
const FactsVersion = 1

// Facts is what the history keeps about one table as one audit saw it: the
// settings a restore has to put back, and the evaluation, so that the
// shards of a run group can be printed as one audit.
type Facts struct {
	// Version is FactsVersion when written; 0 for rows written before facts
	// were versioned (the audit's JSON row of the time).
	Version int `json:"facts_version"`

	Account string `json:"account"`
	Region  string `json:"region"`
	Name    string `json:"name"`
	ARN     string `json:"arn"`
	Status  string `json:"status"`
	// DescribeKnown is false when DescribeTable failed: the settings below
	// that come from it (size, class, billing, deletion protection, stream,
	// replicas) are then not facts.
	DescribeKnown bool `json:"describe_known"`
	// TagsKnown is false when the tags could not be read.
	TagsKnown bool              `json:"tags_known"`
	Tags      map[string]string `json:"tags"`

	SizeBytes          int64          `json:"size_bytes"`
	LSISizeBytes       int64          `json:"lsi_size_bytes"`
	GSISizeBytes       int64          `json:"gsi_size_bytes"`
	ItemCount          int64          `json:"item_count"`
	BillingMode        string         `json:"billing_mode"`
	TableClass         string         `json:"table_class"`
	DeletionProtection bool           `json:"deletion_protection"`
	Replicas           []FactsReplica `json:"replicas"`
	Stream             *FactsStream   `json:"stream,omitempty"`
	CreatedAt          *time.Time     `json:"created_at,omitempty"`
	PITR               FactsPITR      `json:"pitr"`
	ReadErrors         []FactsError   `json:"read_errors"`

	// The evaluation at the time.
	Tier               string          `json:"tier"`
	Critical           bool            `json:"critical"`
	Owner              string          `json:"owner"`
	Verdict            string          `json:"verdict"`
	Reasons            []string        `json:"reasons"`
	Notes              []string        `json:"notes"`
	Exemption          *FactsExemption `json:"exemption"`
	PITRMonthlyCostUSD float64         `json:"pitr_monthly_cost_usd"`
	CostEstimated      bool            `json:"cost_estimated"`
	// What decided the verdict (audit --source config): "live" or "config",
	// how old those facts were, and why a table was read live. Absent in
	// rows written before the Config fast path, which were all live.
	Source           string  `json:"source,omitempty"`
	SourceAgeSeconds float64 `json:"source_age_seconds,omitempty"`
	SourceReason     string  `json:"source_reason,omitempty"`
	// Backup is the table's AWS Backup coverage when its tier required it
	// (issue 12; absent otherwise, and in rows written before it).
	Backup *FactsBackup `json:"backup,omitempty"`
	// RPOExposureHours is the hours since the newest restorable point known.
	RPOExposureHours *float64 `json:"rpo_exposure_hours,omitempty"`
}

// FactsBackup is a table's AWS Backup coverage as the audit judged it.
type FactsBackup struct {
	Status             string            `json:"status"`
	Plans              []FactsBackupPlan `json:"plans"`
	LastRecoveryPoint  *time.Time        `json:"last_recovery_point"`
	AgeHours           *float64          `json:"age_hours"`
	PointStatusChecked bool              `json:"point_status_checked"`
	OptIn              *bool             `json:"opt_in"`
	AdvancedFeatures   *bool             `json:"advanced_features"`
	OnDemandLatest     *time.Time        `json:"on_demand_latest"`
	MonthlyCostUSD     float64           `json:"monthly_cost_usd"`
	CostEstimated      bool              `json:"cost_estimated"`
	Excluded           []string          `json:"excluded"`
	Notes              []string          `json:"notes"`
}

// FactsBackupPlan is one rule that backed the table up.
type FactsBackupPlan struct {
	Plan          string            `json:"plan"`
	PlanID        string            `json:"plan_id"`
	Selection     string            `json:"selection"`
	Rule          string            `json:"rule"`
	Schedule      string            `json:"schedule"`
	RetentionDays *int              `json:"retention_days"`
	ColdAfterDays *int              `json:"cold_after_days"`
	Vault         string            `json:"vault"`
	VaultLocked   *bool             `json:"vault_locked"`
	Copies        []FactsBackupCopy `json:"copies"`
}

// FactsBackupCopy is a rule's copy action.
type FactsBackupCopy struct {
	VaultARN      string `json:"vault_arn"`
	Region        string `json:"region"`
	Account       string `json:"account"`
	RetentionDays *int   `json:"retention_days"`
}

// FactsPITR is a table's point-in-time recovery as read. Status is ENABLED,
// DISABLED or UNKNOWN (not read).
type FactsPITR struct {
	Status             string     `json:"status"`
	RecoveryPeriodDays *int       `json:"recovery_period_days"`
	EarliestRestorable *time.Time `json:"earliest_restorable"`
	LatestRestorable   *time.Time `json:"latest_restorable"`
	RestorableDays     *float64   `json:"restorable_days"`
}

// FactsReplica is one region of a global table.
type FactsReplica struct {
	Region string `json:"region"`
	Status string `json:"status"`
}

// FactsStream is a table's stream specification.
type FactsStream struct {
	Enabled  bool   `json:"enabled"`
	ViewType string `json:"view_type,omitempty"`
}

// FactsError is something that could not be read about the table.
type FactsError struct {
	Op      string `json:"op"`
	Code    string `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// FactsExemption is the exemption that applied.
type FactsExemption struct {
	Pattern string `json:"table"`
	Reason  string `json:"reason"`
	Owner   string `json:"owner"`
	Expires string `json:"expires,omitempty"`
	Expired bool   `json:"expired"`
}

// Encode returns the record's JSON and its version, for TableRecord.Facts.
func (f Facts) Encode() (json.RawMessage, int, error) {
	f.Version = FactsVersion
	b, err := json.Marshal(f)
	return b, FactsVersion, err
}

// DecodeFacts reads a table's stored facts, whatever version wrote them.
// Version 0 rows (the audit's JSON row, written before facts were versioned)
// carry no "known" flags: the settings are taken as read unless the row says
// otherwise (status UNKNOWN means DescribeTable failed).
func DecodeFacts(raw json.RawMessage) (*Facts, error) {
	var probe struct {
		Version int `json:"facts_version"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("read the stored facts: %w", err)
	}
	var f Facts
	switch probe.Version {
	case 0:
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("read the stored facts (unversioned): %w", err)
		}
		f.Version = 0
		f.DescribeKnown = f.Status != "" && f.Status != "UNKNOWN"
		f.TagsKnown = true
	case 1:
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("read the stored facts (version 1): %w", err)
		}
	default:
		return nil, fmt.Errorf("the stored facts have version %d, newer than this pitrguard understands (%d); upgrade pitrguard", probe.Version, FactsVersion)
	}
	if f.Tags == nil {
		f.Tags = map[string]string{}
	}
	return &f, nil
}

// Snapshot decodes the record's facts.
func (r *TableRecord) Snapshot() (*Facts, error) { return DecodeFacts(r.Facts) }
