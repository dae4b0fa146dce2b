package audit

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/inventory/inventorytest"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/pricing"
)

const self = "111111111111"

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func run(t *testing.T, ctx context.Context, f *inventorytest.Fake) *Result {
	t.Helper()
	prices, err := pricing.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return Run(ctx, inventorytest.Provider{Self: self}, Params{
		Scope: inventory.Scope{Regions: []string{"us-east-1"}, Concurrency: 2}, Policy: config.Default(), Prices: prices,
		Now: now, TableWorkers: 2, Clients: f.Clients(),
	})
}

func TestRunVerdictsAndSummary(t *testing.T) {
	f := inventorytest.New()
	old := now.Add(-48 * time.Hour)
	prod := map[string]string{"env": "prod"}
	f.Add(self, "us-east-1", "orders", &inventorytest.Table{PITR: true, Days: 35, Created: old, Tags: prod, Bulk: true})
	f.Add(self, "us-east-1", "short", &inventorytest.Table{PITR: true, Days: 7, Created: old, Tags: prod, Bulk: true})
	f.Add(self, "us-east-1", "cart", &inventorytest.Table{Created: old})
	f.Add(self, "us-east-1", "backfill", &inventorytest.Table{Status: "UPDATING", Created: old})
	f.Add(self, "us-east-1", "new", &inventorytest.Table{Status: "CREATING", Created: old})
	res := run(t, t.Context(), f)
	a := res.Report
	got := map[string]model.Verdict{}
	for _, tr := range a.Tables {
		got[tr.Name] = tr.Verdict
	}
	want := map[string]model.Verdict{"orders": model.Compliant, "short": model.NonCompliant, "cart": model.NonCompliant,
		"backfill": model.NonCompliant, "new": model.Skipped}
	for n, v := range want {
		if got[n] != v {
			t.Errorf("%s = %s, want %s", n, got[n], v)
		}
	}
	var names []string
	for _, tr := range a.Tables {
		names = append(names, tr.Name)
	}
	if !slices.IsSorted(names) {
		t.Errorf("tables not sorted: %v", names)
	}
	s := a.Summary
	if s.Tables != 5 || s.Compliant != 1 || s.NonCompliant != 3 || s.Skipped != 1 || !s.CoverageComplete || a.Run.Status != StatusCompleted {
		t.Errorf("summary %+v status %s", s, a.Run.Status)
	}
	if res.Interrupted || len(a.Errors) != 0 {
		t.Errorf("interrupted %v errors %+v", res.Interrupted, a.Errors)
	}
}

// TestRunTagsUnreadable is issue 9 #4 through the whole audit: the tagging API
// and ListTagsOfResource both refuse, and the prod table with a 7-day window
// used to come out COMPLIANT as standard.
func TestRunTagsUnreadable(t *testing.T) {
	f := inventorytest.New()
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Fault: smithy.FaultClient}
	f.BulkErr = denied
	old := now.Add(-48 * time.Hour)
	f.Add(self, "us-east-1", "orders", &inventorytest.Table{PITR: true, Days: 7, Created: old, Tags: map[string]string{"env": "prod"},
		Errs: map[string]error{"ListTagsOfResource": denied}})
	f.Add(self, "us-east-1", "off", &inventorytest.Table{Created: old, Errs: map[string]error{"ListTagsOfResource": denied}})
	a := run(t, t.Context(), f).Report
	for _, tr := range a.Tables {
		switch tr.Name {
		case "orders":
			if tr.Verdict != model.Unknown || !slices.Equal(tr.Reasons, []model.Reason{model.ReasonTagsUnreadable}) {
				t.Errorf("orders: %s %v, want UNKNOWN [tags_unreadable]", tr.Verdict, tr.Reasons)
			}
		case "off": // fails in every tier: the tags do not matter
			if tr.Verdict != model.NonCompliant {
				t.Errorf("off: %s %v", tr.Verdict, tr.Reasons)
			}
		}
	}
	if a.Summary.Unknown != 1 || len(a.Errors) != 2 {
		t.Errorf("summary %+v errors %+v", a.Summary, a.Errors)
	}
}

// TestRunInterrupted is issue 16 #9/#1: the JSON of an interrupted audit says
// so, its coverage is incomplete with a reason in errors, and the table that
// was being read when the run ended is named.
func TestRunInterrupted(t *testing.T) {
	f := inventorytest.New()
	old := now.Add(-48 * time.Hour)
	f.Add(self, "us-east-1", "a", &inventorytest.Table{PITR: true, Created: old})
	f.Add(self, "us-east-1", "stalled", &inventorytest.Table{PITR: true, Created: old, Block: true})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	res := run(t, ctx, f)
	a := res.Report
	if !res.Interrupted || a.Run.Status != StatusInterrupted || a.Summary.CoverageComplete {
		t.Errorf("interrupted %v status %q coverage %v", res.Interrupted, a.Run.Status, a.Summary.CoverageComplete)
	}
	var run, stalled bool
	for _, e := range a.Errors {
		run = run || (e.Table == "" && e.Account == "" && e.Reason == model.ReasonTimeout)
		stalled = stalled || (e.Table == "stalled" && e.Reason == model.ReasonTimeout)
	}
	if !run || !stalled {
		t.Errorf("errors %+v: want the run-level reason and the stalled table", a.Errors)
	}
	if len(a.Tables) != 1 || a.Tables[0].Name != "a" {
		t.Errorf("tables %+v", a.Tables)
	}
}
