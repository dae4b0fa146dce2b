package drill

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/selection"
)

func auditOf(coverage bool, errs []model.ScanError, tables ...*model.Table) func(context.Context) *audit.Result {
	return func(context.Context) *audit.Result {
		r := &audit.Result{Report: &report.Audit{Errors: errs, Summary: policy.Summary{CoverageComplete: coverage}}}
		for _, t := range tables {
			r.Entries = append(r.Entries, audit.Entry{Table: t, Eval: policy.Result{Verdict: model.Compliant, Tier: config.Tier{Name: "standard"}}})
		}
		return r
	}
}

func table(name string, pitr bool, status string) *model.Table {
	return &model.Table{Account: acct, Region: region, Name: name, ARN: arnOf(name), Status: status, PITR: model.PITR{Known: true, Enabled: pitr}}
}

// TestRunCarriesCoverageAndErrors: an account the audit could not scan makes
// the drill's coverage incomplete and is listed (issue 9 #9); skipped tables
// say why; confirmation sees the drills and their cost before anything runs.
func TestRunCarriesCoverageAndErrors(t *testing.T) {
	db := newFake()
	db.addSource("orders", 2)
	scanErr := model.ScanError{Account: "222222222222", Region: region, Code: "AccessDenied", Reason: model.ReasonAssumeRoleFailed, Message: "cannot assume"}
	var confirmed []Item
	rep, err := Run(t.Context(), Options{Poll: time.Millisecond, Wait: time.Second}, Deps{
		Audit:       auditOf(false, []model.ScanError{scanErr}, table("orders", true, "ACTIVE"), table("off", false, "ACTIVE"), table(Prefix+"x", true, "ACTIVE")),
		Clients:     func(context.Context, string, string) (API, error) { return db, nil },
		RestoreCost: func(string, int64) float64 { return 0.5 },
		Confirm: func(_ context.Context, items []Item, _ []Skipped, cost float64) error {
			confirmed = items
			if cost != 0.5 {
				t.Errorf("cost %v", cost)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.CoverageComplete || len(rep.Errors) != 1 || rep.Errors[0] != scanErr {
		t.Errorf("coverage %v errors %+v", rep.CoverageComplete, rep.Errors)
	}
	if len(confirmed) != 1 || len(rep.Drills) != 1 || rep.Drills[0].Result != "passed" || rep.Summary.Passed != 1 {
		t.Errorf("drills %+v", rep.Drills)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Table != "off" {
		t.Errorf("skipped %+v (a scratch table is never drilled)", rep.Skipped)
	}
}

// TestRunDeclinedOrUnmatched: a declined confirmation restores nothing; a
// --table that matches nothing is reported as unmatched.
func TestRunDeclinedOrUnmatched(t *testing.T) {
	db := newFake()
	db.addSource("orders", 1)
	no := errors.New("declined")
	rep, err := Run(t.Context(), Options{Select: selection.Criteria{Tables: []model.TableRef{{Name: "orders"}, {Name: "nope"}}}}, Deps{
		Audit:   auditOf(true, nil, table("orders", true, "ACTIVE")),
		Clients: func(context.Context, string, string) (API, error) { return db, nil },
		Confirm: func(context.Context, []Item, []Skipped, float64) error { return no },
	})
	if !errors.Is(err, no) || db.called("RestoreTableToPointInTime", "") != 0 {
		t.Errorf("declined: %v calls %v", err, db.calls)
	}
	if rep == nil || len(rep.Unmatched) != 1 || rep.Unmatched[0] != "--table nope" {
		t.Errorf("unmatched %+v", rep)
	}
}
