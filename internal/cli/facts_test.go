package cli

import (
	"encoding/json"
	"testing"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/history"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/restore"
	"github.com/pitrguard/pitrguard/internal/store"
)

func sampleEntry() audit.Entry {
	t0 := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	t1 := t0.Add(14 * 24 * time.Hour)
	tbl := &model.Table{Account: "111111111111", Region: "eu-west-1", Name: "orders", ARN: "arn:aws:dynamodb:eu-west-1:111111111111:table/orders",
		Status: "ACTIVE", SizeBytes: 1 << 30, GSISizeBytes: 7, ItemCount: 10, BillingMode: "PROVISIONED", TableClass: "STANDARD_INFREQUENT_ACCESS",
		DeletionProtection: true, Tags: map[string]string{"env": "prod"}, Replicas: []model.Replica{{Region: "us-east-1", Status: "ACTIVE"}},
		Stream: &model.Stream{Enabled: true, ViewType: "NEW_IMAGE"}, TagsKnown: true, DescribeKnown: true,
		PITR:       model.PITR{Known: true, Enabled: true, RecoveryPeriodDays: 14, EarliestRestorable: &t0, LatestRestorable: &t1},
		ReadErrors: []model.ReadError{{Op: "DescribeTimeToLive", Code: "AccessDeniedException", Reason: model.ReasonAccessDenied, Message: "no"}}}
	ev := policy.Result{Verdict: model.NonCompliant, Reasons: []model.Reason{model.ReasonPeriodBelowMinimum}, Tier: config.Tier{Name: "critical"},
		Owner: "payments", Exemption: &policy.AppliedExemption{Pattern: "x*", Reason: "r", Owner: "o", Expires: "2026-01-01", Expired: true}}
	return audit.Entry{Table: tbl, Eval: ev, Result: report.NewTableResult(tbl, ev, 0.25, false)}
}

// The history's facts give back the audit's row exactly (history
// --run-group prints rows rebuilt from them).
func TestFactsRebuildTheAuditRow(t *testing.T) {
	e := sampleEntry()
	raw, v, err := factsOf(new(audit.RowOf(e))).Encode()
	if err != nil || v != store.FactsVersion {
		t.Fatal(v, err)
	}
	f, err := store.DecodeFacts(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Critical || !f.TagsKnown || !f.DescribeKnown || len(f.ReadErrors) != 1 {
		t.Errorf("facts lost what restore and KPIs need: %+v", f)
	}
	if diff := cmp.Diff(e.Result, history.TableResult(f)); diff != "" {
		t.Errorf("rebuilt row (-audit +history):\n%s", diff)
	}

	// A table decided by AWS Config keeps its source and age in the history;
	// one read live in a Config audit keeps why.
	for _, tc := range []struct {
		source, reason string
		age            time.Duration
	}{{model.SourceConfig, "", 90 * time.Minute}, {model.SourceLive, "config_stale", 0}} {
		c := sampleEntry()
		c.Table.Source, c.Table.SourceReason, c.Table.SourceAge = tc.source, tc.reason, tc.age
		c.Result = report.NewTableResult(c.Table, c.Eval, 0.25, false)
		raw, _, err := factsOf(new(audit.RowOf(c))).Encode()
		if err != nil {
			t.Fatal(err)
		}
		cf, err := store.DecodeFacts(raw)
		if err != nil {
			t.Fatal(err)
		}
		got := history.TableResult(cf)
		if diff := cmp.Diff(c.Result, got); diff != "" || got.Source != tc.source || got.SourceAgeSeconds != tc.age.Seconds() || got.SourceReason != tc.reason {
			t.Errorf("%s row (-audit +history):\n%s", tc.source, diff)
		}
	}
}

// A restore of a deleted table reads the same settings from versioned facts
// as from the unversioned rows older pitrguard versions stored.
func TestRestoreReadsVersionedFacts(t *testing.T) {
	e := sampleEntry()
	v1, _, err := factsOf(new(audit.RowOf(e))).Encode()
	if err != nil {
		t.Fatal(err)
	}
	legacy, _ := json.Marshal(e.Result)
	seen := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	a, err := restore.FromSnapshot(v1, seen, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, err := restore.FromSnapshot(legacy, seen, 7)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b, a, cmpopts.IgnoreUnexported(restore.Settings{}), cmpopts.IgnoreUnexported(ddbtypes.StreamSpecification{})); diff != "" {
		t.Errorf("settings from versioned facts differ (-legacy +v1):\n%s", diff)
	}
	if a.PITR == nil || a.PITR.Days != 14 || !a.DeletionProtection || a.Tags["env"] != "prod" || a.Stream == nil {
		t.Errorf("settings: %+v", a)
	}
}
