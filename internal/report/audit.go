// Package report turns audit results into output. Audit is the versioned JSON
// envelope (schema_version 1: tables, errors, summary, run with its status);
// NewTableResult combines a table's facts with its evaluation and cost. There
// is one writer per audit format — WriteAuditTable, WriteAuditJSON,
// WriteAuditCSV — each reading the tables one at a time through
// Audit.EachTable (a streamed audit's tables are on disk, Audit.Stream, not in
// Audit.Tables) — plus the human summary and errors for
// stderr (WriteAuditSummary, WriteAuditErrors). Table is the shared
// terminal/TSV printer: aligned by visible width (ANSI colours do not shift
// columns) and fitted to the terminal's width on request. Writers take an
// io.Writer; choosing the file (and writing it atomically) is the caller's job.
package report

import (
	"math"
	"slices"
	"time"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
)

// SchemaVersion of the JSON envelopes.
const SchemaVersion = 1

// Audit is the result of one audit run (the JSON envelope).
type Audit struct {
	SchemaVersion int               `json:"schema_version"`
	GeneratedAt   time.Time         `json:"generated_at"`
	Tables        []TableResult     `json:"tables"`
	Errors        []model.ScanError `json:"errors"`
	Summary       policy.Summary    `json:"summary"`
	Run           RunInfo           `json:"run"`
	// Stream, when set, yields the tables instead of Tables (which is then
	// nil): a streamed audit keeps them on disk, not in memory. Writers read
	// the tables through EachTable, never Tables directly.
	Stream TableSource `json:"-"`
}

// TableSource calls fn for each table of an audit in report order, one at a
// time, and stops at fn's first error. It can be called more than once (the
// aligned table reads the rows twice: widths, then rows).
type TableSource func(fn func(*TableResult) error) error

// EachTable calls fn for each table in report order: from Stream when it is
// set, else from Tables. It stops at fn's first error.
func (a *Audit) EachTable(fn func(*TableResult) error) error {
	if a.Stream != nil {
		return a.Stream(fn)
	}
	for i := range a.Tables {
		if err := fn(&a.Tables[i]); err != nil {
			return err
		}
	}
	return nil
}

// RunInfo describes how the run went.
type RunInfo struct {
	ID int64 `json:"id,omitempty"`
	// Status is "completed" or "interrupted" (the run ended before every
	// table was read; coverage_complete is then false).
	Status          string           `json:"status"`
	Caller          string           `json:"caller"`
	Policy          string           `json:"policy"`
	Prices          string           `json:"prices"`
	Accounts        int              `json:"accounts"`
	Targets         int              `json:"account_regions"`
	DurationSeconds float64          `json:"duration_seconds"`
	APICalls        map[string]int64 `json:"api_calls"`
	Throttles       int64            `json:"throttles"`
	// RunGroup, Shard and Shards are set on a sharded audit (K of N, 1-based)
	// and on the merged view of its shards (Shard 0).
	RunGroup string `json:"run_group,omitempty"`
	Shard    int    `json:"shard,omitempty"`
	Shards   int    `json:"shards,omitempty"`
}

