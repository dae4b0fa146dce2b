package deploy

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"go.yaml.in/yaml/v3"

	"github.com/pitrguard/pitrguard/internal/events"
	"github.com/pitrguard/pitrguard/internal/iampolicy"
)

var opts = Options{HandlerRole: "pitrguard-events-handler", MemberRole: "pitrguard-events"}

func parseCFN(t *testing.T, text string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("the CloudFormation template is not YAML: %v", err)
	}
	return doc
}

func resourcesOf(t *testing.T, doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, r := range doc["Resources"].(map[string]any) {
		out[name] = r.(map[string]any)
	}
	return out
}

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

// refs collects every Ref and Fn::GetAtt target in v.
func refs(v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			switch k {
			case "Ref":
				out[c.(string)] = true
			case "Fn::GetAtt":
				out[c.([]any)[0].(string)] = true
			}
			refs(c, out)
		}
	case []any:
		for _, c := range x {
			refs(c, out)
		}
	}
}

func TestCloudFormationTemplate(t *testing.T) {
	for _, org := range []bool{false, true} {
		o := opts
		o.Org = org
		text, err := CloudFormation(o)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "PREREQUISITE: An organization CloudTrail trail") {
			t.Errorf("org=%v: the template does not state its prerequisite", org)
		}
		doc := parseCFN(t, text)
		res := resourcesOf(t, doc)
		types := map[string]int{}
		for _, r := range res {
			types[r["Type"].(string)]++
		}
		want := map[string]int{"AWS::Lambda::Function": 1, "AWS::IAM::Role": 1, "AWS::SQS::Queue": 2, "AWS::SQS::QueuePolicy": 1,
			"AWS::Lambda::EventSourceMapping": 1, "AWS::Lambda::EventInvokeConfig": 1, "AWS::Events::Rule": 3, "AWS::Lambda::Permission": 3}
		if org {
			want["AWS::Events::Rule"], want["AWS::Lambda::Permission"] = 6, 6
			want["AWS::Events::EventBus"], want["AWS::Events::EventBusPolicy"], want["AWS::CloudFormation::StackSet"] = 1, 1, 1
		}
		for k, n := range want {
			if types[k] != n {
				t.Errorf("org=%v: %d %s, want %d", org, types[k], k, n)
			}
		}
		fn := props(res["Function"])
		if fn["Runtime"] != "provided.al2023" || !slices.Equal(toStrings(fn["Architectures"]), []string{"arm64"}) || fn["Handler"] != "bootstrap" || fn["Timeout"] != 900 {
			t.Errorf("function %v", fn)
		}
		envVars := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
		for _, k := range []string{"PITRGUARD_CONFIG", "PITRGUARD_QUEUE_URL", "PITRGUARD_IGNORE_ROLES"} {
			if envVars[k] == nil {
				t.Errorf("function environment lacks %s", k)
			}
		}
		if org && envVars["PITRGUARD_ROLE_NAME"] == nil {
			t.Errorf("org function does not know the member role")
		}
		if got := props(res["RetryQueueMapping"])["FunctionResponseTypes"]; !slices.Equal(toStrings(got), []string{"ReportBatchItemFailures"}) {
			t.Errorf("event source mapping %v must report batch item failures", got)
		}
		if rp := props(res["RetryQueue"])["RedrivePolicy"].(map[string]any); rp["maxReceiveCount"] == nil {
			t.Errorf("retry queue has no dead-letter queue: %v", rp)
		}
		// Least privilege: DynamoDB actions exactly the handler's.
		var ddb []string
		for _, p := range props(res["HandlerRole"])["Policies"].([]any) {
			for _, s := range p.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				for _, a := range toStrings(s.(map[string]any)["Action"]) {
					if strings.HasPrefix(a, "dynamodb:") {
						ddb = append(ddb, a)
					}
					if strings.HasSuffix(a, ":*") || a == "*" {
						t.Errorf("wildcard action %s", a)
					}
				}
			}
		}
		sort.Strings(ddb)
		if !slices.Equal(ddb, HandlerActions) {
			t.Errorf("DynamoDB actions %v, want %v", ddb, HandlerActions)
		}
		// Narrow rules: only the handled events, errorCode absent, own role excluded.
		var names []string
		for name, r := range res {
			if r["Type"] != "AWS::Events::Rule" || strings.HasPrefix(name, "Local") {
				continue
			}
			pat := props(r)["EventPattern"].(map[string]any)
			d := pat["detail"].(map[string]any)
			names = append(names, toStrings(d["eventName"])...)
			if !slices.Equal(toStrings(pat["source"]), []string{"aws.dynamodb"}) || !slices.Equal(toStrings(pat["detail-type"]), []string{"AWS API Call via CloudTrail"}) {
				t.Errorf("rule %s pattern %v", name, pat)
			}
			if ec := d["errorCode"].([]any)[0].(map[string]any); ec["exists"] != false {
				t.Errorf("rule %s does not require errorCode absent", name)
			}
			ab := d["userIdentity"].(map[string]any)["arn"].([]any)[0].(map[string]any)["anything-but"].(map[string]any)["prefix"].(map[string]any)
			if !strings.Contains(ab["Fn::Sub"].(string), "assumed-role/${HandlerRoleName}/") {
				t.Errorf("rule %s does not exclude pitrguard's role: %v", name, ab)
			}
			if org && props(r)["EventBusName"] == nil {
				t.Errorf("org rule %s is not on the central bus", name)
			}
		}
		sort.Strings(names)
		if !slices.Equal(slices.Compact(names), events.EventNames) {
			t.Errorf("rules match events %v, want %v", slices.Compact(names), events.EventNames)
		}
		// Every Ref / GetAtt names a resource or parameter.
		used := map[string]bool{}
		refs(doc["Resources"], used)
		refs(doc["Outputs"], used)
		params := doc["Parameters"].(map[string]any)
		for r := range used {
			if _, ok := res[r]; !ok && params[r] == nil && !strings.HasPrefix(r, "AWS::") {
				t.Errorf("org=%v: reference to undefined %s", org, r)
			}
		}
		if org {
			ss := props(res["MemberForwarding"])
			if ss["PermissionModel"] != "SERVICE_MANAGED" || ss["AutoDeployment"].(map[string]any)["Enabled"] != true {
				t.Errorf("stack set %v", ss)
			}
			var member map[string]any
			if err := json.Unmarshal([]byte(ss["TemplateBody"].(string)), &member); err != nil {
				t.Fatalf("member template: %v", err)
			}
			mres := resourcesOf(t, member)
			rules := 0
			for _, r := range mres {
				if r["Type"] == "AWS::Events::Rule" {
					rules++
					target := props(r)["Targets"].([]any)[0].(map[string]any)
					if target["Arn"].(map[string]any)["Ref"] != "CentralBusArn" || target["RoleArn"] == nil {
						t.Errorf("member rule does not forward to the central bus: %v", target)
					}
				}
			}
			if rules != 3 || mres["MemberRole"]["Condition"] != "HomeRegion" || mres["ForwardRole"]["Condition"] != "HomeRegion" {
				t.Errorf("member template: %d rules, roles created once per account (HomeRegion): %v / %v", rules, mres["MemberRole"]["Condition"], mres["ForwardRole"]["Condition"])
			}
			used := map[string]bool{}
			refs(member["Resources"], used)
			for r := range used {
				if _, ok := mres[r]; !ok && member["Parameters"].(map[string]any)[r] == nil && !strings.HasPrefix(r, "AWS::") {
					t.Errorf("member template: reference to undefined %s", r)
				}
			}
		}
	}
}

func toStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case string:
		return []string{x}
	}
	return nil
}

func TestTerraformParses(t *testing.T) {
	for _, org := range []bool{false, true} {
		o := opts
		o.Org = org
		text, err := Terraform(o)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := hclparse.NewParser().ParseHCL([]byte(text), "pitrguard-events.tf")
		if diags.HasErrors() {
			t.Fatalf("org=%v: HCL does not parse: %v", org, diags)
		}
		body := f.Body.(*hclsyntax.Body)
		types := map[string]int{}
		declared := map[string]bool{}
		for _, b := range body.Blocks {
			if b.Type == "resource" {
				types[b.Labels[0]]++
				declared[b.Labels[0]+"."+b.Labels[1]] = true
			}
			if b.Type == "data" {
				declared["data."+b.Labels[0]+"."+b.Labels[1]] = true
			}
			if b.Type == "variable" {
				declared["var."+b.Labels[0]] = true
			}
			if b.Type == "resource" && b.Labels[0] == "aws_lambda_function" {
				for name, want := range map[string]string{"runtime": "provided.al2023", "handler": "bootstrap"} {
					v, d := b.Body.Attributes[name].Expr.Value(nil)
					if d.HasErrors() || v.AsString() != want {
						t.Errorf("lambda %s = %v, want %s", name, v, want)
					}
				}
			}
			// Every reference names something declared.
			for _, a := range b.Body.Attributes {
				for _, tr := range a.Expr.Variables() {
					if name := traversalName(tr); name != "" && !declared[name] && !strings.HasPrefix(name, "each.") {
						defer func(n string) {
							if !declared[n] {
								t.Errorf("org=%v: reference to undeclared %s", org, n)
							}
						}(name)
					}
				}
			}
		}
		want := map[string]int{"aws_lambda_function": 1, "aws_iam_role": 1, "aws_sqs_queue": 2, "aws_cloudwatch_event_rule": 3,
			"aws_cloudwatch_event_target": 3, "aws_lambda_permission": 3, "aws_lambda_event_source_mapping": 1}
		if org {
			want["aws_cloudwatch_event_rule"], want["aws_cloudwatch_event_target"], want["aws_lambda_permission"] = 6, 6, 6
			want["aws_cloudwatch_event_bus"], want["aws_cloudformation_stack_set"], want["aws_cloudformation_stack_set_instance"] = 1, 1, 1
		}
		for k, n := range want {
			if types[k] != n {
				t.Errorf("org=%v: %d %s, want %d", org, types[k], k, n)
			}
		}
		if !strings.Contains(text, `"anything-but"`) || !strings.Contains(text, `"exists": false`) {
			t.Errorf("terraform rules are not narrow")
		}
	}
}

