package restore

import (
	"time"
)

// Mode is what Run does.
type Mode int

// Modes of a restore.
const (
	ToTime        Mode = iota // restore to Options.At
	Latest                    // restore to the latest restorable time
	Deleted                   // restore a deleted table from its SYSTEM backup
	ReconcileOnly             // only reconcile an already restored Options.Target
)

// Options say what to restore and how. The CLI fills and validates them.
type Options struct {
	Partition, Account, Region, Table string // the source
	Mode                              Mode
	At                                time.Time // with ToTime, UTC
	Target                            string    // "" = <table>-restored-<point>
	TargetRegion                      string    // "" = Region
	BillingMode                       string
	WithoutIndexes                    bool
	Indexes                           []string
	KMSKey                            string
	Wait, Poll                        time.Duration
	NoReconcile                       bool
	// ReplaceTargetSettings lets reconciliation lower the target's PITR
	// window and replace its own resource policy (never needed on a fresh
	// restore, whose table has neither).
	ReplaceTargetSettings bool
	// Caller and Args are recorded with the run.
	Caller, Args string
}

func (o Options) targetRegion() string {
	if o.TargetRegion != "" {
		return o.TargetRegion
	}
	return o.Region
}

func (o Options) sourceARN() string {
	return tableARN(o.Partition, o.Region, o.Account, o.Table)
}

func tableARN(partition, region, account, name string) string {
	if partition == "" {
		partition = "aws"
	}
	return "arn:" + partition + ":dynamodb:" + region + ":" + account + ":table/" + name
}

// Result is the JSON document of `pitrguard restore` (schema_version 1).
type Result struct {
	SchemaVersion   int         `json:"schema_version"`
	Source          Source      `json:"source"`
	Target          TargetInfo  `json:"target"`
	RestorePoint    *time.Time  `json:"restore_point"`
	RequestedAt     *time.Time  `json:"requested_at"`
	ActiveAt        *time.Time  `json:"active_at"`
	DurationSeconds float64     `json:"duration_seconds"`
	Status          string      `json:"status"` // active, restoring (timed out), reconciled_only
	CostEstimateUSD float64     `json:"cost_estimate_usd"`
	RestoredBytes   int64       `json:"restored_bytes"`
	Backup          *BackupInfo `json:"backup,omitempty"`
	SettingsFrom    string      `json:"settings_from"`
	Reconciled      []Item      `json:"reconciled"`
	ManualActions   []string    `json:"manual_actions"`
}

// Source identifies the source table.
type Source struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Table   string `json:"table"`
	ARN     string `json:"arn"`
}

// TargetInfo identifies the restored table.
type TargetInfo struct {
	Table  string `json:"table"`
	ARN    string `json:"arn"`
	Region string `json:"region"`
}

// BackupInfo describes the deleted-table backup restored from.
type BackupInfo struct {
	ARN     string     `json:"arn"`
	Name    string     `json:"name"`
	Created *time.Time `json:"created"`
	Expires *time.Time `json:"expires"`
}

// Statuses of a Result.
const (
	StatusActive         = "active"
	StatusRestoring      = "restoring"
	StatusReconciledOnly = "reconciled_only"
)

// incomplete says whether a person must act on a setting: one failed, or
// could not be read from the source (README "Exit codes": exit 1).
func (r *Result) incomplete() []string {
	var out []string
	for _, it := range r.Reconciled {
		if it.Status == Failed || it.unread {
			out = append(out, it.Setting)
		}
	}
	return out
}
