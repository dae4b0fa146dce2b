package guardrails

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

var pitrguardRoles = []string{"arn:aws:iam::*:role/pitrguard-*"}

func TestGenerateSCPIsValidAndSmall(t *testing.T) {
	for _, kind := range []Kind{SCP, RCP} {
		for _, protect := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/protect=%v", kind, protect), func(t *testing.T) {
				doc, raw, err := Generate(PolicyOptions{Kind: kind, AllowPrincipals: pitrguardRoles, ProtectDeletes: protect})
				if err != nil {
					t.Fatal(err)
				}
				min, _ := Minify(raw)
				if len(min) > MaxPolicyChars {
					t.Errorf("%d characters", len(min))
				}
				if got := Analyse(string(raw), kind, pitrguardRoles); !got.Denies {
					t.Errorf("pitrguard's own policy is judged not preventing: %+v", got)
				}
				wantStmts := 1
				if protect {
					wantStmts = 1 + len(DefaultProtectTags)
				}
				if len(doc.Statement) != wantStmts {
					t.Errorf("%d statements, want %d", len(doc.Statement), wantStmts)
				}
				hasBackup := strings.Contains(string(raw), "backup:DeleteRecoveryPoint")
				if hasBackup != (protect && kind == SCP) {
					t.Errorf("backup:DeleteRecoveryPoint present = %v for %s protect=%v", hasBackup, kind, protect)
				}
				if (kind == RCP) != strings.Contains(string(raw), `"Principal": "*"`) {
					t.Errorf("Principal element wrong for %s:\n%s", kind, raw)
				}
			})
		}
	}
}

