// Package policy evaluates facts about a table against the policy: it is a
// pure function of (model.Table, config.Config, now) and makes no AWS calls.
// The live audit uses it, and enable and drill select tables from the audit's
// verdicts, so a live verdict is derived in exactly one place. (IaC scanning
// still has its own verdict logic in internal/iac; issue 9 moves it here.)
//
// Facts that could not be read never become an answer: unread PITR is
// UNKNOWN with the read's reason, and unread tags give UNKNOWN
// tags_unreadable whenever the tier they decide would change the verdict.
// Tally turns verdicts into the run's KPIs.
package policy

import (
	"slices"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/glob"
	"github.com/pitrguard/pitrguard/internal/model"
)

// Result is the evaluation of one table.
type Result struct {
	Verdict model.Verdict
	Reasons []model.Reason
	// Notes are informational codes that do not change the verdict.
	Notes []string
	Tier  config.Tier
	Owner string
	// Exemption is the matching exemption (applied, or expired), or nil.
	Exemption *AppliedExemption
	// PITRVerdict is the verdict on PITR alone, before any AWS Backup
	// reason (WithBackup) joins Verdict. enable and the event handler act on
	// it (PITROnly): a backup reason never triggers a PITR change.
	PITRVerdict model.Verdict
	// Backup is the table's AWS Backup coverage when its tier requires it
	// (WithBackup); nil otherwise.
	Backup *BackupResult
	// RPOExposureHours is how long ago the newest restorable point known was
	// (PITR's latest restorable time, an AWS Backup recovery point, an
	// on-demand backup); nil when none is known.
	RPOExposureHours *float64
}

// PITROnly is the verdict on PITR alone (Verdict for a result made before
// PITRVerdict existed).
func (r Result) PITROnly() model.Verdict {
	if r.PITRVerdict != "" {
		return r.PITRVerdict
	}
	return r.Verdict
}

// AppliedExemption is an exemption that matched a table.
type AppliedExemption struct {
	Pattern string `json:"table"`
	Reason  string `json:"reason"`
	Owner   string `json:"owner"`
	Expires string `json:"expires,omitempty"`
	Expired bool   `json:"expired"`
}

// Evaluator evaluates tables against one policy at one instant.
type Evaluator struct {
	cfg *config.Config
	now time.Time
}

// New returns an Evaluator for cfg at now.
func New(cfg *config.Config, now time.Time) *Evaluator { return &Evaluator{cfg: cfg, now: now} }

// TierOf returns the first tier that matches t, or the default tier.
func (e *Evaluator) TierOf(t *model.Table) config.Tier {
	for _, tier := range e.cfg.Tiers {
		if matches(tier.Match, t) {
			return tier
		}
	}
	for _, tier := range e.cfg.Tiers {
		if strings.EqualFold(tier.Name, e.cfg.DefaultTier) {
			return tier
		}
	}
	return config.Tier{Name: e.cfg.DefaultTier}
}

// OwnerOf returns the value of the first owner tag present on t.
func (e *Evaluator) OwnerOf(t *model.Table) string {
	for _, key := range e.cfg.OwnerTags {
		for k, v := range t.Tags {
			if strings.EqualFold(k, key) && v != "" {
				return v
			}
		}
	}
	return ""
}

// unjudgeable are the table states in which PITR cannot be judged: the table
// is not there yet (CREATING), is going away (DELETING), or is archived and
// unreadable (ARCHIVING, ARCHIVED). A table in any other state whose PITR was
// read is judged like an ACTIVE one: an UPDATING table (a GSI backfill can
// take hours) with PITR off is NON_COMPLIANT, not left out of the rate.
var unjudgeable = map[string]bool{"CREATING": true, "DELETING": true, "ARCHIVING": true, "ARCHIVED": true}

// UnknownTier is the tier reported when the tier decides the verdict and the
// tags that decide the tier could not be read.
const UnknownTier = "unknown"

// Evaluate returns the verdict for t on PITR (AWS Backup coverage joins it
// in WithBackup, where the tier asks for it).
func (e *Evaluator) Evaluate(t *model.Table) Result {
	r := e.evaluatePITR(t)
	r.PITRVerdict = r.Verdict
	if t.PITR.Known && t.PITR.Enabled {
		r.RPOExposureHours = e.exposure(t.PITR.LatestRestorable)
	}
	return r
}

func (e *Evaluator) evaluatePITR(t *model.Table) Result {
	r := Result{Tier: e.TierOf(t), Owner: e.OwnerOf(t)}
	if !t.TagsKnown {
		// Said on every path (EXEMPT, SKIPPED, UNKNOWN too): what reads the
		// result later (the proof of `backup plan`) must not take the empty
		// tag set, or the tier it gives, for facts.
		r.Notes = append(r.Notes, string(model.ReasonTagsUnreadable))
	}
	if ex := e.exemptionFor(t); ex != nil {
		r.Exemption = ex
		if !ex.Expired {
			r.Verdict = model.Exempt
			return r
		}
		r.Reasons = append(r.Reasons, model.ReasonExemptionExpired)
	}
	switch {
	case unjudgeable[t.Status]:
		r.Verdict = model.Skipped
		r.Reasons = append(r.Reasons, model.ReasonTableNotActive)
		return r
	case !t.PITR.Known:
		r.Verdict = model.Unknown
		r.Reasons = append(r.Reasons, unknownReason(t))
		return r
	case stateUnread(t):
		// DescribeTable failed: the table's state (CREATING? DELETING?) is
		// not known, so neither is whether PITR can be judged. Never turn
		// "could not read" into an answer (ARCHITECTURE principle 2).
		r.Verdict = model.Unknown
		r.Reasons = append(r.Reasons, unknownReason(t))
		return r
	}
	if t.Status != "" && t.Status != "ACTIVE" {
		r.Notes = append(r.Notes, string(model.ReasonTableNotActive))
	}
	if !t.TagsKnown {
		if !e.sameOutcome(e.possibleTiers(t), t) {
			// The tier, and with it the verdict, depends on tags that could not
			// be read: say so rather than judge an empty tag set (issue 9 #4).
			r.Tier = config.Tier{Name: UnknownTier}
			r.Verdict = model.Unknown
			r.Reasons = append(r.Reasons, model.ReasonTagsUnreadable)
			return r
		}
	}
	v, reason := judge(r.Tier, t.PITR)
	r.Verdict = v
	if reason != "" {
		r.Reasons = append(r.Reasons, reason)
	}
	if t.PITR.Enabled && r.Tier.MinRecoveryDays > 0 && t.PITR.EarliestRestorable != nil &&
		t.PITR.RestorableDays() < float64(r.Tier.MinRecoveryDays) {
		// The window is configured but history has not accrued yet (new table,
		// or PITR was disabled and re-enabled): say so without failing.
		r.Notes = append(r.Notes, string(model.ReasonHistoryBelowMinimum))
	}
	return r
}

