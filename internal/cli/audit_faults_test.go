package cli

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/pricing"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

func TestAuditThrottledThenRecovered(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true}, testaws.TableSpec{Name: "cart"})
	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Table: "orders", Times: 2, Fault: testaws.FaultThrottle},
		&testaws.Rule{Op: "DescribeContinuousBackups", Table: "cart", Times: 3, Fault: testaws.FaultThrottle})
	r := e.run(t, "audit", "--regions", "us-east-1", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	a := r.audit(t)
	if v := findTable(t, a, mgmt, "us-east-1", "orders").Verdict; v != model.Compliant {
		t.Errorf("orders = %s, want COMPLIANT after two throttles", v)
	}
	if v := findTable(t, a, mgmt, "us-east-1", "cart").Verdict; v != model.NonCompliant {
		t.Errorf("cart = %s, want NON_COMPLIANT after three throttles", v)
	}
	n := 0
	for _, c := range e.proxy.Calls() {
		if c.Op == "DescribeContinuousBackups" && c.Table == "orders" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("DescribeContinuousBackups(orders) = %d calls, want 3 (2 throttled + 1)", n)
	}
	if a.Run.Throttles != 5 {
		t.Errorf("run.throttles = %d, want 5", a.Run.Throttles)
	}
}

func TestAuditThrottledPastRetriesIsUnknown(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true}, testaws.TableSpec{Name: "cart", PITR: true})
	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Table: "orders", Fault: testaws.FaultThrottle})
	r := e.run(t, "audit", "--regions", "us-east-1", "--format", "json", "--max-attempts", "3")
	if r.code != ExitOK { // an UNKNOWN table does not make coverage incomplete
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	a := r.audit(t)
	tr := findTable(t, a, mgmt, "us-east-1", "orders")
	if tr.Verdict != model.Unknown || !slices.Equal(tr.Reasons, []model.Reason{model.ReasonThrottled}) || tr.PITR.Status != "UNKNOWN" {
		t.Errorf("orders: verdict %s reasons %v pitr %s, want UNKNOWN [throttled] UNKNOWN", tr.Verdict, tr.Reasons, tr.PITR.Status)
	}
	if v := findTable(t, a, mgmt, "us-east-1", "cart").Verdict; v != model.Compliant {
		t.Errorf("cart = %s", v)
	}
	if a.Summary.Unknown != 1 || a.Summary.ComplianceRate != 0.5 || !a.Summary.CoverageComplete {
		t.Errorf("summary %+v", a.Summary)
	}
	if len(a.Errors) != 1 || a.Errors[0].Table != "orders" || a.Errors[0].Code != "ThrottlingException" {
		t.Errorf("errors %+v", a.Errors)
	}
	if got := e.proxy.Count("DescribeContinuousBackups"); got != 4 {
		t.Errorf("DescribeContinuousBackups = %d, want 3 attempts for orders + 1 for cart", got)
	}
	// --fail-on unknown turns it into exit 3.
	if r := e.run(t, "audit", "--regions", "us-east-1", "--format", "json", "--max-attempts", "2", "--fail-on", "unknown"); r.code != ExitFindings {
		t.Errorf("--fail-on unknown: exit %d, want 3", r.code)
	}
}

func TestAuditAccessDeniedMemberAccount(t *testing.T) {
	e := newEnv(t, 2)
	e.tables(t, e.members[0], "us-east-1", testaws.TableSpec{Name: "denied-table"})
	e.tables(t, e.members[1], "us-east-1", testaws.TableSpec{Name: "fine", PITR: true})
	e.proxy.Add(&testaws.Rule{Op: "AssumeRole", Account: e.members[0], Fault: testaws.FaultAccessDenied,
		Message: "User is not authorized to perform: sts:AssumeRole"})
	r := e.run(t, "audit", "--org", "--regions", "us-east-1", "--format", "json")
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want 1 (coverage incomplete)\n%s", r.code, r.errOut)
	}
	if !strings.Contains(r.errOut, "coverage incomplete") || !strings.Contains(r.errOut, "--allow-partial") {
		t.Errorf("stderr does not explain the exit code: %s", r.errOut)
	}
	a := r.audit(t)
	if a.Summary.CoverageComplete {
		t.Error("coverage_complete = true")
	}
	if len(a.Errors) != 1 || a.Errors[0].Account != e.members[0] || a.Errors[0].Reason != model.ReasonAccessDenied ||
		!strings.Contains(a.Errors[0].Message, "OrganizationAccountAccessRole") {
		t.Errorf("errors %+v", a.Errors)
	}
	// The other accounts are unaffected.
	findTable(t, a, e.members[1], "us-east-1", "fine")
	for _, tr := range a.Tables {
		if tr.Account == e.members[0] {
			t.Errorf("table from the unreachable account: %+v", tr)
		}
	}
	if r := e.run(t, "audit", "--org", "--regions", "us-east-1", "--format", "json", "--allow-partial"); r.code != ExitOK {
		t.Errorf("--allow-partial: exit %d", r.code)
	}
}

