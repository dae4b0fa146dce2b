package evidence

import (
	"time"

	"github.com/pitrguard/pitrguard/internal/guardrails/check"
	"github.com/pitrguard/pitrguard/internal/store"
	"github.com/pitrguard/pitrguard/internal/trend"
)

// SchemaVersion is the version of the report's JSON form.
const SchemaVersion = 1

// NotMeasured starts the note of a section that has no data.
const NotMeasured = "not measured yet"

// Report is the evidence report: the data of every format (JSON, HTML,
// Markdown). Field names are part of the JSON contract.
type Report struct {
	SchemaVersion int        `json:"schema_version"`
	Title         string     `json:"title"`
	GeneratedAt   time.Time  `json:"generated_at"`
	Period        Period     `json:"period"`
	Scope         Scope      `json:"scope"`
	KPIs          KPIs       `json:"kpis"`
	Trend         Trend      `json:"trend"`
	Findings      Findings   `json:"findings"`
	Exceptions    Exceptions `json:"exceptions"`
	Drills        Drills     `json:"drills"`
	Changes       Changes    `json:"changes"`
	Guardrails    Guardrails `json:"guardrails"`
	Backup        Backup     `json:"backup"`
	Controls      Controls   `json:"controls"`
	Integrity     Integrity  `json:"integrity"`
}

// Period is the time the report covers: [From, To].
type Period struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Since string    `json:"since"`
}

// Status says whether a section has data. A section without any says
// "not measured yet" in Note, with how to measure it, and has no figures.
type Status struct {
	Measured bool   `json:"measured"`
	Note     string `json:"note"`
}

func measured(note string) Status { return Status{Measured: true, Note: note} }

func notMeasured(how string) Status { return Status{Note: NotMeasured + ": " + how} }

// AuditRef names the audit a section's figures come from.
type AuditRef struct {
	At       time.Time `json:"at"`
	RunIDs   []int64   `json:"run_ids"`
	RunGroup string    `json:"run_group,omitempty"`
}

// Scope is section 1: what was audited, and what could not be.
type Scope struct {
	Status
	Policy      string    `json:"policy"`
	LatestAudit *AuditRef `json:"latest_audit"`
	// Accounts and Regions are those where the latest audit found tables.
	Accounts []string `json:"accounts"`
	Regions  []string `json:"regions"`
	// AccountsScanned and AccountRegions count what the latest audit read.
	AccountsScanned  int  `json:"accounts_scanned"`
	AccountRegions   int  `json:"account_regions"`
	Tables           int  `json:"tables"`
	CoverageComplete bool `json:"coverage_complete"`
	// Gaps are the account-regions (or the run) the latest audit could not read, and why.
	Gaps []Gap `json:"gaps"`
	// Audits counts the audits of the period (a run group is one); Runs
	// counts the recorded runs of each kind.
	Audits int            `json:"audits"`
	Runs   map[string]int `json:"runs"`
}

