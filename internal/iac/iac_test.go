package iac

import (
	"strings"
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	on, off := Outcome{Known: true, Enabled: true}, Outcome{Known: true}
	for _, tc := range []struct {
		name string
		outs []Outcome
		opt  Options
		want Verdict
		rule string
	}{
		{"enabled", []Outcome{on}, Options{}, Pass, RulePITR},
		{"disabled", []Outcome{off}, Options{}, Fail, RulePITR},
		{"unknown", []Outcome{{Why: "var.x"}}, Options{}, Unknown, RulePITR},
		{"absent", []Outcome{{Absent: true}}, Options{}, NotApplicable, RulePITR},
		{"schema", []Outcome{{Known: true, Enabled: true, Schema: []string{"bad period"}}}, Options{}, Fail, RuleSchema},
		{"short window", []Outcome{{Known: true, Enabled: true, Days: 7}}, Options{MinRecoveryDays: 14}, Fail, RuleWindow},
		{"default window is 35", []Outcome{on}, Options{MinRecoveryDays: 35}, Pass, RulePITR},
		{"mixed", []Outcome{{Known: true, Enabled: true, When: "a"}, {Known: true, When: "b"}}, Options{}, Conditional, RulePITR},
		{"mixed with unknown", []Outcome{{Known: true, Enabled: true, When: "a"}, {Why: "x", When: "b"}}, Options{}, Unknown, RulePITR},
		{"fail whenever created", []Outcome{{Known: true, When: "a"}, {Absent: true, When: "b"}}, Options{}, Fail, RulePITR},
		{"all pass", []Outcome{{Known: true, Enabled: true, When: "a"}, {Known: true, Enabled: true, When: "b"}}, Options{}, Pass, RulePITR},
	} {
		j := Judge(tc.outs, tc.opt)
		v, reasons, rule := j.Verdict, j.Reasons, j.Rule
		if v != tc.want || rule != tc.rule {
			t.Errorf("%s: %s %s %v, want %s %s", tc.name, v, rule, reasons, tc.want, tc.rule)
		}
		if v == Conditional && (len(reasons) != 2 || !strings.Contains(reasons[0], "PASS when a")) {
			t.Errorf("%s: conditional must say which: %v", tc.name, reasons)
		}
	}
}

func TestDirectives(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	ds, problems := CommentDirectives([]string{
		"# pitrguard:ignore rebuilt from S3 until=2027-01-31",
		"  #checkov:skip=CKV_AWS_28:scratch table",
		"#trivy:ignore:avd-aws-0024:exp:2025-01-01",
		"// tfsec:ignore:aws-dynamodb-enable-recovery",
		"# kics-scan ignore-block",
		"# pitrguard:ignore",
		"# pitrguard:ignore x until=2027-13-40",
		"name = \"t\" # pitrguard:ignore trailing reason",
	})
	var by []string
	for _, d := range ds {
		by = append(by, d.By)
	}
	if got := strings.Join(by, ","); got != "pitrguard,checkov,trivy,tfsec,kics,pitrguard" {
		t.Errorf("directives %s", got)
	}
	if len(problems) != 2 {
		t.Errorf("problems %v", problems)
	}
	f := Finding{Verdict: Fail, Reasons: []string{"off"}, Fix: &Fix{Desc: "x"}}
	Apply(&f, ds[2:3], now) // the trivy one expired on 2025-01-01
	if f.Verdict != Fail || !strings.Contains(f.Reasons[len(f.Reasons)-1], "expired on 2025-01-01") {
		t.Errorf("expired: %+v", f)
	}
	Apply(&f, ds[:1], now)
	if f.Verdict != Suppressed || f.SuppressedBy != "pitrguard" || f.Fix != nil {
		t.Errorf("suppressed: %+v", f)
	}
	p := Finding{Verdict: Pass}
	Apply(&p, ds, now)
	if p.Verdict != Pass {
		t.Error("a PASS must stay PASS")
	}
}