func TestAuditAccessDeniedOnDescribeIsUnknown(t *testing.T) {
	e := newEnv(t, 1)
	e.tables(t, e.members[0], "eu-west-1", testaws.TableSpec{Name: "a", PITR: true}, testaws.TableSpec{Name: "b"})
	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Account: e.members[0], Fault: testaws.FaultAccessDenied})
	r := e.run(t, "audit", "--org", "--regions", "eu-west-1", "--format", "json")
	a := r.audit(t)
	for _, name := range []string{"a", "b"} {
		tr := findTable(t, a, e.members[0], "eu-west-1", name)
		if tr.Verdict != model.Unknown || tr.Reasons[0] != model.ReasonAccessDenied {
			t.Errorf("%s: %s %v, want UNKNOWN access_denied (never COMPLIANT or NON_COMPLIANT)", name, tr.Verdict, tr.Reasons)
		}
	}
	if a.Summary.ComplianceRate != 0 {
		t.Errorf("unknown tables must count against the rate: %v", a.Summary.ComplianceRate)
	}
}

func TestAuditTableVanishesAndCreating(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "gone"}, testaws.TableSpec{Name: "new"}, testaws.TableSpec{Name: "ok", PITR: true})
	e.proxy.Add(
		&testaws.Rule{Op: "DescribeTable", Table: "gone", Fault: testaws.FaultNotFound, Message: "Requested resource not found: Table: gone not found"},
		&testaws.Rule{Op: "DescribeTable", Table: "new", Mutate: testaws.SetTableStatus("CREATING")},
	)
	a := e.run(t, "audit", "--regions", "us-east-1", "--format", "json").audit(t)
	if tr := findTable(t, a, mgmt, "us-east-1", "gone"); tr.Verdict != model.Unknown || tr.Reasons[0] != model.ReasonNotFound {
		t.Errorf("gone: %s %v", tr.Verdict, tr.Reasons)
	}
	if tr := findTable(t, a, mgmt, "us-east-1", "new"); tr.Verdict != model.Skipped || tr.Reasons[0] != model.ReasonTableNotActive || tr.Status != "CREATING" {
		t.Errorf("new: %s %v %s", tr.Verdict, tr.Reasons, tr.Status)
	}
	for _, c := range e.proxy.Calls() {
		if c.Table == "gone" && c.Op == "DescribeContinuousBackups" {
			t.Error("DescribeContinuousBackups called for a table that no longer exists")
		}
	}
	if a.Summary.Skipped != 1 || a.Summary.Unknown != 1 || a.Summary.Compliant != 1 {
		t.Errorf("summary %+v", a.Summary)
	}
}

func TestAuditCostFromSizes(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "big", Tags: map[string]string{"env": "prod"}})
	e.tables(t, mgmt, "eu-west-1", testaws.TableSpec{Name: "big-eu", PITR: true})
	e.tables(t, mgmt, "ap-south-2", testaws.TableSpec{Name: "far"})
	e.proxy.Add(&testaws.Rule{Op: "DescribeTable", Mutate: testaws.SetTableSize(10 * pricing.GiB)})
	a := e.run(t, "audit", "--regions", "us-east-1,eu-west-1,ap-south-2", "--format", "json").audit(t)
	check := func(name, region string, want float64, est bool) {
		tr := findTable(t, a, mgmt, region, name)
		if math.Abs(tr.PITRMonthlyCostUSD-want) > 1e-6 || tr.CostEstimated != est || tr.SizeBytes != 10*pricing.GiB {
			t.Errorf("%s: $%v estimated=%v size=%d, want $%v estimated=%v", name, tr.PITRMonthlyCostUSD, tr.CostEstimated, tr.SizeBytes, want, est)
		}
	}
	check("big", "us-east-1", 2.0, false)
	check("big-eu", "eu-west-1", 2.2, false)
	check("far", "ap-south-2", 2.0, true)
	if a.Summary.GapMonthlyCostUSD != 4.0 || a.Summary.PITRMonthlyCostUSD != 2.2 || a.Summary.SnapshotGapTables != 1 {
		t.Errorf("summary gap $%v pitr $%v gap tables %d", a.Summary.GapMonthlyCostUSD, a.Summary.PITRMonthlyCostUSD, a.Summary.SnapshotGapTables)
	}
}

