// Package policy evaluates facts about a table against the policy: it is a
// pure function of (model.Table, config.Config, now) and makes no AWS calls.
// The live audit, remediation and (later) IaC scanning share it, so a verdict
// is derived in exactly one place.
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

// Evaluate returns the verdict for t.
func (e *Evaluator) Evaluate(t *model.Table) Result {
	r := Result{Tier: e.TierOf(t), Owner: e.OwnerOf(t)}
	if ex := e.exemptionFor(t); ex != nil {
		r.Exemption = ex
		if !ex.Expired {
			r.Verdict = model.Exempt
			return r
		}
		r.Reasons = append(r.Reasons, model.ReasonExemptionExpired)
	}
	if t.Status != "" && t.Status != "ACTIVE" {
		r.Verdict = model.Skipped
		r.Reasons = append(r.Reasons, model.ReasonTableNotActive)
		return r
	}
	if !t.PITR.Known {
		r.Verdict = model.Unknown
		r.Reasons = append(r.Reasons, unknownReason(t))
		return r
	}
	if !t.TagsKnown {
		r.Notes = append(r.Notes, string(model.ReasonTagsUnreadable))
	}
	if !r.Tier.RequiresPITR() {
		r.Verdict = model.Compliant
		return r
	}
	switch {
	case !t.PITR.Enabled:
		r.Verdict = model.NonCompliant
		r.Reasons = append(r.Reasons, model.ReasonPITRDisabled)
	case r.Tier.MinRecoveryDays > 0 && t.PITR.RecoveryPeriodDays < r.Tier.MinRecoveryDays:
		r.Verdict = model.NonCompliant
		r.Reasons = append(r.Reasons, model.ReasonPeriodBelowMinimum)
	default:
		r.Verdict = model.Compliant
	}
	if t.PITR.Enabled && r.Tier.MinRecoveryDays > 0 && t.PITR.EarliestRestorable != nil &&
		t.PITR.RestorableDays() < float64(r.Tier.MinRecoveryDays) {
		// The window is configured but history has not accrued yet (new table,
		// or PITR was disabled and re-enabled): say so without failing.
		r.Notes = append(r.Notes, string(model.ReasonHistoryBelowMinimum))
	}
	return r
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
