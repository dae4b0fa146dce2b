package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/iampolicy"
	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/remediate"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

const enablePolicy = "testdata/enable-policy.yaml"

// pitrState reads a table's PITR state straight from the emulator.
func (e *env) pitrState(t *testing.T, account, region, table string) remediate.State {
	t.Helper()
	db := dynamodb.NewFromConfig(e.seed.Config(context.Background(), account, region))
	out, err := db.DescribeContinuousBackups(context.Background(), &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	pd := out.ContinuousBackupsDescription.PointInTimeRecoveryDescription
	if pd.PointInTimeRecoveryStatus != ddbtypes.PointInTimeRecoveryStatusEnabled {
		return remediate.State{}
	}
	return remediate.State{Enabled: true, Days: int(aws.ToInt32(pd.RecoveryPeriodInDays))}
}

type tableKey struct{ account, region, name string }

// seedEnableOrg creates an organization whose tables need every kind of action.
func seedEnableOrg(t *testing.T, e *env) map[tableKey]remediate.State {
	prod := map[string]string{"env": "prod"}
	e.tables(t, mgmt, "us-east-1",
		testaws.TableSpec{Name: "orders", Tags: prod, PITR: true, RecoveryDays: 35},                                   // compliant
		testaws.TableSpec{Name: "payments", Tags: prod, PITR: true, RecoveryDays: 7},                                  // raise 7 → 35
		testaws.TableSpec{Name: "sessions", Tags: prod},                                                               // enable 35
		testaws.TableSpec{Name: "scratch-1"},                                                                          // exempt: never touched
		testaws.TableSpec{Name: "weekly-35", Tags: map[string]string{"tier": "weekly"}, PITR: true, RecoveryDays: 35}, // above its 7-day tier: left alone
	)
	e.tables(t, e.members[0], "eu-west-1",
		testaws.TableSpec{Name: "users", Tags: map[string]string{"tier": "business-critical"}},                               // enable 14
		testaws.TableSpec{Name: "events", Tags: map[string]string{"tier": "business-critical"}, PITR: true, RecoveryDays: 7}, // raise 7 → 14
		testaws.TableSpec{Name: "weekly-1", Tags: map[string]string{"tier": "weekly"}, PITR: true, RecoveryDays: 1},          // raise 1 → 7
	)
	e.tables(t, e.members[1], "us-east-1",
		testaws.TableSpec{Name: "catalog", PITR: true, RecoveryDays: 2},                                               // standard, any window: compliant
		testaws.TableSpec{Name: "stack-table", Tags: map[string]string{"aws:cloudformation:stack-name": "shop-prod"}}, // enable 35, with a warning
	)
	return map[tableKey]remediate.State{
		{mgmt, "us-east-1", "orders"}: {Enabled: true, Days: 35}, {mgmt, "us-east-1", "payments"}: {Enabled: true, Days: 35},
		{mgmt, "us-east-1", "sessions"}: {Enabled: true, Days: 35}, {mgmt, "us-east-1", "scratch-1"}: {Enabled: false, Days: 0},
		{mgmt, "us-east-1", "weekly-35"}:     {Enabled: true, Days: 35},
		{e.members[0], "eu-west-1", "users"}: {Enabled: true, Days: 14}, {e.members[0], "eu-west-1", "events"}: {Enabled: true, Days: 14},
		{e.members[0], "eu-west-1", "weekly-1"}: {Enabled: true, Days: 7},
		{e.members[1], "us-east-1", "catalog"}:  {Enabled: true, Days: 2}, {e.members[1], "us-east-1", "stack-table"}: {Enabled: true, Days: 35},
	}
}

func (e *env) states(t *testing.T, keys map[tableKey]remediate.State) map[tableKey]remediate.State {
	out := map[tableKey]remediate.State{}
	for k := range keys {
		out[k] = e.pitrState(t, k.account, k.region, k.name)
	}
	return out
}

func decodePlan(t *testing.T, r result) *remediate.Plan {
	t.Helper()
	var p remediate.Plan
	if err := json.Unmarshal([]byte(r.out), &p); err != nil {
		t.Fatalf("not a plan: %v\n%s\n%s", err, r.out, r.errOut)
	}
	return &p
}

func TestEnablePlanApplyAndSecondRun(t *testing.T) {
	e := newEnv(t, 2)
	want := seedEnableOrg(t, e)
	before := e.states(t, want)
	args := []string{"enable", "--org", "--regions", "us-east-1,eu-west-1", "--config", enablePolicy, "--format", "json"}

	// Plan: lists the actions, changes nothing.
	planPath := filepath.Join(e.dir, "plan.json")
	r := e.run(t, append(args, "--out", planPath)...)
	if r.code != ExitOK {
		t.Fatalf("plan: exit %d\n%s", r.code, r.errOut)
	}
	plan := decodePlan(t, r)
	type act struct {
		table, action string
		from          int
		to            int
	}
	var got []act
	for _, a := range plan.Actions {
		from := -1
		if a.FromDays != nil {
			from = *a.FromDays
		}
		got = append(got, act{a.Table, a.Action, from, a.ToDays})
		if a.Result != remediate.Planned {
			t.Errorf("%s: result %s in a plan", a.Table, a.Result)
		}
	}
	slices.SortFunc(got, func(a, b act) int { return strings.Compare(a.table, b.table) })
	wantActs := []act{{"events", "raise_recovery_period", 7, 14}, {"payments", "raise_recovery_period", 7, 35},
		{"sessions", "enable_pitr", -1, 35}, {"stack-table", "enable_pitr", -1, 35}, {"users", "enable_pitr", -1, 14},
		{"weekly-1", "raise_recovery_period", 1, 7}}
	if diff := cmp.Diff(wantActs, got, cmp.AllowUnexported(act{})); diff != "" {
		t.Errorf("plan actions (-want +got):\n%s", diff)
	}
	if plan.Mode != "plan" || plan.Summary.Planned != 6 {
		t.Errorf("mode %s summary %+v", plan.Mode, plan.Summary)
	}
	for _, a := range plan.Actions {
		if a.Table == "stack-table" && !strings.Contains(a.Warning, "shop-prod") {
			t.Errorf("no CloudFormation warning naming the stack: %q", a.Warning)
		}
	}
	if n := e.proxy.Count("UpdateContinuousBackups"); n != 0 {
		t.Fatalf("planning made %d UpdateContinuousBackups calls", n)
	}
	if diff := cmp.Diff(before, e.states(t, want), cmp.AllowUnexported(tableKey{})); diff != "" {
		t.Fatalf("planning changed PITR (-before +after):\n%s", diff)
	}
	saved, err := os.ReadFile(planPath)
	if err != nil || !json.Valid(saved) {
		t.Fatalf("plan file: %v", err)
	}

	// Apply the saved plan.
	e.proxy.Clear()
	r = e.run(t, "enable", "--plan-file", planPath, "--apply", "--yes", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	applied := decodePlan(t, r)
	if applied.Mode != "apply" || applied.Summary.Applied != 6 || applied.Summary.Failed != 0 {
		t.Errorf("apply summary: %s %+v", applied.Mode, applied.Summary)
	}
	if diff := cmp.Diff(want, e.states(t, want), cmp.AllowUnexported(tableKey{})); diff != "" {
		t.Errorf("PITR after apply (-want +got):\n%s", diff)
	}
	for _, c := range e.proxy.Calls() {
		if c.Op == "UpdateContinuousBackups" && slices.Contains([]string{"scratch-1", "orders", "weekly-35", "catalog"}, c.Table) {
			t.Errorf("touched %s, which needed no change", c.Table)
		}
	}

	// A following audit: every non-exempt table is compliant.
	a := e.run(t, "audit", "--org", "--regions", "us-east-1,eu-west-1", "--config", enablePolicy, "--format", "json").audit(t)
	if a.Summary.ComplianceRate != 1.0 || a.Summary.Exempt != 1 || a.Summary.NonCompliant != 0 {
		t.Errorf("audit after apply: %+v", a.Summary)
	}

	// A second run applies nothing; re-applying the saved plan finds everything already compliant.
	e.proxy.Clear()
	r = e.run(t, append(args, "--apply", "--yes")...)
	if p := decodePlan(t, r); r.code != ExitOK || len(p.Actions) != 0 || p.Mode != "apply" {
		t.Errorf("second run: exit %d, %d actions, mode %s", r.code, len(p.Actions), p.Mode)
	}
	r = e.run(t, "enable", "--plan-file", planPath, "--apply", "--yes", "--format", "json")
	if p := decodePlan(t, r); r.code != ExitOK || p.Summary.AlreadyCompliant != 6 {
		t.Errorf("re-applied plan: exit %d summary %+v", r.code, p.Summary)
	}
	if n := e.proxy.Count("UpdateContinuousBackups"); n != 0 {
		t.Errorf("second runs made %d UpdateContinuousBackups calls", n)
	}

	// Every action is journaled with the caller and before/after.
	j := e.run(t, "history", "journal", "--format", "json")
	var journal struct {
		Journal []struct {
			Caller, Table, Action, Result string
			Before, After                 remediate.State
		}
	}
	if err := json.Unmarshal([]byte(j.out), &journal); err != nil {
		t.Fatal(err)
	}
	if len(journal.Journal) != 12 {
		t.Fatalf("journal has %d entries, want 12 (6 applied + 6 already compliant)", len(journal.Journal))
	}
	for _, je := range journal.Journal {
		if je.Table == "payments" && je.Result == "applied" && (je.Before != remediate.State{Enabled: true, Days: 7} ||
			je.After != remediate.State{Enabled: true, Days: 35} || !strings.Contains(je.Caller, "123456789012")) {
			t.Errorf("journal entry: %+v", je)
		}
	}
}

func TestEnableRefusesDecrease(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", Tags: map[string]string{"env": "prod"}, PITR: true, RecoveryDays: 7})
	r := e.run(t, "enable", "--regions", "us-east-1", "--config", enablePolicy, "--recovery-days", "3", "--format", "json")
	p := decodePlan(t, r)
	if len(p.Actions) != 0 || len(p.Skipped) != 1 || !strings.Contains(p.Skipped[0].Reason, "--allow-decrease") {
		t.Fatalf("decrease not refused: %+v", p)
	}
	r = e.run(t, "enable", "--regions", "us-east-1", "--config", enablePolicy, "--recovery-days", "3", "--allow-decrease", "--apply", "--yes", "--format", "json")
	p = decodePlan(t, r)
	if len(p.Actions) != 1 || !p.Actions[0].Decrease || !strings.Contains(p.Actions[0].Warning, "lost for good") || p.Actions[0].Result != remediate.Applied {
		t.Fatalf("allowed decrease: %+v", p.Actions)
	}
	if s := e.pitrState(t, mgmt, "us-east-1", "orders"); s != (remediate.State{Enabled: true, Days: 3}) {
		t.Errorf("state %+v", s)
	}
}

func TestEnableBackupsUnavailable(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "new-a"}, testaws.TableSpec{Name: "new-b"})
	// new-a: AWS is still enabling backups twice, then accepts.
	// new-b: it never finishes within --wait.
	e.proxy.Add(
		&testaws.Rule{Op: "UpdateContinuousBackups", Table: "new-a", Times: 2, Fault: testaws.FaultBackupsUnavailable, Message: "Backups are being enabled for the table: new-a. Please retry later"},
		&testaws.Rule{Op: "UpdateContinuousBackups", Table: "new-b", Fault: testaws.FaultBackupsUnavailable},
	)
	r := e.run(t, "enable", "--regions", "us-east-1", "--apply", "--yes", "--wait", "4s", "--format", "json")
	if r.code != ExitPending {
		t.Fatalf("exit %d, want 4 (pending)\n%s", r.code, r.errOut)
	}
	p := decodePlan(t, r)
	res := map[string]remediate.Action{}
	for _, a := range p.Actions {
		res[a.Table] = a
	}
	if res["new-a"].Result != remediate.Applied {
		t.Errorf("new-a: %+v", res["new-a"])
	}
	if res["new-b"].Result != remediate.Pending || !strings.Contains(res["new-b"].Error, "ContinuousBackupsUnavailableException") {
		t.Errorf("new-b: %+v", res["new-b"])
	}
	if s := e.pitrState(t, mgmt, "us-east-1", "new-b"); s.Enabled {
		t.Error("new-b reported pending but is enabled")
	}
	n := 0
	for _, c := range e.proxy.Calls() {
		if c.Op == "UpdateContinuousBackups" && c.Table == "new-a" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("UpdateContinuousBackups(new-a) = %d calls, want 3", n)
	}
}