// Gap is something an audit could not read.
type Gap struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Code    string `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// KPIs is section 2: the figures now (the latest audit of the period).
type KPIs struct {
	Status
	Audit *AuditRef `json:"audit"`
	// ComplianceRate is the latest audit's summary.compliance_rate.
	ComplianceRate     *float64   `json:"compliance_rate"`
	Tables             *int       `json:"tables"`
	OpenFindings       *int       `json:"open_findings"`
	SnapshotGapTables  *int       `json:"snapshot_gap_tables"`
	PITRMonthlyCostUSD *float64   `json:"pitr_monthly_cost_usd"`
	GapMonthlyCostUSD  *float64   `json:"gap_monthly_cost_usd"`
	ByTier             []TierRate `json:"by_tier"`
	// BackupMonthlyCostUSD is the AWS Backup estimate the audit recorded
	// (null when the audit did not estimate it).
	BackupMonthlyCostUSD *float64 `json:"backup_monthly_cost_usd"`
	MTTR                 MTTR     `json:"mttr"`
	Spend                Spend    `json:"spend"`
}

// TierRate is one tier's figures in the latest audit.
type TierRate struct {
	Tier           string  `json:"tier"`
	Tables         int     `json:"tables"`
	Compliant      int     `json:"compliant"`
	NonCompliant   int     `json:"non_compliant"`
	Unknown        int     `json:"unknown"`
	ComplianceRate float64 `json:"compliance_rate"`
}

// MTTR is the time to recover measured by the drills of the period that
// passed: restore_seconds (restore requested → restored table active).
type MTTR struct {
	Status
	Drills        int      `json:"drills"`
	MedianSeconds *float64 `json:"median_seconds"`
	P90Seconds    *float64 `json:"p90_seconds"`
}

// Spend is the actual spend the latest audit read from Cost Explorer.
type Spend struct {
	Status
	// Audit is the audit that read it: the newest of the period that did.
	Audit               *AuditRef `json:"audit,omitempty"`
	Month               string    `json:"month,omitempty"`
	DynamoDBSpendUSD    *float64  `json:"dynamodb_spend_usd"`
	PITRSpendUSD        *float64  `json:"pitr_spend_usd"`
	BackupSpendUSD      *float64  `json:"backup_spend_usd"`
	ResilienceCostShare *float64  `json:"resilience_cost_share"`
}

// Trend is section 2's chart data: one point per audit of the period.
type Trend struct {
	Status
	Points []trend.Point `json:"points"`
}

// Findings is section 3: the tables open (NON_COMPLIANT or UNKNOWN) in the
// latest audit, by owner and account, with how long each has been open.
type Findings struct {
	Status
	Tables    []Finding   `json:"tables"`
	ByOwner   []OpenCount `json:"by_owner"`
	ByAccount []OpenCount `json:"by_account"`
}

// Finding is one open table.
type Finding struct {
	Owner   string   `json:"owner"`
	Account string   `json:"account"`
	Region  string   `json:"region"`
	Table   string   `json:"table"`
	Tier    string   `json:"tier"`
	Verdict string   `json:"verdict"`
	Reasons []string `json:"reasons"`
	// OpenSince is the first audit of the unbroken run of audits, up to the
	// latest, that found the table open; DaysOpen counts whole days from it
	// to the latest audit. SincePeriodStart is true when the run begins at
	// the period's first audit (it may have been open before).
	OpenSince        time.Time `json:"open_since"`
	DaysOpen         int       `json:"days_open"`
	SincePeriodStart bool      `json:"since_period_start"`
}

// OpenCount counts open tables of one owner or account.
type OpenCount struct {
	Key          string `json:"key"`
	NonCompliant int    `json:"non_compliant"`
	Unknown      int    `json:"unknown"`
}

// Exceptions is section 4: the exemptions register.
type Exceptions struct {
	Status
	Policy     string      `json:"policy"`
	Exemptions []Exemption `json:"exemptions"`
	Expired    int         `json:"expired"`
	ExemptNow  int         `json:"exempt_tables"`
}

// Exemption is one exemption of the policy (or one the latest audit applied
// that the policy no longer has: InPolicy false).
type Exemption struct {
	Table   string `json:"table"`
	Reason  string `json:"reason"`
	Owner   string `json:"owner"`
	Expires string `json:"expires"`
	Expired bool   `json:"expired"`
	// DaysLeft is the whole days until it expires (negative: since it
	// expired); null without an expiry.
	DaysLeft *int `json:"days_left"`
	InPolicy bool `json:"in_policy"`
	// Tables are those the latest audit matched to it ("account/region/table").
	Tables []string `json:"tables"`
}

// Drills is section 5: the restore drills of the period.
type Drills struct {
	Status
	Drills       []Drill    `json:"drills"`
	Passed       int        `json:"passed"`
	Failed       int        `json:"failed"`
	NeverDrilled []TableRef `json:"never_drilled"`
}

// Drill is one recorded drill with its checks and timings.
type Drill struct {
	ID             int64      `json:"id"`
	RunID          int64      `json:"run_id"`
	StartedAt      time.Time  `json:"started_at"`
	Account        string     `json:"account"`
	Region         string     `json:"region"`
	Table          string     `json:"table"`
	ScratchTable   string     `json:"scratch_table"`
	RestorePoint   *time.Time `json:"restore_point"`
	RestoreSeconds float64    `json:"restore_seconds"`
	TotalSeconds   float64    `json:"total_seconds"`
	SizeBytes      int64      `json:"size_bytes"`
	Result         string     `json:"result"`
	Cleanup        string     `json:"cleanup"`
	Checks         []Check    `json:"checks"`
}

// Check is one validation of a drill.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// TableRef names a table.
type TableRef struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Table   string `json:"table"`
	Tier    string `json:"tier"`
}

// Changes is section 6: what was changed in the period, and by whom.
type Changes struct {
	Status
	Journal      []store.JournalEntry `json:"journal"`
	EventActions []store.EventAction  `json:"event_actions"`
	Restores     []Restore            `json:"restores"`
	// Runs counts the enable and restore runs of the period.
	Runs map[string]int `json:"runs"`
}

// Restore is one restore run.
type Restore struct {
	RunID           int64      `json:"run_id"`
	At              time.Time  `json:"at"`
	Caller          string     `json:"caller"`
	Status          string     `json:"status"`
	Source          string     `json:"source"`
	Target          string     `json:"target"`
	RestorePoint    *time.Time `json:"restore_point"`
	DurationSeconds float64    `json:"duration_seconds"`
}

// Guardrails is section 7a: the newest guardrails check of the period.
type Guardrails struct {
	Status
	RunID    int64                     `json:"run_id,omitempty"`
	At       *time.Time                `json:"at"`
	Summary  *check.Summary            `json:"summary"`
	Accounts []GuardrailRow            `json:"accounts"`
	ByLayer  map[string]map[string]int `json:"by_layer"`
}

// GuardrailRow is one account's guardrail layers.
type GuardrailRow struct {
	Account    string `json:"account"`
	Management bool   `json:"management"`
	Prevent    string `json:"prevent"`
	Detect     string `json:"detect"`
	Correct    string `json:"correct"`
	Trail      string `json:"trail"`
}

// Backup is section 7b: AWS Backup coverage as the latest audit recorded it.
type Backup struct {
	Status
	Audit             *AuditRef `json:"audit"`
	RequiredTables    *int      `json:"backup_required_tables"`
	CoveredTables     *int      `json:"backup_covered_tables"`
	RequiredUncovered *int      `json:"backup_required_uncovered"`
	MonthlyCostUSD    *float64  `json:"backup_monthly_cost_usd"`
}

// Controls is section 8: which sections evidence which control.
type Controls struct {
	Status
	Rows []Control `json:"rows"`
}

// Control is one control of a framework and the sections that evidence it.
type Control struct {
	Framework string   `json:"framework"`
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Shows     string   `json:"shows"`
	Sections  []string `json:"sections"`
	// Measured lists those of Sections that hold data in this report.
	Measured []string `json:"measured"`
}

// Integrity is section 9.
type Integrity struct {
	Algorithm string `json:"algorithm"`
	// Covers says what the hash is of.
	Covers string `json:"covers"`
	SHA256 string `json:"sha256"`
	// RunIDs are every recorded run the report was built from.
	RunIDs []int64 `json:"run_ids"`
}
