package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pitrguard/pitrguard/internal/drill"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

func decodeDrills(t *testing.T, r result) *DrillReport {
	t.Helper()
	var d DrillReport
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatalf("not a drill report: %v\nstdout:\n%s\nstderr:\n%s", err, r.out, r.errOut)
	}
	return &d
}

func tableNames(t *testing.T, e *env, region string) []string {
	t.Helper()
	out, err := dynamodb.NewFromConfig(e.seed.Config(context.Background(), mgmt, region)).ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	return out.TableNames
}

// TestDrillPassesAndCleansUp is the acceptance drill.
func TestDrillPassesAndCleansUp(t *testing.T) {
	e := newEnv(t, 0)
	db := sourceTable(t, e, "T")
	before := readState(t, db, "T")
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "no-pitr"})
	// The scratch table is CREATING for three polls: the restore time is measured.
	// Scratch names end in a random part: the rule matches the rest.
	scratch := drill.Prefix + "T-" + fixedNow.Format("20060102t150405") + "-"
	e.proxy.Clear()
	e.proxy.Add(&testaws.Rule{Op: "DescribeTable", TablePrefix: scratch, Times: 3, Mutate: testaws.SetTableStatus("CREATING")})
	r := e.run(t, "drill", "--table", "T", "--regions", "us-east-1", "--yes", "--format", "json", "--poll", "50ms")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	rep := decodeDrills(t, r)
	if len(rep.Drills) != 1 {
		t.Fatalf("drills: %+v", rep.Drills)
	}
	d := rep.Drills[0]
	if d.Result != "passed" || d.Cleanup != "deleted" || !strings.HasPrefix(d.ScratchTable, scratch) || d.RestoreSeconds < 0.3 || d.TotalSeconds < d.RestoreSeconds {
		t.Errorf("drill: %+v", d)
	}
	checks := map[string]bool{}
	for _, c := range d.Checks {
		checks[c.Name] = c.OK
	}
	for _, c := range []string{"restore", "key_schema", "indexes", "item_count", "sample"} {
		if !checks[c] {
			t.Errorf("check %s: %+v", c, d.Checks)
		}
	}
	if rep.Summary.Passed != 1 || rep.Summary.MTTRMedian != d.RestoreSeconds || rep.Summary.BySizeBucket["<1GiB"].Drills != 1 {
		t.Errorf("summary %+v", rep.Summary)
	}
	for _, n := range tableNames(t, e, "us-east-1") {
		if strings.HasPrefix(n, drill.Prefix) {
			t.Errorf("scratch table %s left behind", n)
		}
	}
	if m := mutatingOn(e, "T"); len(m) > 0 {
		t.Errorf("mutating calls on the source: %v", m)
	}
	if after := readState(t, db, "T"); after.PITR != before.PITR || len(after.Items) != len(before.Items) || after.Tags["env"] != "prod" {
		t.Errorf("source changed: %+v", after)
	}
	// Evidence is recorded.
	h := e.run(t, "history", "drills", "--format", "json")
	var hist struct {
		Drills []struct{ Table, Result, Cleanup string }
	}
	if err := json.Unmarshal([]byte(h.out), &hist); err != nil || len(hist.Drills) != 1 || hist.Drills[0].Result != "passed" {
		t.Fatalf("history drills: %v %s", err, h.out)
	}

	// --due: T passed just now, so only tables never drilled are due; no-pitr is skipped (nothing to restore).
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "fresh", PITR: true, Items: 1})
	r = e.run(t, "drill", "--regions", "us-east-1", "--due", "--yes", "--format", "json", "--poll", "10ms")
	rep = decodeDrills(t, r)
	if r.code != ExitOK || len(rep.Drills) != 1 || rep.Drills[0].Table != "fresh" {
		t.Errorf("--due: exit %d drills %+v", r.code, rep.Drills)
	}
	skipped := false
	for _, s := range rep.Skipped {
		skipped = skipped || (s.Table == "no-pitr" && strings.Contains(s.Reason, "PITR is off"))
	}
	if !skipped {
		t.Errorf("no-pitr not reported as skipped: %+v", rep.Skipped)
	}
}

