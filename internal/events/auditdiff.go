package events

import (
	"fmt"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/notify"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

// AuditMessages compares an audit with the previous run of the same scope
// (before; havePrev says whether there was one) and returns the alerts, sorted:
// exemptions expiring within expiry, new non-compliant tables, regressions
// (verdict or a lowered PITR window), fixes, and tables gone since. It reads
// the audit's tables one at a time (audit.Result.EachRow: a streamed audit
// keeps them on disk), so only the previous run's rows are held in memory.
func AuditMessages(res *audit.Result, before []store.TableRecord, havePrev bool, now time.Time, expiry time.Duration) ([]notify.Message, error) {
	prev := make(map[string]int, len(before)) // key → index in before
	for i, r := range before {
		prev[r.Account+"/"+r.Region+"/"+r.Name] = i
	}
	seen := make([]bool, len(before))
	var msgs []notify.Message
	err := res.EachRow(func(row *audit.Row) error {
		r := &row.Result
		if m, ok := exemptionExpiring(r, now, expiry); ok {
			msgs = append(msgs, m)
		}
		i, ok := prev[r.Account+"/"+r.Region+"/"+r.Name]
		if ok {
			seen[i] = true
		}
		if !havePrev {
			return nil
		}
		var p store.TableRecord
		if ok {
			p = before[i]
		}
		if m, ok := tableChange(r, p, ok, now); ok {
			msgs = append(msgs, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	msgs = append(msgs, tablesGone(res.Report.Errors, before, seen, now)...)
	notify.SortMessages(msgs)
	return msgs, nil
}

// entryMessage is an alert about an audited table.
func entryMessage(r *report.TableResult, kind notify.Kind, now time.Time, state, text string) notify.Message {
	m := notify.New(kind, now)
	m.Account, m.Region, m.Table, m.ARN, m.Owner, m.Tier = r.Account, r.Region, r.Name, r.ARN, r.Owner, r.Tier
	m.State, m.Message = state, text
	m.Details["verdict"], m.Details["pitr_status"] = string(r.Verdict), r.PITR.Status
	if d := r.PITR.RecoveryPeriodDays; d != nil {
		m.Details["recovery_days"] = *d
	}
	return m
}

// exemptionExpiring warns about an exemption that ends within expiry.
func exemptionExpiring(r *report.TableResult, now time.Time, expiry time.Duration) (notify.Message, bool) {
	ex := r.Exemption
	if ex == nil || ex.Expired || ex.Expires == "" {
		return notify.Message{}, false
	}
	d, err := time.Parse(time.DateOnly, ex.Expires)
	if err != nil || d.AddDate(0, 0, 1).Sub(now) > expiry {
		return notify.Message{}, false
	}
	return entryMessage(r, notify.ExemptionExpiring, now, ex.Expires, fmt.Sprintf("the exemption of %s (%s) expires on %s; after that the table must meet tier %s", r.Name, ex.Reason, ex.Expires, r.Tier)), true
}

// tableChange is the alert, if any, for how a table changed since the
// previous run (p, when seen there).
func tableChange(r *report.TableResult, p store.TableRecord, seen bool, now time.Time) (notify.Message, bool) {
	reasons := make([]string, 0, len(r.Reasons))
	for _, x := range r.Reasons {
		reasons = append(reasons, string(x))
	}
	switch {
	case r.Verdict == model.NonCompliant && !seen:
		return entryMessage(r, notify.NewNonCompliant, now, "NON_COMPLIANT", fmt.Sprintf("new non-compliant table %s (tier %s): %s", r.Name, r.Tier, strings.Join(reasons, ", "))), true
	case r.Verdict == model.NonCompliant && p.Verdict == string(model.Compliant):
		return entryMessage(r, notify.Regression, now, "NON_COMPLIANT", fmt.Sprintf("%s regressed from COMPLIANT to NON_COMPLIANT (tier %s): %s", r.Name, r.Tier, strings.Join(reasons, ", "))), true
	case seen && windowLowered(r, p):
		return entryMessage(r, notify.Regression, now, fmt.Sprintf("%dd", *r.PITR.RecoveryPeriodDays), fmt.Sprintf("the PITR window of %s was lowered from %d to %d days", r.Name, *p.RecoveryDays, *r.PITR.RecoveryPeriodDays)), true
	case seen && r.Verdict == model.Compliant && p.Verdict == string(model.NonCompliant):
		return entryMessage(r, notify.Fixed, now, "COMPLIANT", fmt.Sprintf("%s is compliant again (tier %s)", r.Name, r.Tier)), true
	}
	return notify.Message{}, false
}

// windowLowered reports whether PITR stayed on with a shorter window than the
// previous run recorded. A window not read (a table decided by AWS Config,
// which does not record it) is never "lowered".
func windowLowered(r *report.TableResult, p store.TableRecord) bool {
	return r.PITR.Status == "ENABLED" && r.PITR.RecoveryPeriodDays != nil && p.PITRStatus == "ENABLED" && p.RecoveryDays != nil &&
		*r.PITR.RecoveryPeriodDays < *p.RecoveryDays
}

// tablesGone alerts about tables of the previous run that this one did not
// see (seen[i] is false), except in account-regions it could not read
// (absence there proves nothing).
func tablesGone(errs []model.ScanError, before []store.TableRecord, seen []bool, now time.Time) []notify.Message {
	failed := map[string]bool{}
	for _, e := range errs {
		if e.Gap() {
			failed[e.Account+"/"+e.Region] = true
		}
	}
	var msgs []notify.Message
	for i, p := range before {
		if seen[i] || failed[p.Account+"/"+p.Region] {
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