// judge is the verdict of a table whose PITR state is known, in tier.
func judge(tier config.Tier, p model.PITR) (model.Verdict, model.Reason) {
	switch {
	case !tier.RequiresPITR():
		return model.Compliant, ""
	case !p.Enabled:
		return model.NonCompliant, model.ReasonPITRDisabled
	case tier.MinRecoveryDays > 0 && p.RecoveryPeriodDays < tier.MinRecoveryDays:
		return model.NonCompliant, model.ReasonPeriodBelowMinimum
	}
	return model.Compliant, ""
}

// possibleTiers returns every tier t could be in when its tags are unknown:
// each tier in order whose other criteria match, up to and including the
// first one that does not look at tags (or the default tier).
func (e *Evaluator) possibleTiers(t *model.Table) []config.Tier {
	var out []config.Tier
	for _, tier := range e.cfg.Tiers {
		m := tier.Match
		m.Tags = nil
		if !matches(m, t) {
			continue
		}
		out = append(out, tier)
		if len(tier.Match.Tags) == 0 {
			return out
		}
	}
	none := *t
	none.Tags = nil
	return append(out, e.TierOf(&none))
}

// sameOutcome reports whether t gets the same verdict in every tier: the
// same PITR judgement, and the same AWS Backup requirement (a tier that
// requires backups can change the verdict).
func (e *Evaluator) sameOutcome(tiers []config.Tier, t *model.Table) bool {
	v0, r0 := judge(tiers[0], t.PITR)
	for _, tier := range tiers[1:] {
		if v, r := judge(tier, t.PITR); v != v0 || r != r0 || !sameBackup(tier, tiers[0]) {
			return false
		}
	}
	return true
}

// sameBackup reports whether two tiers ask the same of AWS Backup.
func sameBackup(a, b config.Tier) bool {
	switch {
	case !a.RequiresBackup() && !b.RequiresBackup():
		return true
	case a.RequiresBackup() != b.RequiresBackup():
		return false
	}
	x, y := *a.Backup, *b.Backup
	x.Required, y.Required = nil, nil
	return x == y
}

// stateUnread reports whether DescribeTable, which says the table's state,
// failed for t.
func stateUnread(t *model.Table) bool {
	for _, re := range t.ReadErrors {
		if re.Op == "DescribeTable" {
			return true
		}
	}
	return false
}

// unknownReason picks the reason from the read that made PITR unknowable.
func unknownReason(t *model.Table) model.Reason {
	for _, op := range []string{"DescribeContinuousBackups", "DescribeTable"} {
		for _, re := range t.ReadErrors {
			if re.Op == op && re.Reason != "" {
				return re.Reason
			}
		}
	}
	if len(t.ReadErrors) > 0 && t.ReadErrors[0].Reason != "" {
		return t.ReadErrors[0].Reason
	}
	return model.ReasonReadError
}

// exemptionFor returns the first live exemption matching t; failing that, the
// first expired one (which no longer applies, but is reported).
func (e *Evaluator) exemptionFor(t *model.Table) *AppliedExemption {
	var expired *AppliedExemption
	for _, ex := range e.cfg.Exemptions {
		if !glob.Match(ex.Table, t.ARN) && !glob.Match(ex.Table, t.Name) {
			continue
		}
		a := &AppliedExemption{Pattern: ex.Table, Reason: ex.Reason, Owner: ex.Owner}
		if ex.Expires != nil {
			a.Expires = ex.Expires.String()
			a.Expired = ex.Expires.Expired(e.now)
		}
		if !a.Expired {
			return a
		}
		if expired == nil {
			expired = a
		}
	}
	return expired
}

func matches(m config.Match, t *model.Table) bool {
	if len(m.Accounts) > 0 && !slices.Contains(m.Accounts, t.Account) {
		return false
	}
	if len(m.Regions) > 0 && !slices.ContainsFunc(m.Regions, func(p string) bool { return glob.Match(p, t.Region) }) {
		return false
	}
	if len(m.Names) > 0 && !slices.ContainsFunc(m.Names, func(p string) bool { return glob.Match(p, t.Name) || glob.Match(p, t.ARN) }) {
		return false
	}
	if len(m.Tags) > 0 && !tagsMatch(m.Tags, t.Tags) {
		return false
	}
	return true
}

func tagsMatch(want map[string]config.StringList, have map[string]string) bool {
	for key, values := range want {
		for k, v := range have {
			if !strings.EqualFold(k, key) {
				continue
			}
			if slices.ContainsFunc(values, func(p string) bool { return glob.Match(p, v) }) {
				return true
			}
		}
	}
	return false
}