func TestEnableAccessDeniedOnOneTable(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "locked"}, testaws.TableSpec{Name: "open-1"}, testaws.TableSpec{Name: "open-2"})
	e.proxy.Add(&testaws.Rule{Op: "UpdateContinuousBackups", Table: "locked", Fault: testaws.FaultAccessDenied,
		Message: "User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: dynamodb:UpdateContinuousBackups"})
	r := e.run(t, "enable", "--regions", "us-east-1", "--apply", "--yes", "--format", "json")
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want 1", r.code)
	}
	p := decodePlan(t, r)
	if p.Summary.Applied != 2 || p.Summary.Failed != 1 {
		t.Errorf("summary %+v", p.Summary)
	}
	for _, a := range p.Actions {
		if a.Table == "locked" && (a.Result != remediate.Failed || !strings.Contains(a.Error, "AccessDeniedException") ||
			!strings.Contains(a.Error, "grant dynamodb:UpdateContinuousBackups on arn:aws:dynamodb:us-east-1:123456789012:table/locked")) {
			t.Errorf("locked: %+v", a)
		}
	}
}

func TestEnableConfirmation(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders"})
	runTTY := func(answer string, args ...string) (int, string) {
		ios, in, _, errOut := iostreams.Test()
		ios.SetTTY(true)
		in.WriteString(answer)
		f := &Factory{IO: ios, Now: func() time.Time { return fixedNow }, Credentials: testaws.Credentials}
		code := Run(context.Background(), append(args, "--endpoint-url", e.proxy.URL, "--db", e.db, "--quiet"), f)
		return code, errOut.String()
	}
	code, errOut := runTTY("no\n", "enable", "--regions", "us-east-1", "--apply")
	if code != ExitFailure || !strings.Contains(errOut, "About to change 1 table(s)") || !strings.Contains(errOut, "Accounts: 123456789012") ||
		!strings.Contains(errOut, "aborted") {
		t.Errorf("declined: exit %d\n%s", code, errOut)
	}
	if e.pitrState(t, mgmt, "us-east-1", "orders").Enabled {
		t.Fatal("declined confirmation but PITR was enabled")
	}
	if code, errOut = runTTY("yes\n", "enable", "--regions", "us-east-1", "--apply"); code != ExitOK {
		t.Errorf("confirmed: exit %d\n%s", code, errOut)
	}
	if !e.pitrState(t, mgmt, "us-east-1", "orders").Enabled {
		t.Error("confirmed but PITR is still off")
	}
	// Without a terminal, --apply needs --yes.
	if r := e.run(t, "enable", "--regions", "us-east-1", "--apply"); r.code != ExitUsage || !strings.Contains(r.errOut, "--yes") {
		t.Errorf("no tty: exit %d %s", r.code, r.errOut)
	}
}

