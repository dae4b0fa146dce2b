package policy

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/backupsel"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
)

// Backup statuses (BackupResult.Status).
const (
	// BackupCovered: a selection assigns the table to a plan, and the region
	// backs it up (opted in, or the DynamoDB type assigned explicitly).
	BackupCovered = "COVERED"
	// BackupNotCovered: no selection assigns it, or the region's opt-in is off.
	BackupNotCovered = "NOT_COVERED"
	// BackupUnknown: it could not be told (a read failed, or tags unread).
	BackupUnknown = "UNKNOWN"
)

// BackupResult is a table's AWS Backup coverage: the "backup" object of the
// audit's JSON (null when the table's tier asks for no backups). Field
// names are part of the JSON contract.
type BackupResult struct {
	Status string `json:"status"`
	// Plans are the (plan, selection, rule) triples that back the table up.
	Plans []BackupPlanResult `json:"plans"`
	// LastRecoveryPoint is the newest restorable recovery point (null: none
	// known); AgeHours its age at the audit.
	LastRecoveryPoint *time.Time `json:"last_recovery_point"`
	AgeHours          *float64   `json:"age_hours"`
	// PointStatusChecked is true when the point's status was read
	// (ListRecoveryPointsByResource): PARTIAL and EXPIRED points are then
	// not counted. Otherwise the last backup time of ListProtectedResources
	// is used.
	PointStatusChecked bool `json:"point_status_checked"`
	// OptIn and AdvancedFeatures are the region's settings for DynamoDB,
	// read for tables a selection assigns (null otherwise, or unread).
	OptIn            *bool `json:"opt_in"`
	AdvancedFeatures *bool `json:"advanced_features"`
	// OnDemandLatest is the newest on-demand DynamoDB backup, when read
	// (only for tables with neither a plan nor PITR).
	OnDemandLatest *time.Time `json:"on_demand_latest"`
	// MonthlyCostUSD is the estimated storage of the covering rules' recovery
	// points per month (pricing.BackupMonthly).
	MonthlyCostUSD float64 `json:"monthly_cost_usd"`
	CostEstimated  bool    `json:"cost_estimated"`
	// Excluded says why selections that look meant for the table do not
	// select it (a table name instead of an ARN, NotResources, tag case).
	Excluded []string `json:"excluded"`
	Notes    []string `json:"notes"`
}

// BackupPlanResult is one rule that backs a table up.
type BackupPlanResult struct {
	Plan      string `json:"plan"`
	PlanID    string `json:"plan_id"`
	Selection string `json:"selection"`
	Rule      string `json:"rule"`
	Schedule  string `json:"schedule"`
	// RetentionDays is Lifecycle.DeleteAfterDays (null: never deleted).
	RetentionDays *int   `json:"retention_days"`
	ColdAfterDays *int   `json:"cold_after_days"`
	Vault         string `json:"vault"`
	// VaultLocked is null when the vault could not be read.
	VaultLocked *bool              `json:"vault_locked"`
	Copies      []BackupCopyResult `json:"copies"`
}

// BackupCopyResult is a rule's copy action.
type BackupCopyResult struct {
	VaultARN      string `json:"vault_arn"`
	Region        string `json:"region"`
	Account       string `json:"account"`
	RetentionDays *int   `json:"retention_days"`
}

// WithBackup adds AWS Backup coverage to r, the PITR evaluation of t, when
// t's tier requires backups: the backup block, its reasons and the RPO
// exposure. A known failure makes a COMPLIANT table NON_COMPLIANT; a
// failure that could not be read makes it UNKNOWN (never an answer). The
// PITR verdict stays in PITRVerdict. f may be nil (nothing was read).
func (e *Evaluator) WithBackup(t *model.Table, r Result, f *model.BackupFacts) Result {
	if !r.Tier.RequiresBackup() {
		return r
	}
	if r.PITRVerdict == "" {
		r.PITRVerdict = r.Verdict
	}
	b, reasons, unknown := judgeBackup(r.Tier.Backup, t, f, e.now)
	r.Backup = b
	newest := b.LastRecoveryPoint
	for _, p := range []*time.Time{b.OnDemandLatest, pitrLatest(t)} {
		if p != nil && (newest == nil || p.After(*newest)) {
			newest = p
		}
	}
	r.RPOExposureHours = e.exposure(newest)
	switch r.Verdict {
	case model.Compliant:
		switch {
		case len(reasons) > 0:
			r.Verdict = model.NonCompliant
		case unknown != "":
			r.Verdict = model.Unknown
		}
	case model.NonCompliant, model.Unknown:
	default:
		return r // EXEMPT, SKIPPED: the block is for information
	}
	r.Reasons = append(r.Reasons, reasons...)
	if unknown != "" {
		r.Reasons = append(r.Reasons, unknown)
	}
	return r
}