func TestDrillCleanupFailureAndLeftovers(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true, Items: 3})
	e.proxy.Add(&testaws.Rule{Op: "DeleteTable", Fault: testaws.FaultAccessDenied, Message: "not authorized to perform: dynamodb:DeleteTable"})
	r := e.run(t, "drill", "--table", "orders", "--regions", "us-east-1", "--yes", "--format", "json", "--poll", "10ms")
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want 1 (scratch left behind)", r.code)
	}
	rep := decodeDrills(t, r)
	if d := rep.Drills[0]; d.Cleanup != "failed" || !strings.Contains(d.CleanupDetail, "AccessDeniedException") || rep.Summary.LeftBehind != 1 {
		t.Errorf("drill: %+v", d)
	}
	// A table with the prefix but without the tag is never deleted.
	db := dynamodb.NewFromConfig(e.seed.Config(ctx, mgmt, "us-east-1"))
	if err := testaws.CreateTable(ctx, db, testaws.TableSpec{Name: drill.Prefix + "not-ours"}); err != nil {
		t.Fatal(err)
	}
	e.proxy.Clear()
	r = e.run(t, "drill", "cleanup", "--regions", "us-east-1", "--format", "json")
	var out struct{ Leftovers []drill.Leftover }
	if err := json.Unmarshal([]byte(r.out), &out); err != nil || r.code != ExitOK {
		t.Fatalf("cleanup: exit %d %v %s", r.code, err, r.errOut)
	}
	res := map[string]string{}
	for _, l := range out.Leftovers {
		res[l.Table] = l.Result
	}
	if res[rep.Drills[0].ScratchTable] != "deleted" || res[drill.Prefix+"not-ours"] != "skipped" {
		t.Errorf("cleanup: %+v", out.Leftovers)
	}
	names := tableNames(t, e, "us-east-1")
	if len(names) != 2 { // orders and the untagged table
		t.Errorf("tables after cleanup: %v", names)
	}
}

func TestDrillRestoreFailureMapped(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true})
	e.proxy.Add(&testaws.Rule{Op: "RestoreTableToPointInTime", Fault: testaws.FaultAccessDenied, Code: "PointInTimeRecoveryUnavailableException", Message: "Point in time recovery is not enabled"})
	r := e.run(t, "drill", "--table", "orders", "--regions", "us-east-1", "--yes", "--format", "json")
	rep := decodeDrills(t, r)
	if r.code != ExitFailure || rep.Drills[0].Result != "failed" || rep.Drills[0].Cleanup != "not_needed" ||
		!strings.Contains(rep.Drills[0].Checks[0].Detail, "PITR is not enabled on orders") {
		t.Errorf("exit %d drill %+v", r.code, rep.Drills)
	}
	if r := e.run(t, "drill", "--regions", "us-east-1", "--tier", "standard"); r.code != ExitUsage || !strings.Contains(r.errOut, "--yes") {
		t.Errorf("broad selection, no tty, no --yes: exit %d", r.code)
	}
	if r := e.run(t, "drill", "--table", "orders", "--regions", "us-east-1", "--every", "soon", "--yes"); r.code != ExitUsage || !strings.Contains(r.errOut, "90d") {
		t.Errorf("bad --every: exit %d %s", r.code, r.errOut)
	}
}

// TestDrillCtrlCStillCleansUp: Ctrl-C right after the restore was requested
// still tags and deletes the scratch table.
func TestDrillCtrlCStillCleansUp(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true, Items: 2})
	ctx, cancel := context.WithCancel(context.Background())
	e.proxy.Add(&testaws.Rule{Op: "RestoreTableToPointInTime", Mutate: func(map[string]any) { cancel() }})
	r := e.runCtx(t, ctx, "drill", "--table", "orders", "--regions", "us-east-1", "--yes", "--format", "json", "--poll", "10ms")
	if r.code != ExitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", r.code, r.errOut)
	}
	rep := decodeDrills(t, r)
	if len(rep.Drills) != 1 || rep.Drills[0].Cleanup != "deleted" || rep.Drills[0].Result != "failed" {
		t.Errorf("drill: %+v", rep.Drills)
	}
	for _, n := range tableNames(t, e, "us-east-1") {
		if strings.HasPrefix(n, drill.Prefix) {
			t.Errorf("scratch table %s left behind after Ctrl-C", n)
		}
	}
	if e.proxy.Count("DeleteTable") != 1 {
		t.Errorf("DeleteTable calls: %d", e.proxy.Count("DeleteTable"))
	}
}

// TestDrillHomeRegionScopes: `--region` without `--regions` scans that region only.
func TestDrillHomeRegionScopes(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "T", PITR: true, Items: 2})
	r := e.run(t, "drill", "--table", "T", "--region", "us-east-1", "--format", "json", "--poll", "10ms")
	if r.code != ExitOK || decodeDrills(t, r).Summary.Passed != 1 {
		t.Fatalf("exit %d %s", r.code, r.errOut)
	}
	for _, c := range e.proxy.Calls() {
		if c.Op == "ListTables" && c.Region != "us-east-1" {
			t.Errorf("scanned %s", c.Region)
		}
	}
	if e.proxy.Count("DescribeRegions") != 0 {
		t.Error("DescribeRegions called: --region should have scoped the scan")
	}
}
