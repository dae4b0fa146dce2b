package cli

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// TestAuditStalledTableTimesOut is issue 16 #1 through the fault proxy: one
// table's DescribeContinuousBackups is accepted and never answered. The audit
// used to hang; now the calls time out, the table is UNKNOWN (timeout), the
// others are judged, and the run ends within the bound.
func TestAuditStalledTableTimesOut(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true}, testaws.TableSpec{Name: "stalled", PITR: true},
		testaws.TableSpec{Name: "cart"})
	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Table: "stalled", Fault: testaws.FaultStall})
	start := time.Now()
	r := e.run(t, "audit", "--regions", "us-east-1", "--format", "json", "--request-timeout", "8s", "--max-attempts", "2")
	if el := time.Since(start); el > 90*time.Second { // the stalled call: 2 × 8s; the margin is for a loaded machine
		t.Errorf("took %s", el)
	}
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	a := r.audit(t)
	tr := findTable(t, a, mgmt, "us-east-1", "stalled")
	if tr.Verdict != model.Unknown || !slices.Equal(tr.Reasons, []model.Reason{model.ReasonTimeout}) {
		t.Errorf("stalled: %s %v, want UNKNOWN [timeout]", tr.Verdict, tr.Reasons)
	}
	if v := findTable(t, a, mgmt, "us-east-1", "orders").Verdict; v != model.Compliant {
		t.Errorf("orders: %s", v)
	}
	if v := findTable(t, a, mgmt, "us-east-1", "cart").Verdict; v != model.NonCompliant {
		t.Errorf("cart: %s", v)
	}
	n := 0
	for _, c := range e.proxy.Calls() {
		if c.Op == "DescribeContinuousBackups" && c.Table == "stalled" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("stalled DescribeContinuousBackups attempts = %d, want 2 (--max-attempts)", n)
	}
	if len(a.Errors) != 1 || a.Errors[0].Table != "stalled" || a.Errors[0].Reason != model.ReasonTimeout {
		t.Errorf("errors %+v", a.Errors)
	}
}

// TestAuditInterruptedWhileStalled is issue 16 #1/#9: SIGTERM while one table
// is stalled used to give a report that said "see errors" and listed nothing.
// Now the JSON says the run was interrupted, and names the stalled table.
func TestAuditInterruptedWhileStalled(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true}, testaws.TableSpec{Name: "stalled", PITR: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Table: "stalled", Fault: testaws.FaultStall,
		Inspect: func(map[string]any) { time.AfterFunc(500*time.Millisecond, cancel) }})
	r := e.runCtx(t, ctx, "audit", "--regions", "us-east-1", "--format", "json", "-q")
	if r.code != ExitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", r.code, r.errOut)
	}
	a := r.audit(t)
	if a.Run.Status != "interrupted" || a.Summary.CoverageComplete {
		t.Errorf("run.status %q coverage %v", a.Run.Status, a.Summary.CoverageComplete)
	}
	var run, stalled bool
	for _, er := range a.Errors {
		run = run || (er.Table == "" && er.Reason == model.ReasonInterrupted)
		stalled = stalled || (er.Table == "stalled" && er.Reason == model.ReasonInterrupted)
	}
	if !run || !stalled {
		t.Errorf("errors %+v: want the interruption and the stalled table", a.Errors)
	}
	// -q does not hide the errors.
	if !strings.Contains(r.errOut, "Errors (") || !strings.Contains(r.errOut, "stalled") {
		t.Errorf("stderr under -q: %s", r.errOut)
	}
}

// TestAuditQuietKeepsErrors is issue 16 #9: with -q the summary said "(see
// errors)" and no error was shown anywhere.
func TestAuditQuietKeepsErrors(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true})
	e.proxy.Add(&testaws.Rule{Op: "ListTables", Region: "eu-west-1", Fault: testaws.FaultAccessDenied})
	r := e.run(t, "audit", "--regions", "us-east-1,eu-west-1", "-q")
	if r.code != ExitFailure {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	if !strings.Contains(r.errOut, "Errors (1):") || !strings.Contains(r.errOut, "eu-west-1") || strings.Contains(r.errOut, "Compliance rate") {
		t.Errorf("stderr: %s", r.errOut)
	}
}

// TestAuditTimeoutBoundsTheRun: --timeout bounds the whole audit even when a
// call's own bound (--request-timeout × --max-attempts) is long; the table
// still stalled is named, and the exit code is 1, not a hang.
func TestAuditTimeoutBoundsTheRun(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true}, testaws.TableSpec{Name: "stalled", PITR: true})
	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Table: "stalled", Fault: testaws.FaultStall})
	start := time.Now()
	r := e.run(t, "audit", "--regions", "us-east-1", "--format", "json", "--timeout", "15s")
	if el := time.Since(start); el > 45*time.Second {
		t.Errorf("took %s with --timeout 15s", el)
	}
	if r.code != ExitFailure || !strings.Contains(r.errOut, "stopped after --timeout 15s") {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	a := r.audit(t)
	if a.Run.Status != "interrupted" || a.Summary.CoverageComplete {
		t.Errorf("run.status %q coverage %v", a.Run.Status, a.Summary.CoverageComplete)
	}
	named := false
	for _, er := range a.Errors {
		named = named || (er.Table == "stalled" && er.Reason == model.ReasonTimeout)
	}
	if !named {
		t.Errorf("errors %+v: the stalled table is not named", a.Errors)
	}
	if v := findTable(t, a, mgmt, "us-east-1", "orders").Verdict; v != model.Compliant {
		t.Errorf("orders: %s", v)
	}
}