// TableResult is one table in the audit output.
type TableResult struct {
	Account            string                   `json:"account"`
	Region             string                   `json:"region"`
	Name               string                   `json:"name"`
	ARN                string                   `json:"arn"`
	Status             string                   `json:"status"`
	Tier               string                   `json:"tier"`
	Owner              string                   `json:"owner"`
	Tags               map[string]string        `json:"tags"`
	SizeBytes          int64                    `json:"size_bytes"`
	LSISizeBytes       int64                    `json:"lsi_size_bytes"`
	GSISizeBytes       int64                    `json:"gsi_size_bytes"`
	ItemCount          int64                    `json:"item_count"`
	BillingMode        string                   `json:"billing_mode"`
	TableClass         string                   `json:"table_class"`
	DeletionProtection bool                     `json:"deletion_protection"`
	Replicas           []model.Replica          `json:"replicas"`
	Stream             *model.Stream            `json:"stream,omitempty"`
	PITR               PITRResult               `json:"pitr"`
	Verdict            model.Verdict            `json:"verdict"`
	Reasons            []model.Reason           `json:"reasons"`
	Notes              []string                 `json:"notes"`
	Exemption          *policy.AppliedExemption `json:"exemption"`
	PITRMonthlyCostUSD float64                  `json:"pitr_monthly_cost_usd"`
	CostEstimated      bool                     `json:"cost_estimated"`
	// Backup is the table's AWS Backup coverage; null when its tier asks
	// for no backups (issue 12).
	Backup *policy.BackupResult `json:"backup"`
	// RPOExposureHours is the hours since the newest restorable point known
	// (PITR, AWS Backup, on-demand backup); null when none is known.
	RPOExposureHours *float64 `json:"rpo_exposure_hours"`
	// Source is what decided the verdict: "live" (read from DynamoDB by this
	// run) or "config" (an AWS Config item, with audit --source config);
	// SourceAgeSeconds is how old those facts were (0 for live). SourceReason
	// says, with --source config, why a table was read live.
	Source           string  `json:"source"`
	SourceAgeSeconds float64 `json:"source_age_seconds"`
	SourceReason     string  `json:"source_reason,omitempty"`
}

// PITRResult is a table's PITR state in the output.
type PITRResult struct {
	Status             string     `json:"status"`
	RecoveryPeriodDays *int       `json:"recovery_period_days"`
	EarliestRestorable *time.Time `json:"earliest_restorable"`
	LatestRestorable   *time.Time `json:"latest_restorable"`
	RestorableDays     *float64   `json:"restorable_days"`
}

// NewTableResult combines a table's facts with its evaluation and cost.
func NewTableResult(t *model.Table, r policy.Result, cost float64, estimated bool) TableResult {
	tr := TableResult{
		Account: t.Account, Region: t.Region, Name: t.Name, ARN: t.ARN, Status: t.Status,
		Tier: r.Tier.Name, Owner: r.Owner, Tags: t.Tags,
		SizeBytes: t.SizeBytes, LSISizeBytes: t.LSISizeBytes, GSISizeBytes: t.GSISizeBytes, ItemCount: t.ItemCount,
		BillingMode: t.BillingMode, TableClass: t.TableClass, DeletionProtection: t.DeletionProtection,
		Replicas: t.Replicas, Stream: t.Stream,
		PITR:    PITRResult{Status: t.PITR.StatusString()},
		Verdict: r.Verdict, Reasons: r.Reasons, Notes: r.Notes, Exemption: r.Exemption,
		PITRMonthlyCostUSD: math.Round(cost*10000) / 10000, CostEstimated: estimated,
		Backup: r.Backup, RPOExposureHours: r.RPOExposureHours,
	}
	if tr.Status == "" {
		tr.Status = "UNKNOWN"
	}
	tr.Source, tr.SourceReason, tr.SourceAgeSeconds = t.Source, t.SourceReason, math.Round(t.SourceAge.Seconds())
	if tr.Source == "" {
		tr.Source = model.SourceLive
	}
	if tr.Tags == nil {
		tr.Tags = map[string]string{}
	}
	if tr.Replicas == nil {
		tr.Replicas = []model.Replica{}
	}
	if tr.Reasons == nil {
		tr.Reasons = []model.Reason{}
	}
	if tr.Notes == nil {
		tr.Notes = []string{}
	}
	if t.PITR.Known && t.PITR.Enabled && t.Source != model.SourceConfig { // Config does not record the window
		d := t.PITR.RecoveryPeriodDays
		tr.PITR.RecoveryPeriodDays = &d
		tr.PITR.EarliestRestorable = t.PITR.EarliestRestorable
		tr.PITR.LatestRestorable = t.PITR.LatestRestorable
		if t.PITR.EarliestRestorable != nil && t.PITR.LatestRestorable != nil {
			rd := math.Round(t.PITR.RestorableDays()*100) / 100
			tr.PITR.RestorableDays = &rd
		}
	}
	return tr
}

// SortTables orders results by account, region, name.
func SortTables(ts []TableResult) {
	slices.SortFunc(ts, func(a, b TableResult) int {
		return model.Compare(a.Account, a.Region, a.Name, b.Account, b.Region, b.Name)
	})
}
