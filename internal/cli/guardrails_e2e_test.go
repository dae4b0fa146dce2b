package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/pitrguard/pitrguard/internal/guardrails"
	"github.com/pitrguard/pitrguard/internal/guardrails/check"
	"github.com/pitrguard/pitrguard/internal/iampolicy"
	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// remediationFake answers PutRemediationConfigurations and
// DescribeRemediationConfigurations, which moto does not implement (500),
// keeping one store per account behind the proxy.
type remediationFake struct {
	mu    sync.Mutex
	confs map[string][]any // account → RemediationConfigurations
}

func (f *remediationFake) install(p *testaws.Proxy, accounts []string) {
	for _, acct := range accounts {
		p.Add(&testaws.Rule{Op: "PutRemediationConfigurations", Account: acct, Respond: func(in map[string]any) map[string]any {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.confs[acct] = append(f.confs[acct], in["RemediationConfigurations"].([]any)...)
			return map[string]any{"FailedBatches": []any{}}
		}}, &testaws.Rule{Op: "DescribeRemediationConfigurations", Account: acct, Respond: func(in map[string]any) map[string]any {
			f.mu.Lock()
			defer f.mu.Unlock()
			var out []any
			for _, c := range f.confs[acct] {
				for _, n := range in["ConfigRuleNames"].([]any) {
					if c.(map[string]any)["ConfigRuleName"] == n {
						out = append(out, c)
					}
				}
			}
			return map[string]any{"RemediationConfigurations": out}
		}})
	}
}

// guardOrg is the acceptance organization: two OUs, the generated SCP
// attached to one of them only, a weakened policy with the right name on an
// account of the other, an RCP on an account under the root, Config with
// remediation in the management account, pitrguard's EventBridge handler in a
// member, and an organization trail.
type guardOrg struct {
	workloads, sandbox string
	scpText            string
}