func pitrLatest(t *model.Table) *time.Time {
	if t.PITR.Known && t.PITR.Enabled {
		return t.PITR.LatestRestorable
	}
	return nil
}

// exposure is the hours since at (never negative), or nil.
func (e *Evaluator) exposure(at *time.Time) *float64 {
	if at == nil {
		return nil
	}
	h := math.Round(max(e.now.Sub(*at).Hours(), 0)*100) / 100
	return &h
}

// covering is one selection that assigns the table; byType is true when it
// assigns the DynamoDB type explicitly (a table ARN pattern), which AWS
// Backup honours whatever the region's opt-in.
type covering struct {
	plan   *model.BackupPlan
	sel    *model.BackupSelection
	byType bool
}

// judgeBackup judges f against the tier's backup policy: the block, the
// reasons of a known failure, and the reason it could not be told.
func judgeBackup(bp *config.BackupPolicy, t *model.Table, f *model.BackupFacts, now time.Time) (*BackupResult, []model.Reason, model.Reason) {
	b := &BackupResult{Status: BackupUnknown, Plans: []BackupPlanResult{}, Excluded: []string{}, Notes: []string{}}
	if f == nil || f.Region == nil {
		b.Notes = append(b.Notes, "AWS Backup was not read for this table")
		return b, nil, model.ReasonBackupUnreadable
	}
	rb := f.Region
	if f.OnDemandKnown {
		b.OnDemandLatest = f.OnDemandLatest
	}
	covers, maybe, undocumented := cover(rb, t, b)
	if len(covers) == 0 {
		switch {
		case maybe:
			b.Notes = append(b.Notes, "a selection looks at tags, and the table's tags could not be read")
			return b, nil, model.ReasonTagsUnreadable
		case len(undocumented) > 0:
			b.Notes = append(b.Notes, undocumented...)
			return b, nil, model.ReasonBackupUnreadable
		case len(rb.PlanErrors) > 0:
			b.Notes = append(b.Notes, "the backup plans could not all be read ("+readErrors(rb.PlanErrors)+"): no selection read covers the table")
			return b, nil, model.ReasonBackupUnreadable
		}
		b.Status = BackupNotCovered
		if b.OnDemandLatest != nil {
			b.Notes = append(b.Notes, "only on-demand backups (newest "+b.OnDemandLatest.UTC().Format(time.RFC3339)+"): no plan takes or expires them")
		}
		return b, []model.Reason{model.ReasonNoBackupPlan}, ""
	}
	// The region's settings are read (and shown) for tables a selection assigns.
	b.OptIn, b.AdvancedFeatures = rb.OptIn, rb.AdvancedFeatures
	// sure back the table up; unsure may (selected by tags or "*", the
	// opt-in unread); a selection by tags where the opt-in is off backs
	// nothing up.
	var sure, unsure []covering
	var off []string
	for _, c := range covers {
		switch {
		case c.byType || (rb.OptIn != nil && *rb.OptIn):
			sure = append(sure, c)
		case rb.OptIn == nil:
			unsure = append(unsure, c)
		default:
			off = append(off, fmt.Sprintf("plan %s, selection %s selects it by tags or \"*\", and the region's AWS Backup opt-in for DynamoDB is off: its rules back nothing up", c.plan.Name, c.sel.Name))
		}
	}
	b.Plans = planResults(append(slices.Clone(sure), unsure...), f.Vaults)
	if len(sure) == 0 {
		if rb.OptIn == nil {
			b.Notes = append(b.Notes, "the region's AWS Backup opt-in could not be read ("+readErrors(settingsErrors(rb))+")")
			return b, nil, model.ReasonBackupUnreadable
		}
		b.Status = BackupNotCovered
		b.Notes = append(b.Notes, "selected by tags or \"*\", and the region's AWS Backup opt-in for DynamoDB is off: nothing is backed up (a selection by DynamoDB ARN pattern would ignore the opt-in)")
		return b, []model.Reason{model.ReasonBackupOptInDisabled}, ""
	}
	b.Status = BackupCovered
	b.Notes = append(b.Notes, off...)
	var reasons []model.Reason
	var unknown model.Reason
	add := func(r model.Reason, note string) {
		if !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
		if note != "" {
			b.Notes = append(b.Notes, note)
		}
	}
	// A failure of the rules that surely back the table up is only known
	// when nothing unread could make it good: a selection that may back it
	// up (opt-in unread), or a plan that could not be read.
	sureRes, allRes := planResults(sure, f.Vaults), b.Plans
	check := func(r model.Reason, c func([]BackupPlanResult) (outcome, string)) {
		o, note := c(sureRes)
		switch {
		case o == pass:
			return
		case o == unread:
			unknown = model.ReasonBackupUnreadable
			b.Notes = append(b.Notes, note)
			return
		case o == fail && len(unsure) > 0:
			if o2, _ := c(allRes); o2 != fail && o2 != failSure {
				unknown = model.ReasonBackupUnreadable
				b.Notes = append(b.Notes, note+"; a selection by tags may meet it, and the region's AWS Backup opt-in could not be read ("+readErrors(settingsErrors(rb))+")")
				return
			}
		}
		if o == fail && len(rb.PlanErrors) > 0 {
			unknown = model.ReasonBackupUnreadable
			b.Notes = append(b.Notes, note+"; a plan that could not be read ("+readErrors(rb.PlanErrors)+") may meet it")
			return
		}
		if o == fail && len(undocumented) > 0 {
			unknown = model.ReasonBackupUnreadable
			b.Notes = append(b.Notes, note+"; a selection whose answer cannot be told may meet it ("+strings.Join(undocumented, "; ")+")")
			return
		}
		add(r, note)
	}
	if bp.MinRetentionDays > 0 {
		check(model.ReasonBackupRetentionBelowMinimum, func(ps []BackupPlanResult) (outcome, string) {
			keep, ok := longestRetention(ps)
			if !ok || keep >= bp.MinRetentionDays {
				return pass, ""
			}
			return fail, fmt.Sprintf("the longest retention of a covering rule is %d days, below the %d days required", keep, bp.MinRetentionDays)
		})
	}
	if !judgePoint(bp, f, now, b, add) {
		unknown = model.ReasonBackupUnreadable
	}
	if bp.RequireVaultLock {
		check(model.ReasonBackupVaultUnlocked, judgeVaultLock)
	}
	if bp.CopyToRegion != "" || bp.CopyToAccount != "" {
		check(model.ReasonBackupCopyMissing, func(ps []BackupPlanResult) (outcome, string) { return judgeCopies(bp, b.AdvancedFeatures, ps) })
	}
	return b, reasons, unknown
}

