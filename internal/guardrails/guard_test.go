package guardrails

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pitrguard/pitrguard/internal/iac"
	"github.com/pitrguard/pitrguard/internal/iac/cloudformation"
)

// cfn-guard is not installable from the registries these machines reach, so
// the rules file is tested for structure here and its unit-test cases are run
// through pitrguard's own CloudFormation front end instead (README, Guardrails).

func TestGuardRulesStructure(t *testing.T) {
	rules := GuardRules(GuardOptions{MinRecoveryDays: 14})
	if strings.Contains(rules, "{{") {
		t.Fatal("a placeholder was left in the rules")
	}
	if !strings.Contains(rules, "let MIN_RECOVERY_DAYS = 14") {
		t.Error("the tier minimum is not substituted")
	}
	// Braces, brackets and the <<...>> message blocks balance.
	for _, pair := range [][2]string{{"{", "}"}, {"[", "]"}, {"(", ")"}, {"<<", ">>"}} {
		if o, c := strings.Count(rules, pair[0]), strings.Count(rules, pair[1]); o != c {
			t.Errorf("%d %q but %d %q", o, pair[0], c, pair[1])
		}
	}
	names := GuardRuleNames(rules)
	for _, want := range []string{"pitrguard_table_pitr_enabled", "pitrguard_table_recovery_window", "pitrguard_global_table_replicas_pitr",
		"pitrguard_global_table_recovery_window", "pitrguard_no_simple_table", "pitrguard_hook_table_pitr_enabled"} {
		if !slices.Contains(names, want) {
			t.Errorf("rule %s missing (have %v)", want, names)
		}
	}
	// Every variable used is declared; every parameterized rule called exists.
	declared := map[string]bool{"this": true}
	for _, m := range regexp.MustCompile(`(?m)^let (\w+) =`).FindAllStringSubmatch(rules, -1) {
		declared[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`(?m)^rule \w+\(([\w, ]+)\)`).FindAllStringSubmatch(rules, -1) {
		for p := range strings.SplitSeq(m[1], ",") {
			declared[strings.TrimSpace(p)] = true
		}
	}
	for _, m := range regexp.MustCompile(`%(\w+)`).FindAllStringSubmatch(rules, -1) {
		if !declared[m[1]] {
			t.Errorf("variable %%%s is not declared", m[1])
		}
	}
	defined := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^rule (\w+)`).FindAllStringSubmatch(rules, -1) {
		defined[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`\b(pitrguard_\w+)\(`).FindAllStringSubmatch(rules, -1) {
		if !defined[m[1]] {
			t.Errorf("rule %s is called but not defined", m[1])
		}
	}
	// Every violation message block says how to fix it.
	for _, blk := range regexp.MustCompile(`(?s)<<(.*?)>>`).FindAllStringSubmatch(rules, -1) {
		if !strings.Contains(blk[1], "Violation:") || !strings.Contains(blk[1], "Fix:") {
			t.Errorf("message block without Violation/Fix: %s", blk[1])
		}
	}
}

func TestGuardTestFileCoversEveryTemplateRule(t *testing.T) {
	raw, err := GuardTests(GuardOptions{MinRecoveryDays: 14})
	if err != nil {
		t.Fatal(err)
	}
	var cases []GuardCase
	if err := yaml.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("the test file is not YAML: %v", err)
	}
	if len(cases) < 10 {
		t.Fatalf("only %d cases", len(cases))
	}
	rules := GuardRuleNames(GuardRules(GuardOptions{MinRecoveryDays: 14}))
	seen := map[string]map[string]bool{}
	for _, c := range cases {
		if c.Name == "" || c.Input["Resources"] == nil {
			t.Errorf("case without a name or input: %+v", c)
		}
		for r, st := range c.Expectations.Rules {
			if !slices.Contains(rules, r) {
				t.Errorf("case %q expects unknown rule %s", c.Name, r)
			}
			if st != "PASS" && st != "FAIL" && st != "SKIP" {
				t.Errorf("case %q: status %q", c.Name, st)
			}
			if seen[r] == nil {
				seen[r] = map[string]bool{}
			}
			seen[r][st] = true
		}
	}
	for _, r := range rules {
		if strings.HasPrefix(r, "pitrguard_hook_") {
			continue // hook input is not a template; covered by TestGuardHookTemplate
		}
		if !seen[r]["FAIL"] || !seen[r]["SKIP"] {
			t.Errorf("rule %s lacks a FAIL or a SKIP case: %v", r, seen[r])
		}
	}
}

// TestGuardCasesAgreeWithCloudFormationFrontEnd runs every Guard unit-test
// case through pitrguard's CloudFormation scanner with the same tier minimum:
// a case whose rules all PASS or SKIP must scan with no FAIL, a case with a
// FAIL must scan with one. (The Guard rules flag every
// AWS::Serverless::SimpleTable; the front end flags one without PITR, which is
// the SimpleTable case shipped.)
func TestGuardCasesAgreeWithCloudFormationFrontEnd(t *testing.T) {
	for _, min := range []int{1, 14} {
		o := GuardOptions{MinRecoveryDays: min}
		for _, c := range GuardCases(o) {
			t.Run(c.Name, func(t *testing.T) {
				src, err := yaml.Marshal(c.Input)
				if err != nil {
					t.Fatal(err)
				}
				rulesOpt := iac.Options{}
				if min > 1 {
					rulesOpt.MinRecoveryDays = min
				}
				fs, err := cloudformation.Scan("case.yaml", src, nil, rulesOpt, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				guardFails, allSkip := false, true
				for _, st := range c.Expectations.Rules {
					guardFails = guardFails || st == "FAIL"
					allSkip = allSkip && st == "SKIP"
				}
				scanFails := false
				for _, f := range fs {
					scanFails = scanFails || f.Verdict == iac.Fail
				}
				if allSkip && len(fs) != 0 {
					t.Errorf("Guard skips every rule but the scanner judged %d resources", len(fs))
				}
				if guardFails != scanFails {
					t.Errorf("Guard FAIL=%v, pitrguard scan FAIL=%v (findings %+v)", guardFails, scanFails, fs)
				}
			})
		}
	}
}

func TestGuardHookTemplate(t *testing.T) {
	tpl := GuardHookTemplate(GuardOptions{MinRecoveryDays: 7, RulesS3URI: "s3://b/pitrguard.guard", FailureMode: "FAIL", ExecutionRoleName: "r"})
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(tpl), &doc); err != nil {
		t.Fatalf("the hook template is not YAML: %v", err)
	}
	res := doc["Resources"].(map[string]any)
	hook := res["PitrguardGuardHook"].(map[string]any)
	if hook["Type"] != "AWS::CloudFormation::GuardHook" {
		t.Fatalf("hook type = %v", hook["Type"])
	}
	props := hook["Properties"].(map[string]any)
	if props["FailureMode"] != "FAIL" || props["HookStatus"] != "ENABLED" {
		t.Errorf("hook properties = %v", props)
	}
	ops := props["TargetOperations"].([]any)
	if !slices.Contains(ops, any("STACK")) || !slices.Contains(ops, any("RESOURCE")) {
		t.Errorf("TargetOperations = %v", ops)
	}
	if !strings.Contains(tpl, "Default: s3://b/pitrguard.guard") || !strings.Contains(tpl, "What it cannot prevent") {
		t.Error("the rules location or the honest header is missing")
	}
}