func seedGuardOrg(t *testing.T, e *env) guardOrg {
	t.Helper()
	ctx := context.Background()
	mcfg := e.seed.Config(ctx, mgmt, "us-east-1")
	org := organizations.NewFromConfig(mcfg)
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	root := aws.ToString(roots.Roots[0].Id)
	for _, pt := range []orgtypes.PolicyType{orgtypes.PolicyTypeServiceControlPolicy, orgtypes.PolicyTypeResourceControlPolicy} {
		if _, err := org.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: &root, PolicyType: pt}); err != nil {
			t.Fatal(err)
		}
	}
	ou := func(name string) string {
		out, err := org.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: &root, Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.OrganizationalUnit.Id)
	}
	g := guardOrg{workloads: ou("Workloads"), sandbox: ou("Sandbox")}
	move := func(acct, to string) {
		if _, err := org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: &acct, SourceParentId: &root, DestinationParentId: &to}); err != nil {
			t.Fatal(err)
		}
	}
	move(e.members[0], g.workloads)
	move(e.members[1], g.workloads)
	move(e.members[2], g.sandbox)
	move(e.members[4], g.sandbox)

	// The SCP as pitrguard prints it.
	r := e.run(t, "guardrails", "scp", "--allow-principal", "arn:aws:iam::*:role/pitrguard-*")
	if r.code != 0 {
		t.Fatalf("guardrails scp: exit %d\n%s", r.code, r.errOut)
	}
	g.scpText = r.out
	attach := func(name, typ, content, target string) {
		p, err := org.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String(name), Description: aws.String("t"),
			Type: orgtypes.PolicyType(typ), Content: aws.String(content)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := org.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: p.Policy.PolicySummary.Id, TargetId: &target}); err != nil {
			t.Fatal(err)
		}
	}
	// Names mean nothing to the check: the real control has another name...
	attach("deny-pitr-changes", "SERVICE_CONTROL_POLICY", g.scpText, g.workloads)
	// ...and pitrguard's own name sits on a weakened statement that holds only in one region.
	weak := strings.Replace(g.scpText, `"ArnNotLike"`, `"StringEquals": {"aws:RequestedRegion": "eu-west-1"}, "ArnNotLike"`, 1)
	attach(guardrails.PolicyName(guardrails.SCP), "SERVICE_CONTROL_POLICY", weak, e.members[2])
	rcp := e.run(t, "guardrails", "rcp", "--allow-principal", "arn:aws:iam::*:role/pitrguard-*", "-q")
	if rcp.code != 0 {
		t.Fatalf("guardrails rcp: exit %d\n%s", rcp.code, rcp.errOut)
	}
	attach(guardrails.PolicyName(guardrails.RCP), "RESOURCE_CONTROL_POLICY", rcp.out, e.members[3])

	// Config in the management account: rule, recorder, remediation (wire fake).
	fake := &remediationFake{confs: map[string][]any{}}
	fake.install(e.proxy, append([]string{mgmt}, e.members...))
	bucket(t, e, "pitrguard-test-config")
	viaProxy := testaws.NewSeeder(e.proxy.URL).Config(ctx, mgmt, "us-east-1")
	cs := configservice.NewFromConfig(viaProxy)
	if _, err := cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String("arn:aws:iam::123456789012:role/config")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String("pitrguard-test-config")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.PutConfigRule(ctx, &configservice.PutConfigRuleInput{ConfigRule: &cfgtypes.ConfigRule{ConfigRuleName: aws.String(guardrails.ConfigRuleName),
		Source: &cfgtypes.Source{Owner: cfgtypes.OwnerAws, SourceIdentifier: aws.String(guardrails.ConfigRuleIdentifier)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.PutRemediationConfigurations(ctx, &configservice.PutRemediationConfigurationsInput{RemediationConfigurations: []cfgtypes.RemediationConfiguration{{
		ConfigRuleName: aws.String(guardrails.ConfigRuleName), TargetType: cfgtypes.RemediationTargetTypeSsmDocument,
		TargetId: aws.String(guardrails.RemediationDocument), Automatic: true, MaximumAutomaticAttempts: aws.Int32(5), RetryAttemptSeconds: aws.Int64(600),
		Parameters: map[string]cfgtypes.RemediationParameterValue{"TableName": {ResourceValue: &cfgtypes.ResourceValue{Value: cfgtypes.ResourceValueTypeResourceId}}},
	}}}); err != nil {
		t.Fatal(err)
	}
	// pitrguard's event handler in member 0.
	eb := eventbridge.NewFromConfig(e.seed.Config(ctx, e.members[0], "us-east-1"))
	pattern := `{"source":["aws.dynamodb"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["dynamodb.amazonaws.com"],"eventName":["CreateTable","UpdateContinuousBackups"]}}`
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("pitrguard-pitr-events"), EventPattern: &pattern}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("pitrguard-pitr-events"), Targets: []ebtypes.Target{{
		Id: aws.String("handler"), Arn: aws.String("arn:aws:lambda:us-east-1:" + e.members[0] + ":function:pitrguard-handler")}}}); err != nil {
		t.Fatal(err)
	}
	lambdaFunction(t, e, e.members[0], "pitrguard-handler")
	// Member 1 has the rule, but its function was never deployed.
	eb1 := eventbridge.NewFromConfig(e.seed.Config(ctx, e.members[1], "us-east-1"))
	if _, err := eb1.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("pitrguard-pitr-events"), EventPattern: &pattern}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb1.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("pitrguard-pitr-events"), Targets: []ebtypes.Target{{
		Id: aws.String("handler"), Arn: aws.String("arn:aws:lambda:us-east-1:" + e.members[1] + ":function:pitrguard-handler")}}}); err != nil {
		t.Fatal(err)
	}
	// An organization trail in the management account.
	bucket(t, e, "pitrguard-test-trail")
	ct := cloudtrail.NewFromConfig(mcfg)
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org"), S3BucketName: aws.String("pitrguard-test-trail"),
		IsMultiRegionTrail: aws.Bool(true), IsOrganizationTrail: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("org")}); err != nil {
		t.Fatal(err)
	}
	return g
}

