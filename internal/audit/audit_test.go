package audit

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/inventory/inventorytest"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/pricing"
	"github.com/pitrguard/pitrguard/internal/report"
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

// TestRunStreamedEqualsRun: the streamed audit yields, one row at a time,
// exactly the rows the in-memory audit holds, in the same order, and the same
// report apart from where the tables are; the spill is merged over several
// levels here (runs of 2, merged 2 at a time).
func TestRunStreamedEqualsRun(t *testing.T) {
	f := inventorytest.New()
	old := now.Add(-48 * time.Hour)
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Fault: smithy.FaultClient}
	for i, region := range []string{"us-east-1", "eu-west-1"} {
		for j := range 7 {
			tb := &inventorytest.Table{PITR: j%3 != 0, Days: int32(7 * (j%5 + 1)), Created: old, Bulk: j%2 == 0,
				Tags: map[string]string{"env": []string{"prod", "dev"}[j%2], "owner": fmt.Sprint("team-", j)}}
			if i == 1 && j == 4 {
				tb.Errs = map[string]error{"DescribeContinuousBackups": denied}
			}
			f.Add(self, region, fmt.Sprintf("t-%02d", 20-j), tb)
		}
	}
	prices, err := pricing.Load("")
	if err != nil {
		t.Fatal(err)
	}
	prm := Params{Scope: inventory.Scope{Regions: []string{"us-east-1", "eu-west-1"}, Concurrency: 2}, Policy: config.Default(), Prices: prices,
		Now: now, TableWorkers: 3, Clients: f.Clients()}
	mem := Run(t.Context(), inventorytest.Provider{Self: self}, prm)
	dir := t.TempDir()
	st, err := RunStreamed(t.Context(), inventorytest.Provider{Self: self}, prm, SpillOptions{Dir: dir, RunSize: 2, FanIn: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Entries != nil || st.Report.Tables != nil || st.Report.Stream == nil {
		t.Fatalf("streamed result holds tables: %d entries, %d report tables", len(st.Entries), len(st.Report.Tables))
	}
	if s := st.SpillStats(); s.Rows != 14 || s.Levels < 3 {
		t.Errorf("spill %+v: want 14 rows merged over ≥ 3 levels", s)
	}
	rows := func(r *Result) []Row {
		var out []Row
		if err := r.EachRow(func(row *Row) error { out = append(out, *row); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if diff := cmp.Diff(rows(mem), rows(st)); diff != "" {
		t.Errorf("rows (-in memory +streamed):\n%s", diff)
	}
	var tables []report.TableResult
	if err := st.Report.EachTable(func(tr *report.TableResult) error { tables = append(tables, *tr); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(mem.Report.Tables, tables); diff != "" {
		t.Errorf("tables (-in memory +streamed):\n%s", diff)
	}
	a, b := *mem.Report, *st.Report
	a.Tables, b.Stream, a.Run.DurationSeconds, b.Run.DurationSeconds = nil, nil, 0, 0
	if diff := cmp.Diff(a, b); diff != "" || len(a.Errors) != 1 || a.Summary.Unknown != 1 {
		t.Errorf("report (-in memory +streamed):\n%s\nerrors %+v", diff, a.Errors)
	}
	st.Close()
	if err := st.EachRow(func(*Row) error { return nil }); err == nil {
		t.Error("rows readable after Close")
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("left in the spill directory: %v", names)
	}
}

// TestRunStreamedSpillFails: a spill that cannot be written stops the audit
// with an error naming the directory, and leaves no result to write.
func TestRunStreamedSpillFails(t *testing.T) {
	f := inventorytest.New()
	for i := range 50 {
		f.Add(self, "us-east-1", fmt.Sprint("t", i), &inventorytest.Table{Created: now.Add(-48 * time.Hour)})
	}
	prices, _ := pricing.Load("")
	missing := filepath.Join(t.TempDir(), "gone")
	res, err := RunStreamed(t.Context(), inventorytest.Provider{Self: self}, Params{
		Scope: inventory.Scope{Regions: []string{"us-east-1"}, Concurrency: 1}, Policy: config.Default(), Prices: prices,
		Now: now, TableWorkers: 1, Clients: f.Clients()}, SpillOptions{Dir: missing, RunSize: 1})
	if err == nil || res != nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("result %v, error %v", res, err)
	}
	if n := f.Count("DescribeTable"); n >= 50 {
		t.Errorf("the audit went on after the spill failed: %d tables described", n)
	}
}