func TestGenerateRefusesWhatWouldNotWork(t *testing.T) {
	long := make([]string, 120)
	for i := range long {
		long[i] = fmt.Sprintf("arn:aws:iam::%012d:role/pitrguard-remediation-role-number-%d", 100000000000+i, i)
	}
	cases := map[string]struct {
		o    PolicyOptions
		want string
	}{
		"no principal":     {PolicyOptions{Kind: SCP}, "lock out"},
		"every role":       {PolicyOptions{Kind: SCP, AllowPrincipals: []string{"arn:aws:iam::*:role/*"}}, "matches every role"},
		"session arn":      {PolicyOptions{Kind: SCP, AllowPrincipals: []string{"arn:aws:sts::111111111111:assumed-role/x/y"}}, "session ARN"},
		"not an arn":       {PolicyOptions{Kind: SCP, AllowPrincipals: []string{"pitrguard"}}, "not an IAM role or user ARN"},
		"over the quota":   {PolicyOptions{Kind: SCP, AllowPrincipals: long}, "over the 5120-character quota"},
		"unknown kind":     {PolicyOptions{Kind: "tag", AllowPrincipals: pitrguardRoles}, "unknown policy kind"},
		"exact size check": {PolicyOptions{Kind: RCP, AllowPrincipals: long[:60], ProtectDeletes: true}, "quota"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := Generate(c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	ok := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"dynamodb:UpdateContinuousBackups","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/pitrguard-*"}}}]}`
	if err := Validate([]byte(ok), SCP, pitrguardRoles); err != nil {
		t.Fatalf("valid SCP refused: %v", err)
	}
	cases := map[string]struct {
		kind Kind
		doc  string
		want string
	}{
		"bad json":      {SCP, `{"Version":`, "not valid JSON"},
		"unknown field": {SCP, strings.Replace(ok, `"Effect"`, `"Efect":"Deny","Effect"`, 1), "unknown field"},
		"version":       {SCP, strings.Replace(ok, "2012-10-17", "2008-10-17", 1), `"Version" must be`},
		"made-up action": {SCP, strings.Replace(ok, "dynamodb:UpdateContinuousBackups", "dynamodb:DisablePITR", 1),
			"not a DynamoDB or AWS Backup action"},
		"wildcard matching nothing": {SCP, strings.Replace(ok, "dynamodb:UpdateContinuousBackups", "dynamodb:Nope*", 1), "matches no"},
		"other service":             {SCP, strings.Replace(ok, "dynamodb:UpdateContinuousBackups", "s3:DeleteBucket", 1), "not a DynamoDB"},
		"scp principal":             {SCP, strings.Replace(ok, `"Effect"`, `"Principal":"*","Effect"`, 1), "SCPs cannot contain Principal"},
		"rcp without principal":     {RCP, ok, `needs "Principal": "*"`},
		"rcp backup action": {RCP, strings.Replace(strings.Replace(ok, `"Effect"`, `"Principal":"*","Effect"`, 1),
			"dynamodb:UpdateContinuousBackups", "backup:DeleteRecoveryPoint", 1), "RCPs do not support the backup service"},
		"allow effect": {SCP, strings.Replace(ok, `"Deny"`, `"Allow"`, 1), "Effect must be Deny"},
		"lockout: no exemption": {SCP,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"dynamodb:DeleteTable","Resource":"*"}]}`, "lock out"},
		"lockout: exemption misses a principal": {SCP, strings.Replace(ok, "pitrguard-*", "pitrguard-audit", 1), "would deny the allowed principal"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := Validate([]byte(c.doc), c.kind, pitrguardRoles)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestActionList(t *testing.T) {
	for _, a := range append([]string{ControlAction}, DeleteActions...) {
		if _, ok := KnownAction(a); !ok {
			t.Errorf("%s missing from the embedded action list", a)
		}
	}
	if c, ok := KnownAction("DYNAMODB:updatecontinuousbackups"); !ok || c != ControlAction {
		t.Errorf("case-insensitive lookup = %q, %v", c, ok)
	}
	if got := ExpandAction("dynamodb:Restore*"); len(got) != 3 {
		t.Errorf("dynamodb:Restore* = %v", got)
	}
	if _, ok := KnownAction("dynamodb:EnablePITR"); ok {
		t.Error("a made-up action is known")
	}
}

// TestAnalyse covers policies that look like pitrguard's but do not do what
// it does, and ones written differently that do.
func TestAnalyse(t *testing.T) {
	stmt := func(mut func(m map[string]any)) string {
		m := map[string]any{"Sid": "S", "Effect": "Deny", "Action": []string{ControlAction}, "Resource": "*",
			"Condition": map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": []string{"arn:aws:iam::*:role/pitrguard-*"}}}}
		if mut != nil {
			mut(m)
		}
		b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{m}})
		return string(b)
	}
	cases := map[string]struct {
		kind   Kind
		doc    string
		denies bool
		reason string
	}{
		"pitrguard's control":   {SCP, stmt(nil), true, "except to arn:aws:iam::*:role/pitrguard-*"},
		"dynamodb:* wildcard":   {SCP, stmt(func(m map[string]any) { m["Action"] = "dynamodb:*" }), true, ""},
		"Update* wildcard":      {SCP, stmt(func(m map[string]any) { m["Action"] = []string{"dynamodb:Update*"} }), true, ""},
		"table ARN resource":    {SCP, stmt(func(m map[string]any) { m["Resource"] = "arn:aws:dynamodb:*:*:table/*" }), true, ""},
		"single statement obj":  {SCP, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"dynamodb:UpdateContinuousBackups","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/pitrguard-x"}}}}`, true, ""},
		"no exemption at all":   {SCP, stmt(func(m map[string]any) { delete(m, "Condition") }), true, "pitrguard itself is blocked"},
		"allow instead of deny": {SCP, stmt(func(m map[string]any) { m["Effect"] = "Allow" }), false, "not Deny"},
		"other action": {SCP, stmt(func(m map[string]any) { m["Action"] = "dynamodb:DescribeContinuousBackups" }), false,
			"no Deny statement names"},
		"NotAction excluding it": {SCP, stmt(func(m map[string]any) { delete(m, "Action"); m["NotAction"] = "dynamodb:Update*" }), false, "no Deny"},
		"one table only": {SCP, stmt(func(m map[string]any) { m["Resource"] = "arn:aws:dynamodb:us-east-1:111122223333:table/orders" }), false,
			"covers only some tables"},
		"extra condition": {SCP, stmt(func(m map[string]any) {
			m["Condition"].(map[string]any)["StringEquals"] = map[string]any{"aws:RequestedRegion": "eu-west-1"}
		}), false, "applies only when StringEquals aws:RequestedRegion"},
		"exempts every role": {SCP, stmt(func(m map[string]any) {
			m["Condition"] = map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}
		}), false, "also matches ordinary principals"},
		"exempts an unlisted role": {SCP, stmt(func(m map[string]any) {
			m["Condition"] = map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": []string{"arn:aws:iam::*:role/pitrguard-*", "arn:aws:iam::*:role/DevOps"}}}
		}), false, "not among the allowed principals"},
		"rcp needs principal *": {RCP, stmt(nil), false, `"Principal": "*"`},
		"rcp with principal *": {RCP, stmt(func(m map[string]any) {
			m["Principal"] = "*"
			m["Condition"].(map[string]any)["BoolIfExists"] = map[string]any{"aws:PrincipalIsAWSService": "false"}
		}), true, ""},
		"not json": {SCP, "{", false, "not valid JSON"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := Analyse(c.doc, c.kind, pitrguardRoles)
			if got.Denies != c.denies || !strings.Contains(got.Reason, c.reason) {
				t.Errorf("Analyse = %+v, want denies=%v with %q", got, c.denies, c.reason)
			}
		})
	}
}

func TestRenderPolicyFormats(t *testing.T) {
	po := PolicyOptions{Kind: SCP, AllowPrincipals: pitrguardRoles, ProtectDeletes: true}
	_, raw, err := Generate(po)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := RenderPolicy("terraform", po, raw, []string{"ou-ab12-cdef3456"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`resource "aws_organizations_policy" "pitrguard_scp"`, `type        = "SERVICE_CONTROL_POLICY"`,
		`resource "aws_organizations_policy_attachment" "pitrguard_scp"`, `default     = ["ou-ab12-cdef3456"]`,
		"# What it cannot prevent:", "jsonencode(jsondecode(<<-EOT"} {
		if !strings.Contains(string(tf), want) {
			t.Errorf("terraform output lacks %q", want)
		}
	}
	cf, err := RenderPolicy("cloudformation", po, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type: AWS::Organizations::Policy", "TargetIds: !Ref TargetIds", "Type: SERVICE_CONTROL_POLICY", "# What it prevents:"} {
		if !strings.Contains(string(cf), want) {
			t.Errorf("cloudformation output lacks %q", want)
		}
	}
	// The policy embedded in the CloudFormation template is the validated one.
	i := strings.Index(string(cf), "      Content:\n")
	if i < 0 || Validate([]byte(string(cf)[i+len("      Content:\n"):]), SCP, pitrguardRoles) != nil {
		t.Error("the Content of the CloudFormation template is not the validated policy")
	}
	if err := CheckTarget("ou-ab12-cdef3456"); err != nil {
		t.Error(err)
	}
	if err := CheckTarget("ou-nope"); err == nil {
		t.Error("a bad OU id was accepted")
	}
}

func TestRenderConfig(t *testing.T) {
	o := ConfigOptions{RemediationRoleName: "pitrguard-config-remediation", MaxAttempts: 5, RetrySeconds: 600}
	for _, format := range []string{"cloudformation", "terraform"} {
		out, err := RenderConfig(format, o)
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		for _, want := range []string{"SourceIdentifier: DYNAMODB_PITR_ENABLED", "TargetId: AWSConfigRemediation-EnablePITRForDynamoDbTable",
			"Value: RESOURCE_ID", "AutomationAssumeRole:", "role/pitrguard-config-remediation", "Automatic: true",
			"always set to 35 days", "does not retry ContinuousBackupsUnavailableException", "event handler"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s output lacks %q", format, want)
			}
		}
	}
	tf, _ := RenderConfig("terraform", o)
	if !strings.Contains(string(tf), "$${AWS::AccountId}") {
		t.Error("terraform must escape ${...} in the pack body")
	}
	if _, err := RenderConfig("pulumi", o); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestRenderJSONFitsAsPrinted(t *testing.T) {
	var allow []string
	for i := range 75 {
		allow = append(allow, fmt.Sprintf("arn:aws:iam::%012d:role/pitrguard-remediation-%02d", 100000000000+i, i))
	}
	po := PolicyOptions{Kind: SCP, AllowPrincipals: allow}
	_, raw, err := Generate(po)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) <= MaxPolicyChars {
		t.Fatalf("the fixture should be over the quota when indented (%d)", len(raw))
	}
	out, err := RenderPolicy("json", po, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.TrimSpace(string(out))); n > MaxPolicyChars {
		t.Errorf("printed policy has %d characters, over the quota as printed", n)
	}
}