// outcome is a check of the covering rules.
type outcome int

const (
	pass outcome = iota
	// fail: these rules fail it (other rules might not).
	fail
	// failSure: it fails whatever the rules (a region setting).
	failSure
	// unread: it could not be told.
	unread
)

// cover evaluates every selection of the account-region for t, noting in b
// why selections that look meant for it do not select it; maybe is true
// when a selection's answer depends on tags that could not be read, and
// undocumented says which answers turn on what AWS does not document
// (backupsel.Undocumented).
func cover(rb *model.RegionBackup, t *model.Table, b *BackupResult) (covers []covering, maybe bool, undocumented []string) {
	res := backupsel.TableResource(t)
	for i := range rb.Plans {
		p := &rb.Plans[i]
		for j := range p.Selections {
			s := &p.Selections[j]
			ev := backupsel.Evaluate(*s, res)
			switch ev.Match {
			case backupsel.Yes:
				covers = append(covers, covering{p, s, ev.ByType})
			case backupsel.Unknown:
				if u := backupsel.Undocumented(*s); res.TagsKnown && len(u) > 0 {
					undocumented = append(undocumented, fmt.Sprintf("plan %s, selection %s: whether it selects the table cannot be told: %s", p.Name, s.Name, strings.Join(u, "; ")))
				} else {
					maybe = true
				}
			default:
				for _, x := range backupsel.Explain(*s, res, t.Name) {
					b.Excluded = append(b.Excluded, fmt.Sprintf("plan %s, selection %s: %s", p.Name, s.Name, x))
				}
			}
		}
	}
	return covers, maybe, undocumented
}

// planResults lists the rules of the covering plans, sorted.
func planResults(covers []covering, vaults map[string]model.BackupVault) []BackupPlanResult {
	out := []BackupPlanResult{}
	for _, c := range covers {
		for _, rule := range c.plan.Rules {
			pr := BackupPlanResult{Plan: c.plan.Name, PlanID: c.plan.ID, Selection: c.sel.Name, Rule: rule.Name, Schedule: rule.Schedule,
				RetentionDays: days(rule.DeleteAfterDays), ColdAfterDays: days(rule.ColdAfterDays), Vault: rule.Vault, Copies: []BackupCopyResult{}}
			if v, ok := vaults[rule.Vault]; ok {
				pr.VaultLocked = &v.Locked
			}
			for _, cp := range rule.Copies {
				cr := BackupCopyResult{VaultARN: cp.VaultARN, RetentionDays: days(cp.DeleteAfterDays)}
				if parts := strings.SplitN(cp.VaultARN, ":", 6); len(parts) == 6 && parts[0] == "arn" {
					cr.Region, cr.Account = parts[3], parts[4]
				}
				pr.Copies = append(pr.Copies, cr)
			}
			out = append(out, pr)
		}
	}
	slices.SortFunc(out, func(a, b BackupPlanResult) int {
		return cmp.Or(strings.Compare(a.Plan, b.Plan), strings.Compare(a.Selection, b.Selection), strings.Compare(a.Rule, b.Rule))
	})
	return out
}

