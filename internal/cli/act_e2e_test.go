package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/drill"
	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// lastRunCoverage reads the coverage of the newest run of kind from history.
func lastRunCoverage(t *testing.T, e *env, kind string) (bool, bool) {
	t.Helper()
	h := e.run(t, "history", "--format", "json")
	var hist struct{ Runs []historyRun }
	if err := json.Unmarshal([]byte(h.out), &hist); err != nil {
		t.Fatalf("history: %v\n%s", err, h.out)
	}
	for _, r := range hist.Runs {
		if r.Kind == kind {
			return r.CoverageComplete, true
		}
	}
	return false, false
}

// TestDrillOrgUnassumableAccountIsIncomplete: `drill --org --due --yes`
// with a member account that cannot be assumed lists it in errors, records
// coverage false and exits 1, unless --allow-partial (issue 9 #9).
func TestDrillOrgUnassumableAccountIsIncomplete(t *testing.T) {
	e := newEnv(t, 1)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true, Items: 2})
	e.proxy.Add(&testaws.Rule{Op: "AssumeRole", Account: e.members[0], Fault: testaws.FaultAccessDenied,
		Message: "User is not authorized to perform: sts:AssumeRole"})
	args := []string{"drill", "--org", "--due", "--yes", "--regions", "us-east-1", "--format", "json", "--poll", "10ms"}
	r := e.run(t, args...)
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want 1 (coverage incomplete)\n%s", r.code, r.errOut)
	}
	rep := decodeDrills(t, r)
	if rep.CoverageComplete || len(rep.Errors) == 0 || rep.Errors[0].Account != e.members[0] || rep.Summary.Passed != 1 {
		t.Errorf("report: coverage %v errors %+v summary %+v", rep.CoverageComplete, rep.Errors, rep.Summary)
	}
	if !strings.Contains(r.errOut, e.members[0]) || !strings.Contains(r.errOut, "--allow-partial") {
		t.Errorf("stderr does not name the account and the way out:\n%s", r.errOut)
	}
	if cov, ok := lastRunCoverage(t, e, "drill"); !ok || cov {
		t.Errorf("history: drill run recorded with coverage %v (found %v)", cov, ok)
	}
	// --allow-partial: exit 0, still listed. (orders is not due any more.)
	r = e.run(t, append(args, "--allow-partial")...)
	if rep := decodeDrills(t, r); r.code != ExitOK || rep.CoverageComplete || len(rep.Errors) == 0 {
		t.Errorf("--allow-partial: exit %d coverage %v errors %+v\n%s", r.code, rep.CoverageComplete, rep.Errors, r.errOut)
	}
}

// TestEnableOrgUnassumableAccountIsIncomplete: the same rule for enable.
func TestEnableOrgUnassumableAccountIsIncomplete(t *testing.T) {
	e := newEnv(t, 1)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders"})
	e.proxy.Add(&testaws.Rule{Op: "AssumeRole", Account: e.members[0], Fault: testaws.FaultAccessDenied})
	r := e.run(t, "enable", "--org", "--regions", "us-east-1", "--apply", "--yes", "--format", "json")
	p := decodePlan(t, r)
	if r.code != ExitFailure || p.CoverageComplete || len(p.Errors) == 0 || p.Summary.Applied != 1 {
		t.Errorf("exit %d coverage %v errors %+v summary %+v", r.code, p.CoverageComplete, p.Errors, p.Summary)
	}
	if cov, ok := lastRunCoverage(t, e, "enable"); !ok || cov {
		t.Errorf("history: enable run recorded with coverage %v (found %v)", cov, ok)
	}
}

// TestDrillCleanupScanFailureIsIncomplete: `drill cleanup` that cannot list a
// region's tables says so and exits 1 (issue 9 #9: "No scratch tables found.", exit 0).
func TestDrillCleanupScanFailureIsIncomplete(t *testing.T) {
	e := newEnv(t, 0)
	e.proxy.Add(&testaws.Rule{Op: "ListTables", Region: "eu-west-1", Fault: testaws.FaultAccessDenied, Message: "not authorized to perform: dynamodb:ListTables"})
	r := e.run(t, "drill", "cleanup", "--regions", "us-east-1,eu-west-1")
	if r.code != ExitFailure || !strings.Contains(r.errOut, "eu-west-1") || !strings.Contains(r.errOut, "could be searched") {
		t.Errorf("exit %d\n%s", r.code, r.errOut)
	}
	r = e.run(t, "drill", "cleanup", "--regions", "us-east-1,eu-west-1", "--format", "json", "--allow-partial")
	var rep drill.CleanupReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil || r.code != ExitOK || rep.CoverageComplete || len(rep.Errors) != 1 {
		t.Errorf("--allow-partial: exit %d %v %+v", r.code, err, rep)
	}
	if r := e.run(t, "drill", "cleanup", "--regions", "us-east-1", "--format", "xml"); r.code != ExitUsage {
		t.Errorf("--format xml: exit %d", r.code)
	}
}

