package cli

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// TestAuditCostExplorer: audit --cost-explorer reads last month's spend over
// two pages of moto's Cost Explorer, puts it in the summary beside the
// estimate, stores it with the run, and iam-policy audit allows the call.
func TestAuditCostExplorer(t *testing.T) {
	e := newEnv(t, 1)
	e.tables(t, e.members[0], "us-east-1", testaws.TableSpec{Name: "orders", PITR: true})
	if err := testaws.QueueCostAndUsage(context.Background(), e.moto.URL, "",
		testaws.CostPage("2026-10-01", "2026-11-01", "p2",
			testaws.CostGroup{UsageType: "TimedPITRStorage-ByteHrs", Amount: "30"},
			testaws.CostGroup{UsageType: "WriteRequestUnits", Amount: "120"}),
		testaws.CostPage("2026-10-01", "2026-11-01", "",
			testaws.CostGroup{UsageType: "EUW1-TimedBackupStorage-ByteHrs", Amount: "10"},
			testaws.CostGroup{UsageType: "EUW1-TimedStorage-ByteHrs", Amount: "40"}),
	); err != nil {
		t.Fatal(err)
	}
	e.proxy.Clear()
	r := e.run(t, "audit", "--org", "--regions", "us-east-1", "--cost-explorer", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	s := r.audit(t).Summary
	if s.SpendMonth != "2026-10" || s.DynamoDBSpendUSD == nil || *s.DynamoDBSpendUSD != 200 || *s.PITRSpendUSD != 30 ||
		*s.BackupSpendUSD != 10 || s.ResilienceCostShare == nil || math.Abs(*s.ResilienceCostShare-0.2) > 1e-9 {
		t.Errorf("summary spend: month %q dynamodb %v pitr %v backup %v share %v", s.SpendMonth, s.DynamoDBSpendUSD, s.PITRSpendUSD, s.BackupSpendUSD, s.ResilienceCostShare)
	}
	if n := e.proxy.Count("GetCostAndUsage"); n != 2 {
		t.Errorf("%d GetCostAndUsage calls, want 2 (two pages)", n)
	}
	for _, c := range e.proxy.Calls() {
		if c.Op == "GetCostAndUsage" && (c.Region != "us-east-1" || c.Service != "ce" || c.Account != testaws.ManagementAccount) {
			t.Errorf("Cost Explorer called as %+v; want the management account in us-east-1", c)
		}
	}
	assertPolicyCovers(t, e, "audit")

	// The stored run carries the spend (the evidence report reads it there).
	h := e.run(t, "history", "--kind", "audit", "--format", "json")
	var hist struct {
		Runs []struct {
			Summary map[string]any `json:"summary"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(h.out), &hist); err != nil || len(hist.Runs) != 1 {
		t.Fatalf("history: %v %s", err, h.out)
	}
	if got := hist.Runs[0].Summary; got["dynamodb_spend_usd"] != 200.0 || got["resilience_cost_share"] == nil {
		t.Errorf("stored summary: %v", got)
	}
	// The table form shows the spend beside the estimate.
	tr := e.run(t, "audit", "--org", "--regions", "us-east-1", "--cost-explorer", "--no-store")
	if !strings.Contains(tr.errOut, "Spend in 2026-10 (Cost Explorer): DynamoDB $200.00, PITR $30.00, backup $10.00; resilience share 20.0%") ||
		!strings.Contains(tr.errOut, "PITR now: $") {
		t.Errorf("table summary lacks the spend line:\n%s", tr.errOut)
	}
}

// TestAuditCostExplorerFailure: a Cost Explorer that refuses is an error of
// the run; the spend stays null and the tables' coverage is unaffected.
func TestAuditCostExplorerFailure(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, testaws.ManagementAccount, "us-east-1", testaws.TableSpec{Name: "a"})
	e.proxy.Add(&testaws.Rule{Op: "GetCostAndUsage", Fault: testaws.FaultAccessDenied})
	r := e.run(t, "audit", "--regions", "us-east-1", "--cost-explorer", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	a := r.audit(t)
	if s := a.Summary; s.DynamoDBSpendUSD != nil || s.PITRSpendUSD != nil || s.BackupSpendUSD != nil || s.ResilienceCostShare != nil || !s.CoverageComplete {
		t.Errorf("summary after a refused query: %+v", s)
	}
	found := false
	for _, er := range a.Errors {
		if strings.Contains(er.Message, "Cost Explorer") && er.Code == "AccessDeniedException" && er.Region == "us-east-1" && er.Reason == model.ReasonSpendUnreadable {
			found = true
		}
	}
	if !found {
		t.Errorf("no Cost Explorer error in %+v", a.Errors)
	}
	if !strings.Contains(r.out, `"resilience_cost_share": null`) {
		t.Error("resilience_cost_share is not null in the JSON")
	}
}
