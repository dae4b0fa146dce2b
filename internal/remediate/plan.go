// Package remediate enables PITR with the right recovery window. Run is the
// whole `pitrguard enable`: it selects tables from an audit (package
// selection, shared with the drill), plans, confirms and applies. NewPlan is
// a pure function of the selected audit entries and options; Apply re-checks
// each table, calls UpdateContinuousBackups, waits out the new-table race and
// reads the result back. LoadPlan reads a saved plan and refuses one whose
// actions do not agree with themselves. It never disables PITR and never
// lowers a window unless told to. The AWS calls go through TableWriter, so
// unit tests use in-memory fakes.
package remediate

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
)

// Action kinds.
const (
	EnablePITR          = "enable_pitr"
	RaiseRecoveryPeriod = "raise_recovery_period"
)

// Results of an action.
const (
	Planned          = "planned"
	Applied          = "applied"
	AlreadyCompliant = "already_compliant"
	Pending          = "pending"
	Failed           = "failed"
	NotStarted       = "not_started" // interrupted before the action ran
)

// CloudFormationStackTag marks tables managed by a CloudFormation stack.
const CloudFormationStackTag = "aws:cloudformation:stack-name"

// Action is one change to one table. Field names are part of the JSON contract.
type Action struct {
	Account        string  `json:"account"`
	Region         string  `json:"region"`
	Table          string  `json:"table"`
	ARN            string  `json:"arn"`
	Tier           string  `json:"tier"`
	Owner          string  `json:"owner"`
	Action         string  `json:"action"`
	FromDays       *int    `json:"from_days"`
	ToDays         int     `json:"to_days"`
	MonthlyCostUSD float64 `json:"monthly_cost_usd"`
	Result         string  `json:"result"`
	Error          string  `json:"error"`
	Warning        string  `json:"warning,omitempty"`
	// Decrease is true when the action lowers an existing window (only with --allow-decrease).
	Decrease bool `json:"decrease,omitempty"`
}

// Summary counts actions by result.
type Summary struct {
	Planned          int     `json:"planned"`
	Applied          int     `json:"applied"`
	AlreadyCompliant int     `json:"already_compliant"`
	Pending          int     `json:"pending"`
	Failed           int     `json:"failed"`
	NotStarted       int     `json:"not_started"`
	MonthlyCostUSD   float64 `json:"monthly_cost_usd"`
}

// Plan is the JSON document of `pitrguard enable` (mode plan or apply).
type Plan struct {
	SchemaVersion int       `json:"schema_version"`
	Mode          string    `json:"mode"`
	GeneratedAt   time.Time `json:"generated_at"`
	Caller        string    `json:"caller,omitempty"`
	Policy        string    `json:"policy,omitempty"`
	Actions       []Action  `json:"actions"`
	Summary       Summary   `json:"summary"`
	// Skipped lists tables that matched the filters but cannot be planned (UNKNOWN, or a refused decrease).
	Skipped  []SkippedTable `json:"skipped"`
	Warnings []string       `json:"warnings"`
	// Errors are the account-regions and tables the audit could not read.
	Errors []model.ScanError `json:"errors"`
	// CoverageComplete is false when an account or region could not be
	// scanned: its tables are not in the plan.
	CoverageComplete bool `json:"coverage_complete"`
	// Unmatched lists selector values that matched no table.
	Unmatched []string `json:"unmatched"`
}

// SkippedTable is a table left out of the plan, and why.
type SkippedTable struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Table   string `json:"table"`
	Reason  string `json:"reason"`
}

// Options shape a plan.
type Options struct {
	// RecoveryDays overrides the target window (0: the tier's minimum, else 35).
	RecoveryDays int
	// AllowDecrease permits a target window below the current one.
	AllowDecrease bool
}

// TargetDays is the window an action sets for a table of tier.
func (o Options) TargetDays(tier config.Tier) int {
	switch {
	case o.RecoveryDays > 0:
		return o.RecoveryDays
	case tier.MinRecoveryDays > 0:
		return tier.MinRecoveryDays
	}
	return config.MaxRecoveryDays
}

