package events

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/notify"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

func auditEntry(region, name string, v model.Verdict, pitrDays int) audit.Entry {
	t := &model.Table{Account: "111111111111", Region: region, Name: name, ARN: "arn:aws:dynamodb:" + region + ":111111111111:table/" + name}
	if pitrDays > 0 {
		t.PITR = model.PITR{Known: true, Enabled: true, RecoveryPeriodDays: pitrDays}
	}
	ev := policy.Result{Verdict: v, Tier: config.Tier{Name: "standard"}, Owner: "team-a"}
	return audit.Entry{Table: t, Eval: ev, Result: report.NewTableResult(t, ev, 0, false)}
}

func TestAuditMessages(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	days := func(n int) *int { return &n }
	soon := auditEntry("us-east-1", "exempt-soon", model.Exempt, 0)
	soon.Result.Exemption = &policy.AppliedExemption{Reason: "rebuilt nightly", Expires: "2026-12-05"}
	later := auditEntry("us-east-1", "exempt-later", model.Exempt, 0)
	later.Result.Exemption = &policy.AppliedExemption{Reason: "rebuilt nightly", Expires: "2027-06-01"}
	res := &audit.Result{
		Report: &report.Audit{Errors: []model.ScanError{{Account: "111111111111", Region: "eu-west-1", Code: "AccessDenied"}}},
		Entries: []audit.Entry{
			soon, later,
			auditEntry("us-east-1", "brand-new", model.NonCompliant, 0),
			auditEntry("us-east-1", "regressed", model.NonCompliant, 0),
			auditEntry("us-east-1", "shorter", model.Compliant, 7),
			auditEntry("us-east-1", "fixed", model.Compliant, 35),
			auditEntry("us-east-1", "steady", model.Compliant, 35),
		},
	}
	before := []store.TableRecord{
		{Account: "111111111111", Region: "us-east-1", Name: "regressed", Verdict: "COMPLIANT", PITRStatus: "ENABLED", RecoveryDays: days(35)},
		{Account: "111111111111", Region: "us-east-1", Name: "shorter", Verdict: "COMPLIANT", PITRStatus: "ENABLED", RecoveryDays: days(35)},
		{Account: "111111111111", Region: "us-east-1", Name: "fixed", Verdict: "NON_COMPLIANT", PITRStatus: "DISABLED"},
		{Account: "111111111111", Region: "us-east-1", Name: "steady", Verdict: "COMPLIANT", PITRStatus: "ENABLED", RecoveryDays: days(35)},
		{Account: "111111111111", Region: "us-east-1", Name: "deleted", ARN: "arn:aws:dynamodb:us-east-1:111111111111:table/deleted", PITRStatus: "ENABLED"},
		{Account: "111111111111", Region: "eu-west-1", Name: "unread", PITRStatus: "ENABLED"}, // region not read: not "gone"
	}
	got := map[string]notify.Kind{}
	var restore string
	msgs, err := AuditMessages(res, before, true, now, 14*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if k, dup := got[m.Table]; dup {
			t.Errorf("%s: two messages (%s and %s)", m.Table, k, m.Kind)
		}
		got[m.Table] = m.Kind
		if m.Table == "deleted" {
			restore, _ = m.Details["restore_command"].(string)
		}
	}
	want := map[string]notify.Kind{
		"exempt-soon": notify.ExemptionExpiring,
		"brand-new":   notify.NewNonCompliant,
		"regressed":   notify.Regression,
		"shorter":     notify.Regression,
		"fixed":       notify.Fixed,
		"deleted":     notify.TableDeleted,
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if got[name] != want[name] {
			t.Errorf("%s: kind %q, want %q", name, got[name], want[name])
		}
	}
	if len(got) != len(want) {
		t.Errorf("messages for %v, want exactly %v", got, want)
	}
	if restore != "pitrguard restore --table arn:aws:dynamodb:us-east-1:111111111111:table/deleted --deleted" {
		t.Errorf("restore command of the deleted table: %q", restore)
	}

	// Without a previous run only expiring exemptions are reported.
	first, err := AuditMessages(res, nil, false, now, 14*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 1 || first[0].Kind != notify.ExemptionExpiring || first[0].Table != "exempt-soon" {
		t.Errorf("first run: %+v", first)
	}
}

// A Cost Explorer query that failed (audit --cost-explorer) is an error of
// the run in the management account's us-east-1, but no table went unread
// there: a table deleted from that account-region is still reported gone.
func TestAuditMessagesSpendErrorIsNoGap(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	res := &audit.Result{
		Report: &report.Audit{Errors: []model.ScanError{{Account: "111111111111", Region: "us-east-1", Code: "AccessDeniedException",
			Reason: model.ReasonSpendUnreadable, Message: "cannot read the DynamoDB spend from Cost Explorer"}}},
		Entries: []audit.Entry{auditEntry("us-east-1", "steady", model.Compliant, 35)},
	}
	before := []store.TableRecord{
		{Account: "111111111111", Region: "us-east-1", Name: "steady", Verdict: "COMPLIANT", PITRStatus: "ENABLED"},
		{Account: "111111111111", Region: "us-east-1", Name: "deleted", ARN: "arn:aws:dynamodb:us-east-1:111111111111:table/deleted", PITRStatus: "ENABLED"},
	}
	msgs, err := AuditMessages(res, before, true, now, 14*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Kind != notify.TableDeleted || msgs[0].Table != "deleted" {
		t.Errorf("messages %+v; want one: deleted is gone", msgs)
	}
}