// lambdaFunction deploys a function (and the role moto requires) in account.
func lambdaFunction(t *testing.T, e *env, account, name string) {
	t.Helper()
	ctx := context.Background()
	cfg := e.seed.Config(ctx, account, "us-east-1")
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	role, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name + "-role"), AssumeRolePolicyDocument: &trust})
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	w, _ := zw.Create("bootstrap")
	_, _ = w.Write([]byte("#!/bin/sh\n"))
	_ = zw.Close()
	if _, err := lambda.NewFromConfig(cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name),
		Runtime: lambdatypes.RuntimeProvidedal2023, Role: role.Role.Arn, Handler: aws.String("bootstrap"),
		Code: &lambdatypes.FunctionCode{ZipFile: zipped.Bytes()}}); err != nil {
		t.Fatal(err)
	}
}

// bucket creates an S3 bucket in moto (path style, no signature needed).
func bucket(t *testing.T, e *env, name string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, e.moto.URL+"/"+name, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create bucket %s: %s", name, resp.Status)
	}
}

func guardReport(t *testing.T, r result) *check.Report {
	t.Helper()
	var rep check.Report
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("not the guardrails JSON: %v\nstdout:\n%s\nstderr:\n%s", err, r.out, r.errOut)
	}
	return &rep
}

func account(t *testing.T, rep *check.Report, id string) check.Account {
	t.Helper()
	for _, a := range rep.Accounts {
		if a.Account == id {
			return a
		}
	}
	t.Fatalf("account %s not in the report", id)
	return check.Account{}
}