func TestAuditTagFallback(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", Tags: map[string]string{"env": "prod", "owner": "ops"}, PITR: true, RecoveryDays: 7})
	e.proxy.Add(&testaws.Rule{Op: "GetResources", Fault: testaws.FaultAccessDenied})
	a := e.run(t, "audit", "--regions", "us-east-1", "--format", "json").audit(t)
	tr := findTable(t, a, mgmt, "us-east-1", "orders")
	if tr.Tier != "critical" || tr.Owner != "ops" || tr.Verdict != model.NonCompliant {
		t.Errorf("tags not read through ListTagsOfResource: tier %s owner %s verdict %s", tr.Tier, tr.Owner, tr.Verdict)
	}
	if e.proxy.Count("ListTagsOfResource") != 1 {
		t.Errorf("ListTagsOfResource = %d", e.proxy.Count("ListTagsOfResource"))
	}
}

// TestAuditNeverMutates records every operation of an audit over an
// organization and fails on anything that is not a read.
func TestAuditNeverMutates(t *testing.T) {
	e := newEnv(t, 2)
	seedSmallOrg(t, e)
	e.proxy.Clear()
	e.proxy.Add(&testaws.Rule{Op: "GetResources", Account: e.members[1], Fault: testaws.FaultAccessDenied}) // exercise the tag fallback too
	r := e.run(t, "audit", "--org", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	ops := e.proxy.Ops()
	if len(ops) < 8 {
		t.Fatalf("too few operations recorded: %v", ops)
	}
	for _, op := range ops {
		read := strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List") || strings.HasPrefix(op, "Get") || op == "AssumeRole"
		if !read {
			t.Errorf("audit called %s, which is not a read", op)
		}
	}
}

func TestAuditInterrupted(t *testing.T) {
	e := newEnv(t, 0)
	var specs []testaws.TableSpec
	for i := range 40 {
		specs = append(specs, testaws.TableSpec{Name: fmt.Sprintf("t-%02d", i), PITR: true})
	}
	e.tables(t, mgmt, "us-east-1", specs...)
	ctx, cancel := context.WithCancel(context.Background())
	// Press Ctrl-C once the fifth table's PITR status has been answered.
	var seen atomic.Int32
	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Mutate: func(map[string]any) {
		if seen.Add(1) == 5 {
			cancel()
		}
	}})
	r := e.runCtx(t, ctx, "audit", "--regions", "us-east-1", "--format", "json")
	if r.code != ExitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", r.code, r.errOut)
	}
	a := r.audit(t)
	if a.Summary.CoverageComplete || len(a.Tables) == 0 || len(a.Tables) >= 40 {
		t.Errorf("partial report: %d tables, coverage %v", len(a.Tables), a.Summary.CoverageComplete)
	}
	if !strings.Contains(r.errOut, "interrupted") {
		t.Errorf("stderr: %s", r.errOut)
	}
	h := e.run(t, "history", "--format", "json")
	if !strings.Contains(h.out, `"status": "interrupted"`) {
		t.Errorf("history does not record the interruption:\n%s", h.out)
	}
}

// TestAuditStandardChainAndEndpointEnv uses the SDK's own credential chain and
// AWS_ENDPOINT_URL, as a user on a workstation would.
func TestAuditStandardChainAndEndpointEnv(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "eu-west-1", testaws.TableSpec{Name: "orders", PITR: true})
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ENDPOINT_URL", e.proxy.URL)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(e.dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(e.dir, "none"))
	ios, _, out, errOut := iostreams.Test()
	code := Run(context.Background(), []string{"audit", "--regions", "eu-west-1", "--format", "json", "--no-store"},
		&Factory{IO: ios, Now: func() time.Time { return fixedNow }})
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	a := result{out: out.String()}.audit(t)
	if len(a.Tables) != 1 || a.Tables[0].Verdict != model.Compliant {
		t.Errorf("tables: %+v", a.Tables)
	}
	if e.proxy.Count("DescribeContinuousBackups") != 1 {
		t.Error("AWS_ENDPOINT_URL was not honoured")
	}
}

// TestAuditDisabledRegion: a region that is not enabled answers with an
// authentication error; pitrguard tells it apart with DescribeRegions.
func TestAuditDisabledRegion(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true})
	e.proxy.Add(&testaws.Rule{Op: "ListTables", Region: "me-west-1", Fault: testaws.FaultAccessDenied, Code: "UnrecognizedClientException",
		Message: "The security token included in the request is invalid."})
	r := e.run(t, "audit", "--regions", "us-east-1,me-west-1", "--format", "json")
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want 1", r.code)
	}
	a := r.audit(t)
	if len(a.Errors) != 1 || a.Errors[0].Reason != model.ReasonRegionDisabled || a.Errors[0].Region != "me-west-1" ||
		!strings.Contains(a.Errors[0].Message, "not enabled") {
		t.Errorf("errors %+v", a.Errors)
	}
	if len(a.Tables) != 1 {
		t.Errorf("the enabled region's tables: %+v", a.Tables)
	}
	if n := e.proxy.Count("DescribeRegions"); n != 1 {
		t.Errorf("DescribeRegions = %d, want 1 (only to diagnose the failure)", n)
	}
}
