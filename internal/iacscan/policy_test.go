package iacscan

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/iac"
	"github.com/pitrguard/pitrguard/internal/policy"
)

// TestPolicyCorpus is issue 9's "One evaluator": IaC findings are judged by
// the audit's policy evaluation. A tmp-* table the audit calls COMPLIANT
// (ephemeral tier) passes; tiers come from literal names and tags (provider
// default_tags included); exemptions apply by name, and by ARN only when the
// account is not needed; a name or tag that is not resolvable makes the
// verdict UNKNOWN exactly when it could change it.
func TestPolicyCorpus(t *testing.T) {
	t.Chdir("testdata/policy")
	cfg, err := config.Load("pitrguard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := Scan([]string{"tf", "defaulttags", "cfn"}, Options{Now: now, Base: mustWd(t), Rules: iac.Options{Policy: policy.New(cfg, now)}})
	if len(r.Errors) != 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	got := map[string]string{}
	for _, f := range r.Findings {
		tier := f.Tier
		if tier == "" {
			tier = "-"
		}
		got[f.File+"|"+f.Resource+"|"+f.ReplicaRegion] = string(f.Verdict) + " " + tier
		if f.Verdict == iac.Unknown && !strings.Contains(strings.Join(f.Reasons, ";"), "depends on") {
			t.Errorf("%s: UNKNOWN without what decides it: %q", f.Resource, f.Reasons)
		}
	}
	want := map[string]string{}
	fh, err := os.Open("../policy.expected")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	for sc := bufio.NewScanner(fh); sc.Scan(); {
		k, v, _ := strings.Cut(sc.Text(), " ")
		want[k] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts and tiers (-want +got):\n%s", diff)
	}
	for _, f := range r.Findings {
		switch f.Resource {
		case "aws_dynamodb_table.scratch":
			if f.Exemption == nil || f.Exemption.Reason != "rebuilt nightly from S3" {
				t.Errorf("scratch: exemption %+v", f.Exemption)
			}
		case "aws_dynamodb_table.expired":
			if !strings.Contains(strings.Join(f.Reasons, ";"), "expired on 2026-01-31") {
				t.Errorf("expired exemption not said: %q", f.Reasons)
			}
		case "aws_dynamodb_table.legacy":
			if !strings.Contains(strings.Join(f.Reasons, ";"), "account") {
				t.Errorf("legacy: %q", f.Reasons)
			}
		}
	}
}

// TestDefaultPolicyIsTheAudits: without a policy file the built-in defaults
// apply as in the audit — env/environment/stage = prod/production/prd (any
// case) is critical (35 days), the rest standard (PITR, any period).
func TestDefaultPolicyIsTheAudits(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/main.tf", []byte(`resource "aws_dynamodb_table" "prod" {
  name = "p"
  tags = { Stage = "PRD" }
  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = 14
  }
}
resource "aws_dynamodb_table" "dev" {
  name = "d"
  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = 1
  }
}
resource "aws_dynamodb_table" "tmp" {
  name = "tmp-x"
}
`), 0o644)
	r := Scan([]string{dir}, Options{Now: now})
	got := map[string]string{}
	for _, f := range r.Findings {
		got[f.Resource] = string(f.Verdict) + " " + f.Tier
	}
	want := map[string]string{"aws_dynamodb_table.prod": "FAIL critical", "aws_dynamodb_table.dev": "PASS standard", "aws_dynamodb_table.tmp": "FAIL standard"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestTerraformEnvironmentVariables: Terraform reads TF_VAR_name before any
// tfvars file (which wins over it), and the scan does the same.
func TestTerraformEnvironmentVariables(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/main.tf", []byte("variable \"pitr\" {\n  type = bool\n}\nvariable \"other\" {\n  type = bool\n}\n"+
		"resource \"aws_dynamodb_table\" \"a\" {\n  name = \"a\"\n  point_in_time_recovery {\n    enabled = var.pitr\n  }\n}\n"+
		"resource \"aws_dynamodb_table\" \"b\" {\n  name = \"b\"\n  point_in_time_recovery {\n    enabled = var.other\n  }\n}\n"), 0o644)
	os.WriteFile(dir+"/terraform.tfvars", []byte("other = false\n"), 0o644)
	r := Scan([]string{dir}, Options{Now: now, Env: map[string]string{"pitr": "true", "other": "true"}})
	got := map[string]iac.Verdict{}
	for _, f := range r.Findings {
		got[f.Resource] = f.Verdict
	}
	if got["aws_dynamodb_table.a"] != iac.Pass || got["aws_dynamodb_table.b"] != iac.Fail {
		t.Errorf("%v", got)
	}
	if r := Scan([]string{dir}, Options{Now: now}); r.Findings[0].Verdict != iac.Conditional {
		t.Errorf("without TF_VAR_pitr: %s", r.Findings[0].Verdict)
	}
}