// TestGuardrailsAcceptance is the acceptance test on a moto
// organization with two OUs and the generated SCP attached to one of them.
func TestGuardrailsAcceptance(t *testing.T) {
	e := newEnv(t, 5)
	g := seedGuardOrg(t, e)

	min, err := guardrails.Minify([]byte(g.scpText))
	if err != nil || len(min) > guardrails.MaxPolicyChars {
		t.Fatalf("the printed SCP is not valid JSON within the quota: %d chars, %v", len(min), err)
	}
	if err := guardrails.Validate([]byte(g.scpText), guardrails.SCP, []string{"arn:aws:iam::*:role/pitrguard-*"}); err != nil {
		t.Fatalf("the printed SCP does not validate: %v", err)
	}

	before := len(e.proxy.Calls())
	r := e.run(t, "guardrails", "check", "--org", "--regions", "us-east-1", "--format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.errOut)
	}
	// Every call the check makes is in its IAM policy, and none mutates.
	var granted []string
	for _, st := range iampolicy.GuardrailsCheck("OrganizationAccountAccessRole") {
		granted = append(granted, st.Action...)
	}
	prefix := map[string]string{"organizations": "organizations", "config": "config", "events": "events", "cloudtrail": "cloudtrail", "sts": "sts", "ec2": "ec2", "lambda": "lambda"}
	calls := e.proxy.Calls()[before:]
	if len(calls) < 20 {
		t.Fatalf("only %d calls recorded", len(calls))
	}
	for _, c := range calls {
		if c.Op == "GetCallerIdentity" {
			continue // needs no permission
		}
		op := c.Op
		if c.Service == "lambda" && op == "" {
			op = "GetFunction" // REST protocol: the proxy sees no operation name; GetFunction is the check's only Lambda call
		}
		action := prefix[c.Service] + ":" + op
		if !slices.Contains(granted, action) {
			t.Errorf("guardrails check called %s (service %s), which iampolicy.GuardrailsCheck does not grant", action, c.Service)
		}
	}
	rep := guardReport(t, r)
	if rep.SchemaVersion != 1 || len(rep.Errors) != 0 {
		t.Fatalf("schema %d, errors %+v", rep.SchemaVersion, rep.Errors)
	}
	if len(rep.Accounts) != 6 {
		t.Fatalf("%d accounts, want the management account and 5 members", len(rep.Accounts))
	}
	type row struct{ prevent, detect, correct, trail check.Status }
	want := map[string]row{
		mgmt:         {check.NotApplicable, check.Yes, check.Yes, check.Yes},
		e.members[0]: {check.Yes, check.Yes, check.Yes, check.Yes}, // SCP via the Workloads OU + handler
		e.members[1]: {check.Yes, check.No, check.No, check.Yes},   // SCP via the OU, nothing regional
		e.members[2]: {check.No, check.No, check.No, check.Yes},    // weakened policy with the right name
		e.members[3]: {check.Yes, check.No, check.No, check.Yes},   // RCP on the account, under the root
		e.members[4]: {check.No, check.No, check.No, check.Yes},    // Sandbox OU without a policy
	}
	for id, w := range want {
		a := account(t, rep, id)
		got := row{a.Prevent, a.Detect, a.Correct, a.Trail}
		if got != w {
			t.Errorf("account %s: got %+v, want %+v\ndetails: %+v", id, got, w, a.Details)
		}
	}
	if p := account(t, rep, e.members[0]).OUPath; len(p) != 2 || p[1] != g.workloads || !strings.HasPrefix(p[0], "r-") {
		t.Errorf("ou_path of member 0 = %v, want [root %s]", p, g.workloads)
	}
	if p := account(t, rep, e.members[3]).OUPath; len(p) != 1 {
		t.Errorf("ou_path of member 3 = %v, want [root]", p)
	}
	weak := detail(t, account(t, rep, e.members[2]), check.ControlSCP, "")
	if !strings.Contains(weak.Reason, guardrails.PolicyName(guardrails.SCP)) || !strings.Contains(weak.Reason, "aws:RequestedRegion") {
		t.Errorf("weakened policy reason = %q", weak.Reason)
	}
	if d := detail(t, account(t, rep, e.members[4]), check.ControlSCP, ""); !strings.Contains(d.Reason, "no SCP on the account's path") {
		t.Errorf("sandbox account reason = %q", d.Reason)
	}
	if d := detail(t, account(t, rep, e.members[3]), check.ControlRCP, ""); d.Status != check.Yes {
		t.Errorf("RCP detail = %+v", d)
	}
	if d := detail(t, account(t, rep, e.members[0]), check.ControlHandler, "us-east-1"); !strings.Contains(d.Reason, "function:pitrguard-handler") {
		t.Errorf("handler detail = %+v", d)
	}
	if d := detail(t, account(t, rep, e.members[1]), check.ControlHandler, "us-east-1"); d.Status != check.No || !strings.Contains(d.Reason, "does not exist") {
		t.Errorf("handler without its function = %+v", d)
	}
	if d := detail(t, account(t, rep, mgmt), check.ControlRemediation, "us-east-1"); d.Status != check.Yes {
		t.Errorf("remediation detail = %+v", d)
	}
	s := rep.Summary
	if s.Accounts != 6 || s.FullyGuarded != 2 || s.Coverage != 0.3333 || s.Prevent != 4 || !s.Complete {
		t.Errorf("summary = %+v, want 2 of 6 fully guarded (0.3333), prevent 4", s)
	}
	// The raw JSON has the shape.
	var raw map[string]any
	_ = json.Unmarshal([]byte(r.out), &raw)
	a0 := raw["accounts"].([]any)[0].(map[string]any)
	for _, k := range []string{"account", "ou_path", "prevent", "detect", "correct", "trail", "details"} {
		if _, ok := a0[k]; !ok {
			t.Errorf("account entry lacks %q", k)
		}
	}
	for _, k := range []string{"accounts", "fully_guarded", "coverage"} {
		if _, ok := raw["summary"].(map[string]any)[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}

	// --fail-on missing exits 3; the run is in the history.
	if r := e.run(t, "guardrails", "check", "--org", "--regions", "us-east-1", "--fail-on", "missing", "-q"); r.code != ExitFindings {
		t.Errorf("--fail-on missing: exit %d, want 3\n%s", r.code, r.errOut)
	} else if !strings.Contains(r.out, "ACCOUNT") || !strings.Contains(r.out, e.members[4]) {
		t.Errorf("table output:\n%s", r.out)
	}
	// With the organization's own allow list, an exemption outside it weakens the control.
	strict := guardReport(t, e.run(t, "guardrails", "check", "--org", "--regions", "us-east-1", "--format", "json", "--no-store",
		"--allow-principal", "arn:aws:iam::*:role/platform-*"))
	if a := account(t, strict, e.members[0]); a.Prevent != check.No || !strings.Contains(detail(t, a, check.ControlSCP, "").Reason, "not among the allowed principals") {
		t.Errorf("strict allow list: %+v", a)
	}
	h := e.run(t, "history", "--kind", "guardrails")
	if h.code != 0 || strings.Count(h.out, "33.3% guarded (2/6 accounts)") != 2 {
		t.Errorf("history:\n%s\n%s", h.out, h.errOut)
	}
}

func detail(t *testing.T, a check.Account, control, region string) check.Detail {
	t.Helper()
	for _, d := range a.Details {
		if d.Control == control && d.Region == region {
			return d
		}
	}
	t.Fatalf("account %s has no %s detail in %q: %+v", a.Account, control, region, a.Details)
	return check.Detail{}
}

// TestGuardrailsCheckUnreadable: what could not be read is unknown with the
// reason, never yes or no.
func TestGuardrailsCheckUnreadable(t *testing.T) {
	e := newEnv(t, 2)
	seedGuardOrg2(t, e)
	e.proxy.Add(&testaws.Rule{Op: "ListPoliciesForTarget", Fault: testaws.FaultAccessDenied, Code: "AccessDeniedException"},
		&testaws.Rule{Op: "DescribeConfigRules", Account: e.members[1], Fault: testaws.FaultAccessDenied, Code: "AccessDeniedException"})
	r := e.run(t, "guardrails", "check", "--org", "--regions", "us-east-1", "--format", "json", "--fail-on", "unknown")
	if r.code != ExitFindings {
		t.Fatalf("exit %d, want 3\n%s", r.code, r.errOut)
	}
	rep := guardReport(t, r)
	a := account(t, rep, e.members[0])
	if a.Prevent != check.Unknown || !strings.Contains(detail(t, a, check.ControlSCP, "").Reason, "AccessDenied") {
		t.Errorf("prevent = %s, details %+v", a.Prevent, a.Details)
	}
	b := account(t, rep, e.members[1])
	if b.Detect != check.Unknown || !strings.Contains(detail(t, b, check.ControlConfigRule, "us-east-1").Reason, "config:DescribeConfigRules") {
		t.Errorf("detect = %s, details %+v", b.Detect, b.Details)
	}
	if m := account(t, rep, mgmt); m.Prevent != check.NotApplicable || m.Trail != check.No {
		t.Errorf("management account: %+v", m)
	}
	if rep.Summary.Unknown != 2 || rep.Summary.FullyGuarded != 0 {
		t.Errorf("summary = %+v", rep.Summary)
	}
}

func seedGuardOrg2(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	org := organizations.NewFromConfig(e.seed.Config(ctx, mgmt, "us-east-1"))
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := org.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: roots.Roots[0].Id, PolicyType: orgtypes.PolicyTypeServiceControlPolicy}); err != nil {
		t.Fatal(err)
	}
}