func days(n int) *int {
	if n <= 0 {
		return nil
	}
	return &n
}

// longestRetention is the longest DeleteAfterDays of the covering rules
// (ok false: some rule never deletes, which meets any minimum).
func longestRetention(ps []BackupPlanResult) (keep int, ok bool) {
	for _, p := range ps {
		if p.RetentionDays == nil {
			return 0, false
		}
		keep = max(keep, *p.RetentionDays)
	}
	return keep, true
}

// judgePoint judges the newest restorable recovery point: from the points'
// statuses when they were read in full, else from ListProtectedResources.
// It returns false when neither could be read.
func judgePoint(bp *config.BackupPolicy, f *model.BackupFacts, now time.Time, b *BackupResult, add func(model.Reason, string)) bool {
	var last *time.Time
	switch {
	case f.Points != nil:
		b.PointStatusChecked = true
		last = f.Points.NewestRestorable
		if n := countList(f.Points.NewerUnusable); n != "" {
			b.Notes = append(b.Notes, "newer recovery points that cannot be restored are not counted: "+n)
		}
	case f.ProtectedKnown:
		last = f.LastBackup
		if f.PointsNote != "" {
			b.Notes = append(b.Notes, f.PointsNote)
		}
	default:
		b.Notes = append(b.Notes, "the table's last backup could not be read")
		return false
	}
	if last == nil {
		add(model.ReasonBackupMissing, "covered, but no restorable recovery point exists yet")
		return true
	}
	b.LastRecoveryPoint = last
	age := now.Sub(*last)
	h := math.Round(max(age.Hours(), 0)*100) / 100
	b.AgeHours = &h
	if age > bp.MaxAge() {
		add(model.ReasonBackupStale, fmt.Sprintf("the newest restorable recovery point is %.0f hours old, more than max_age_hours %.0f", age.Hours(), bp.MaxAge().Hours()))
	}
	return true
}

// judgeVaultLock wants a locked vault among the covering rules; unread when
// none is known locked and some vault could not be read.
func judgeVaultLock(ps []BackupPlanResult) (outcome, string) {
	unknown := false
	for _, p := range ps {
		switch {
		case p.VaultLocked == nil:
			unknown = true
		case *p.VaultLocked:
			return pass, ""
		}
	}
	if unknown {
		return unread, "a covering rule's vault could not be read, and no other is locked"
	}
	return fail, "require_vault_lock: no covering rule's vault is locked"
}

// judgeCopies wants a covering rule that copies to copy_to_region /
// copy_to_account, in a region whose advanced features (which DynamoDB
// copies need) are on.
func judgeCopies(bp *config.BackupPolicy, advanced *bool, ps []BackupPlanResult) (outcome, string) {
	want := strings.Trim(bp.CopyToRegion+" "+bp.CopyToAccount, " ")
	for _, p := range ps {
		for _, c := range p.Copies {
			if (bp.CopyToRegion == "" || c.Region == bp.CopyToRegion) && (bp.CopyToAccount == "" || c.Account == bp.CopyToAccount) {
				switch {
				case advanced == nil:
					return unread, "rule " + p.Rule + " copies to " + want + ", and the region's advanced features for DynamoDB, which DynamoDB copies need, could not be read"
				case !*advanced:
					return failSure, "rule " + p.Rule + " copies to " + want + ", but the region's advanced features for DynamoDB are off, and DynamoDB copies need them"
				}
				return pass, ""
			}
		}
	}
	return fail, "no covering rule copies recovery points to " + want
}

// countList is "1 PARTIAL, 2 EXPIRED" (sorted by status), or "".
func countList(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

func settingsErrors(rb *model.RegionBackup) []model.ReadError {
	if rb.SettingsError == nil {
		return nil
	}
	return []model.ReadError{*rb.SettingsError}
}

// readErrors is "op: code" for each error, joined.
func readErrors(es []model.ReadError) string {
	var parts []string
	for _, e := range es {
		parts = append(parts, e.Op+": "+e.Code)
	}
	if len(parts) == 0 {
		return "not read"
	}
	return strings.Join(parts, "; ")
}
