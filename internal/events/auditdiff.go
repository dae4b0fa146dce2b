package events

import (
	"fmt"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/notify"
	"github.com/pitrguard/pitrguard/internal/store"
)

// AuditMessages compares an audit with the previous run of the same scope
// (before; havePrev says whether there was one) and returns the alerts, sorted:
// exemptions expiring within expiry, new non-compliant tables, regressions
// (verdict or a lowered PITR window), fixes, and tables gone since.
func AuditMessages(res *audit.Result, before []store.TableRecord, havePrev bool, now time.Time, expiry time.Duration) []notify.Message {
	prev := map[string]store.TableRecord{}
	for _, r := range before {
		prev[r.Account+"/"+r.Region+"/"+r.Name] = r
	}
	var msgs []notify.Message
	for _, e := range res.Entries {
		if m, ok := exemptionExpiring(e, now, expiry); ok {
			msgs = append(msgs, m)
		}
		if !havePrev {
			continue
		}
		p, seen := prev[e.Table.Account+"/"+e.Table.Region+"/"+e.Table.Name]
		if m, ok := tableChange(e, p, seen, now); ok {
			msgs = append(msgs, m)
		}
	}
	msgs = append(msgs, tablesGone(res, before, now)...)
	notify.SortMessages(msgs)
	return msgs
}

// entryMessage is an alert about an audited table.
func entryMessage(e audit.Entry, kind notify.Kind, now time.Time, state, text string) notify.Message {
	t, r := e.Table, e.Eval
	m := notify.New(kind, now)
	m.Account, m.Region, m.Table, m.ARN, m.Owner, m.Tier = t.Account, t.Region, t.Name, t.ARN, r.Owner, r.Tier.Name
	m.State, m.Message = state, text
	m.Details["verdict"], m.Details["pitr_status"] = string(r.Verdict), t.PITR.StatusString()
	if t.PITR.Enabled {
		m.Details["recovery_days"] = t.PITR.RecoveryPeriodDays
	}
	return m
}

// exemptionExpiring warns about an exemption that ends within expiry.
func exemptionExpiring(e audit.Entry, now time.Time, expiry time.Duration) (notify.Message, bool) {
	ex := e.Eval.Exemption
	if ex == nil || ex.Expired || ex.Expires == "" {
		return notify.Message{}, false
	}
	d, err := time.Parse(time.DateOnly, ex.Expires)
	if err != nil || d.AddDate(0, 0, 1).Sub(now) > expiry {
		return notify.Message{}, false
	}
	return entryMessage(e, notify.ExemptionExpiring, now, ex.Expires, fmt.Sprintf("the exemption of %s (%s) expires on %s; after that the table must meet tier %s", e.Table.Name, ex.Reason, ex.Expires, e.Eval.Tier.Name)), true
}

// tableChange is the alert, if any, for how a table changed since the
// previous run (p, when seen there).
func tableChange(e audit.Entry, p store.TableRecord, seen bool, now time.Time) (notify.Message, bool) {
	t, r := e.Table, e.Eval
	reasons := make([]string, 0, len(r.Reasons))
	for _, x := range r.Reasons {
		reasons = append(reasons, string(x))
	}
	switch {
	case r.Verdict == model.NonCompliant && !seen:
		return entryMessage(e, notify.NewNonCompliant, now, "NON_COMPLIANT", fmt.Sprintf("new non-compliant table %s (tier %s): %s", t.Name, r.Tier.Name, strings.Join(reasons, ", "))), true
	case r.Verdict == model.NonCompliant && p.Verdict == string(model.Compliant):
		return entryMessage(e, notify.Regression, now, "NON_COMPLIANT", fmt.Sprintf("%s regressed from COMPLIANT to NON_COMPLIANT (tier %s): %s", t.Name, r.Tier.Name, strings.Join(reasons, ", "))), true
	case seen && windowLowered(t, p):
		return entryMessage(e, notify.Regression, now, fmt.Sprintf("%dd", t.PITR.RecoveryPeriodDays), fmt.Sprintf("the PITR window of %s was lowered from %d to %d days", t.Name, *p.RecoveryDays, t.PITR.RecoveryPeriodDays)), true
	case seen && r.Verdict == model.Compliant && p.Verdict == string(model.NonCompliant):
		return entryMessage(e, notify.Fixed, now, "COMPLIANT", fmt.Sprintf("%s is compliant again (tier %s)", t.Name, r.Tier.Name)), true
	}
	return notify.Message{}, false
}

// windowLowered reports whether PITR stayed on with a shorter window than the
// previous run recorded.
func windowLowered(t *model.Table, p store.TableRecord) bool {
	return t.PITR.Enabled && p.PITRStatus == "ENABLED" && p.RecoveryDays != nil && t.PITR.RecoveryPeriodDays < *p.RecoveryDays
}

// tablesGone alerts about tables of the previous run that this one did not
// see, except in account-regions it could not read (absence there proves
// nothing).
func tablesGone(res *audit.Result, before []store.TableRecord, now time.Time) []notify.Message {
	failed := map[string]bool{}
	for _, e := range res.Report.Errors {
		if e.Table == "" {
			failed[e.Account+"/"+e.Region] = true
		}
	}
	current := map[string]bool{}
	for _, e := range res.Entries {
		current[e.Table.Account+"/"+e.Table.Region+"/"+e.Table.Name] = true
	}
	var msgs []notify.Message
	for _, p := range before {
		if current[p.Account+"/"+p.Region+"/"+p.Name] || failed[p.Account+"/"+p.Region] {
			continue
		}
		m := notify.New(notify.TableDeleted, now)
		m.Account, m.Region, m.Table, m.ARN, m.Owner, m.Tier = p.Account, p.Region, p.Name, p.ARN, p.Owner, p.Tier
		m.State = "gone"
		m.Message = fmt.Sprintf("%s is gone since the last audit (it had PITR %s)", p.Name, p.PITRStatus)
		if p.PITRStatus == "ENABLED" {
			m.Details["restore_command"] = "pitrguard restore --table " + p.ARN + " --deleted"
		}
		msgs = append(msgs, m)
	}
	return msgs
}