// TestSelectorMatchingNothingExits5: `drill --table nope` and `enable --owner
// nobody` say so and exit 5, touching nothing (issue 16 #8).
func TestSelectorMatchingNothingExits5(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true, Tags: map[string]string{"owner": "team-a"}})
	for _, args := range [][]string{
		{"drill", "--table", "nope", "--regions", "us-east-1"},
		{"enable", "--owner", "nobody", "--regions", "us-east-1"},
		{"enable", "--table", "nope", "--regions", "us-east-1", "--apply", "--yes"},
		{"drill", "--tier", "critical", "--regions", "us-east-1", "--yes"},
	} {
		r := e.run(t, args...)
		if r.code != ExitNoMatch || !strings.Contains(r.errOut, "matched no table") {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.errOut)
		}
	}
	if n := e.proxy.Count("RestoreTableToPointInTime") + e.proxy.Count("UpdateContinuousBackups"); n != 0 {
		t.Errorf("%d mutating calls", n)
	}
	// A table ARN in a region --regions leaves out can never match: usage error.
	if r := e.run(t, "drill", "--table", "arn:aws:dynamodb:eu-west-1:123456789012:table/orders", "--regions", "us-east-1"); r.code != ExitUsage {
		t.Errorf("unmatchable ARN: exit %d", r.code)
	}
	// A selector that matches: exit 0.
	if r := e.run(t, "enable", "--owner", "team-a", "--regions", "us-east-1"); r.code != ExitOK {
		t.Errorf("--owner team-a: exit %d\n%s", r.code, r.errOut)
	}
}

// TestEnableApplyNoStoreRefused: `enable --apply --no-store` would change
// tables with no journal: refused up front, nothing sent (issue 16 #9).
func TestEnableApplyNoStoreRefused(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders"})
	e.proxy.Clear()
	r := e.run(t, "enable", "--regions", "us-east-1", "--apply", "--yes", "--no-store")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "--no-store") {
		t.Errorf("exit %d\n%s", r.code, r.errOut)
	}
	if e.proxy.Count("") != 0 || e.pitrState(t, mgmt, "us-east-1", "orders").Enabled {
		t.Error("a refused command reached AWS or changed the table")
	}
	// Planning without a store is fine.
	if r := e.run(t, "enable", "--regions", "us-east-1", "--no-store"); r.code != ExitOK {
		t.Errorf("plan --no-store: exit %d\n%s", r.code, r.errOut)
	}
}

// TestEnableConfirmationListsTables: the confirmation shows the tables (the
// first 20 and a count of the rest), not only counts (issue 16 #12).
func TestEnableConfirmationListsTables(t *testing.T) {
	e := newEnv(t, 0)
	var specs []testaws.TableSpec
	for i := range 22 {
		specs = append(specs, testaws.TableSpec{Name: fmt.Sprintf("t-%02d", i)})
	}
	e.tables(t, mgmt, "us-east-1", specs...)
	ios, in, _, errOut := iostreams.Test()
	ios.SetTTY(true)
	in.WriteString("no\n")
	f := &Factory{IO: ios, Now: func() time.Time { return fixedNow }, Credentials: testaws.Credentials}
	code := Run(context.Background(), []string{"enable", "--regions", "us-east-1", "--apply", "--endpoint-url", e.proxy.URL, "--db", e.db, "--quiet"}, f)
	s := errOut.String()
	if code != ExitFailure || !strings.Contains(s, "About to change 22 table(s)") {
		t.Fatalf("exit %d\n%s", code, s)
	}
	for _, want := range []string{"123456789012/us-east-1/t-00  enable_pitr  off → 35d", "t-19", "… and 2 more"} {
		if !strings.Contains(s, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "t-20") || strings.Index(s, "t-19") > strings.Index(s, "Type yes") {
		t.Errorf("confirmation lists past the first 20, or after the question:\n%s", s)
	}
}