// traversalName returns var.x, data.t.n or type.name for a traversal.
func traversalName(tr hcl.Traversal) string {
	parts := []string{tr.RootName()}
	for _, s := range tr[1:] {
		a, ok := s.(hcl.TraverseAttr)
		if !ok {
			break
		}
		parts = append(parts, a.Name)
	}
	switch {
	case parts[0] == "var" && len(parts) >= 2:
		return "var." + parts[1]
	case parts[0] == "data" && len(parts) >= 3:
		return "data." + parts[1] + "." + parts[2]
	case parts[0] == "each" || parts[0] == "count" || parts[0] == "path":
		return "each."
	case len(parts) >= 2 && strings.HasPrefix(parts[0], "aws_"):
		return parts[0] + "." + parts[1]
	}
	return ""
}

// TestHandlerActionsMatchIAMPolicy: the handler's DynamoDB permissions are
// exactly those `pitrguard iam-policy enable` grants on tables.
func TestHandlerActionsMatchIAMPolicy(t *testing.T) {
	doc, err := iampolicy.Policy("enable", "r", "aws")
	if err != nil {
		t.Fatal(err)
	}
	var onTables []string
	for _, s := range doc.Statement {
		if s.Resource == "arn:aws:dynamodb:*:*:table/*" {
			onTables = append(onTables, s.Action...)
		}
	}
	sort.Strings(onTables)
	if !slices.Equal(onTables, HandlerActions) {
		t.Errorf("iam-policy enable grants %v on tables; the handler's role has %v", onTables, HandlerActions)
	}
}