func TestEnablePlanFileValidation(t *testing.T) {
	e := newEnv(t, 0)
	bad := e.writeFile(t, "bad.json", `{"schema_version":1,"mode":"plan","generated_at":"2026-11-24T00:00:00Z","actions":[
	 {"account":"12","region":"us-east-1","table":"t1","arn":"","tier":"","owner":"","action":"disable","from_days":null,"to_days":40,"monthly_cost_usd":0,"result":"planned","error":""}],
	 "summary":{"planned":1,"applied":0,"already_compliant":0,"pending":0,"failed":0,"not_started":0,"monthly_cost_usd":0},"skipped":[],"warnings":[]}`)
	r := e.run(t, "enable", "--plan-file", bad, "--apply", "--yes")
	if r.code != ExitUsage {
		t.Fatalf("exit %d", r.code)
	}
	for _, w := range []string{"actions[0] (t1): account", "action \"disable\"", "to_days 40"} {
		if !strings.Contains(r.errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.errOut)
		}
	}
	if e.proxy.Count("") != 0 {
		t.Error("an invalid plan reached AWS")
	}
}

// TestIAMPolicyCoversEveryCall records every AWS operation audit and enable
// make against the emulator and checks the printed policy allows each one.
func TestIAMPolicyCoversEveryCall(t *testing.T) {
	e := newEnv(t, 1)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "a"})
	e.tables(t, e.members[0], "eu-west-1", testaws.TableSpec{Name: "b", Tags: map[string]string{"x": "y"}})
	e.proxy.Add(&testaws.Rule{Op: "GetResources", Account: e.members[0], Fault: testaws.FaultAccessDenied}) // exercise the tag fallback
	for _, cmd := range []string{"audit", "enable"} {
		e.proxy.Clear()
		e.proxy.Add(&testaws.Rule{Op: "GetResources", Account: e.members[0], Fault: testaws.FaultAccessDenied})
		args := []string{cmd, "--org", "--format", "json"}
		if cmd == "enable" {
			args = append(args, "--apply", "--yes")
		}
		if r := e.run(t, args...); r.code != ExitOK {
			t.Fatalf("%s: exit %d %s", cmd, r.code, r.errOut)
		}
		assertPolicyCovers(t, e, cmd)
		if cmd == "enable" && !slices.ContainsFunc(e.proxy.Calls(), func(c testaws.Call) bool { return c.Op == "UpdateContinuousBackups" }) {
			t.Error("enable made no UpdateContinuousBackups call: the test proves nothing")
		}
	}
}