// NewPlan builds the plan for audited tables (already selected, see package
// selection): one action per non-compliant (hence non-exempt) table.
func NewPlan(entries []audit.Entry, o Options, now time.Time) *Plan {
	p := &Plan{SchemaVersion: 1, Mode: "plan", GeneratedAt: now.UTC().Truncate(time.Second), Actions: []Action{}, Skipped: []SkippedTable{},
		Warnings: []string{}, Errors: []model.ScanError{}, Unmatched: []string{}, CoverageComplete: true}
	for _, e := range entries {
		t, r := e.Table, e.Eval
		// PITR alone decides: AWS Backup reasons (issue 12) join the audit's
		// verdict, but enable changes PITR only, so a table that is
		// non-compliant or unknown for its backups alone gets no action.
		switch r.PITROnly() {
		case model.Unknown:
			p.Skipped = append(p.Skipped, SkippedTable{t.Account, t.Region, t.Name, "PITR status unknown (" + joinReasons(r.Reasons) + "); audit it again"})
			continue
		case model.Skipped:
			p.Skipped = append(p.Skipped, SkippedTable{t.Account, t.Region, t.Name, "table is " + t.Status + "; enable PITR once it is ACTIVE"})
			continue
		case model.NonCompliant:
		default:
			continue
		}
		a := Action{Account: t.Account, Region: t.Region, Table: t.Name, ARN: t.ARN, Tier: r.Tier.Name, Owner: r.Owner,
			ToDays: o.TargetDays(r.Tier), Result: Planned}
		if t.PITR.Enabled {
			from := t.PITR.RecoveryPeriodDays
			a.Action, a.FromDays = RaiseRecoveryPeriod, &from
			if a.ToDays < from {
				if !o.AllowDecrease {
					p.Skipped = append(p.Skipped, SkippedTable{t.Account, t.Region, t.Name,
						fmt.Sprintf("--recovery-days %d is below the current window of %d days; refused (pass --allow-decrease to shorten it, losing history beyond the new window for good)", a.ToDays, from)})
					continue
				}
				a.Decrease = true
				a.Warning = fmt.Sprintf("lowers the window from %d to %d days: restorable history older than %d days is lost for good", from, a.ToDays, a.ToDays)
			} else if a.ToDays == from {
				continue // nothing to change; --recovery-days equals the current window
			}
		} else {
			a.Action = EnablePITR
			a.MonthlyCostUSD = e.Result.PITRMonthlyCostUSD
		}
		if r.Tier.MinRecoveryDays > 0 && a.ToDays < r.Tier.MinRecoveryDays {
			a.Warning = joinWarn(a.Warning, fmt.Sprintf("%d days is below tier %s's minimum of %d: the table will stay non-compliant", a.ToDays, r.Tier.Name, r.Tier.MinRecoveryDays))
		}
		if stack := t.Tags[CloudFormationStackTag]; stack != "" {
			a.Warning = joinWarn(a.Warning, fmt.Sprintf("managed by CloudFormation stack %s: set PointInTimeRecoverySpecification in its template too, or the stack drifts and a later update may turn PITR off", stack))
		}
		p.Actions = append(p.Actions, a)
	}
	Sort(p.Actions)
	slices.SortFunc(p.Skipped, func(a, b SkippedTable) int {
		return model.Compare(a.Account, a.Region, a.Table, b.Account, b.Region, b.Table)
	})
	p.Tally()
	return p
}

// Sort orders actions by account, region, table.
func Sort(as []Action) {
	slices.SortFunc(as, func(a, b Action) int {
		return model.Compare(a.Account, a.Region, a.Table, b.Account, b.Region, b.Table)
	})
}

// Tally recomputes the summary from the actions' results.
func (p *Plan) Tally() {
	s := Summary{}
	for _, a := range p.Actions {
		switch a.Result {
		case Planned:
			s.Planned++
		case Applied:
			s.Applied++
		case AlreadyCompliant:
			s.AlreadyCompliant++
		case Pending:
			s.Pending++
		case Failed:
			s.Failed++
		case NotStarted:
			s.NotStarted++
		}
		if a.Result != AlreadyCompliant && a.Result != Failed {
			s.MonthlyCostUSD += a.MonthlyCostUSD
		}
	}
	s.MonthlyCostUSD = math.Round(s.MonthlyCostUSD*100) / 100
	p.Summary = s
}

// Accounts returns the distinct accounts the plan touches, sorted.
func (p *Plan) Accounts() []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range p.Actions {
		if !seen[a.Account] {
			seen[a.Account] = true
			out = append(out, a.Account)
		}
	}
	sort.Strings(out)
	return out
}

func joinReasons(rs []model.Reason) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += ", "
		}
		s += string(r)
	}
	return s
}

func joinWarn(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