// TestGuardrailsGenerators drives the generators through the CLI.
func TestGuardrailsGenerators(t *testing.T) {
	e := &env{dir: t.TempDir()}
	run := func(args ...string) result {
		t.Helper()
		return runNoAWS(t, args...)
	}
	if r := run("guardrails", "nacl"); r.code != ExitUsage || !strings.Contains(r.errOut, `unknown kind "nacl"`) {
		t.Errorf("unknown kind: exit %d\n%s", r.code, r.errOut)
	}
	if r := run("guardrails", "scp", "--allow-principal", "arn:aws:iam::*:role/*"); r.code != ExitUsage || !strings.Contains(r.errOut, "matches every role") {
		t.Errorf("broad principal: exit %d\n%s", r.code, r.errOut)
	}
	if r := run("guardrails", "scp", "--format", "yaml"); r.code != ExitUsage || !strings.Contains(r.errOut, "json, terraform or cloudformation") {
		t.Errorf("bad format: exit %d\n%s", r.code, r.errOut)
	}
	if r := run("guardrails", "scp", "--protect-tag", "tier=critical"); r.code != ExitUsage || !strings.Contains(r.errOut, "goes with --protect-deletes") {
		t.Errorf("tag without protect: exit %d\n%s", r.code, r.errOut)
	}
	out := e.dir + "/scp.json"
	if r := run("guardrails", "scp", "--protect-deletes", "--protect-tag", "tier=critical", "-o", out); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.errOut)
	}
	for _, f := range []string{out, out + ".explain.txt"} {
		if b, err := readFile(f); err != nil || len(b) == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if b, _ := readFile(out); !strings.Contains(string(b), "aws:ResourceTag/tier") || !strings.Contains(string(b), "role/OrganizationAccountAccessRole") ||
		!strings.Contains(string(b), "role/pitrguard-break-glass") {
		t.Errorf("default principals or the tag are missing:\n%s", b)
	}
	if r := run("guardrails", "config", "--format", "terraform"); r.code != 0 || !strings.Contains(r.out, "aws_config_organization_conformance_pack") {
		t.Errorf("config: exit %d\n%s", r.code, r.errOut)
	}
	if r := run("guardrails", "config", "--remediation-attempts", "0"); r.code != ExitUsage {
		t.Errorf("bad attempts: exit %d", r.code)
	}
	if r := run("guardrails", "rego"); r.code != 0 || !strings.Contains(r.out, "package "+guardrails.RegoPackage) {
		t.Errorf("rego: exit %d", r.code)
	}
	if r := run("guardrails", "guard", "--dir", e.dir, "--min-recovery-days", "14"); r.code != 0 {
		t.Fatalf("guard --dir: exit %d\n%s", r.code, r.errOut)
	}
	for _, f := range []string{"pitrguard.guard", "pitrguard_tests.yaml", "guard-hook.yaml"} {
		if b, err := readFile(e.dir + "/" + f); err != nil || len(b) == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if r := run("guardrails", "guard", "--min-recovery-days", "40"); r.code != ExitUsage {
		t.Errorf("bad minimum: exit %d", r.code)
	}
	if r := run("guardrails", "guard", "--hook"); r.code != 0 || !strings.Contains(r.out, "AWS::CloudFormation::GuardHook") {
		t.Errorf("guard --hook: exit %d", r.code)
	}
}

// runNoAWS runs a command that needs neither AWS nor the history database.
func runNoAWS(t *testing.T, args ...string) result {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &Factory{IO: ios, Now: func() time.Time { return fixedNow }}
	code := Run(context.Background(), args, f) // generators have no --db or --no-store
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

// TestGuardrailsRootPolicy: an SCP on the root governs every member; a
// policy type that is not enabled is reported as such.
func TestGuardrailsRootPolicy(t *testing.T) {
	e := newEnv(t, 2)
	seedGuardOrg2(t, e) // SCPs enabled, RCPs not
	ctx := context.Background()
	org := organizations.NewFromConfig(e.seed.Config(ctx, mgmt, "us-east-1"))
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	r := e.run(t, "guardrails", "scp", "--protect-deletes", "-q")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.errOut)
	}
	p, err := org.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("org-wide"), Description: aws.String("t"),
		Type: orgtypes.PolicyTypeServiceControlPolicy, Content: aws.String(r.out)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := org.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: p.Policy.PolicySummary.Id, TargetId: roots.Roots[0].Id}); err != nil {
		t.Fatal(err)
	}
	rep := guardReport(t, e.run(t, "guardrails", "check", "--org", "--region", "eu-west-1", "--format", "json")) // --region alone scopes it
	for _, m := range e.members {
		a := account(t, rep, m)
		if a.Prevent != check.Yes || !strings.Contains(detail(t, a, check.ControlSCP, "").Reason, "org-wide") {
			t.Errorf("member %s: %+v", m, a)
		}
		if d := detail(t, a, check.ControlRCP, ""); d.Status != check.No || !strings.Contains(d.Reason, "RESOURCE_CONTROL_POLICY policy type is not enabled") {
			t.Errorf("rcp detail = %+v", d)
		}
		if len(a.Regions) != 1 || a.Regions[0] != "eu-west-1" || detail(t, a, check.ControlConfigRule, "eu-west-1").Status != check.No {
			t.Errorf("regional details: %+v", a)
		}
	}
	if rep.Summary.Prevent != 3 || rep.Summary.FullyGuarded != 0 || rep.Summary.Coverage != 0 {
		t.Errorf("summary = %+v", rep.Summary)
	}
}