// assertPolicyCovers checks that `pitrguard iam-policy cmd` allows every call
// the proxy recorded.
func assertPolicyCovers(t *testing.T, e *env, cmd string) {
	t.Helper()
	ios, _, out, _ := iostreams.Test()
	if code := Run(context.Background(), []string{"iam-policy", cmd}, &Factory{IO: ios}); code != 0 {
		t.Fatalf("iam-policy %s: exit %d", cmd, code)
	}
	var doc iampolicy.Document
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	allowed := doc.Actions()
	prefix := map[string]string{"dynamodb": "dynamodb", "sts": "sts", "ec2": "ec2", "organizations": "organizations",
		"tagging": "tag", "application-autoscaling": "application-autoscaling", "config": "config", "ce": "ce", "backup": "backup"}
	seen := 0
	for _, c := range e.proxy.Calls() {
		if c.Service == "sts" && c.Op == "GetCallerIdentity" {
			continue // needs no permission
		}
		p, ok := prefix[c.Service]
		if !ok {
			t.Errorf("%s: call to unexpected service %q (%s)", cmd, c.Service, c.Op)
			continue
		}
		seen++
		action := p + ":" + c.Op
		if !slices.Contains(allowed, action) {
			t.Errorf("%s called %s, which `pitrguard iam-policy %s` does not allow", cmd, action, cmd)
			continue
		}
		// The resource too: the table the call named must be in a resource
		// of a statement that allows the action (issue 16 #4).
		if c.Service == "dynamodb" && c.Table != "" {
			arn := "arn:aws:dynamodb:" + c.Region + ":" + c.Account + ":table/" + c.Table
			if !policyAllows(doc, action, arn) {
				t.Errorf("%s called %s on %s, which `pitrguard iam-policy %s` does not allow on that resource", cmd, action, arn, cmd)
			}
		}
	}
	if seen < 5 {
		t.Errorf("%s: only %d calls recorded", cmd, seen)
	}
}

// policyAllows reports whether a statement of doc allows action on arn
// (IAM wildcards * and ?; conditions are not evaluated).
func policyAllows(doc iampolicy.Document, action, arn string) bool {
	for _, s := range doc.Statement {
		if !slices.Contains(s.Action, action) {
			continue
		}
		var res []string
		switch r := s.Resource.(type) {
		case string:
			res = []string{r}
		case []any:
			for _, x := range r {
				res = append(res, x.(string))
			}
		}
		for _, r := range res {
			glob := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(r)) + "$"
			if regexp.MustCompile(glob).MatchString(arn) {
				return true
			}
		}
	}
	return false
}

func TestIAMPolicyCoversRestoreAndDrill(t *testing.T) {
	e := newEnv(t, 0)
	sourceTable(t, e, "T")
	e.proxy.Clear()
	e.proxy.Add(insightsOff()) // moto answers DescribeContributorInsights with a 500 (restore_safety_e2e_test.go)
	if r := e.run(t, "restore", "--table", "T", "--region", "us-east-1", "--latest", "--target", "T-r", "--yes", "--format", "json"); r.code != ExitOK {
		t.Fatalf("restore: %d %s", r.code, r.errOut)
	}
	assertPolicyCovers(t, e, "restore")
	if !slices.ContainsFunc(e.proxy.Calls(), func(c testaws.Call) bool { return c.Op == "PutResourcePolicy" }) {
		t.Error("restore made no PutResourcePolicy call: the test proves too little")
	}
	e.proxy.Clear()
	if r := e.run(t, "drill", "--table", "T", "--regions", "us-east-1", "--yes", "--format", "json", "--poll", "10ms"); r.code != ExitOK {
		t.Fatalf("drill: %d %s", r.code, r.errOut)
	}
	assertPolicyCovers(t, e, "drill")
}

func TestIAMPolicyTrust(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	if code := Run(context.Background(), []string{"iam-policy", "audit", "--trust-for", "123456789012", "--external-id", "ops-42"}, &Factory{IO: ios}); code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	var doc iampolicy.TrustDocument
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Statement[0]
	if s.Principal["AWS"] != "arn:aws:iam::123456789012:root" || s.Action != "sts:AssumeRole" ||
		s.Condition["StringEquals"].(map[string]any)["sts:ExternalId"] != "ops-42" {
		t.Errorf("trust: %+v", doc)
	}
	ios, _, _, errOut = iostreams.Test()
	if code := Run(context.Background(), []string{"iam-policy", "nuke"}, &Factory{IO: ios}); code != ExitUsage {
		t.Errorf("unknown command: exit %d %s", code, errOut)
	}
}
