// Package iac holds what the IaC scanners share: findings, verdicts, the
// combination of possible outcomes into a verdict, and suppression
// directives (pitrguard's own and its peers'). The Terraform and
// CloudFormation front ends turn files into findings with it.
package iac

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Verdict of one resource or replica.
type Verdict string

// Verdicts.
const (
	Pass          Verdict = "PASS"
	Fail          Verdict = "FAIL"
	Unknown       Verdict = "UNKNOWN"
	Conditional   Verdict = "CONDITIONAL"
	NotApplicable Verdict = "NOT_APPLICABLE"
	Suppressed    Verdict = "SUPPRESSED"
	Info          Verdict = "INFO" // known and not fixable in the template (CDK replicationRegions replicas)
)

// Rules.
const (
	RulePITR     = "pitrguard/pitr-enabled"
	RuleWindow   = "pitrguard/pitr-recovery-window"
	RuleSchema   = "pitrguard/pitr-schema"
	RuleReplicaI = "pitrguard/cdk-replica-pitr"
)

// Finding is the result for one resource (or one replica of it).
type Finding struct {
	File          string   `json:"file"`
	Line          int      `json:"line"`
	Resource      string   `json:"resource"`
	ReplicaRegion string   `json:"replica_region"`
	Verdict       Verdict  `json:"verdict"`
	Reasons       []string `json:"reasons"`
	Rule          string   `json:"rule"`
	SuppressedBy  string   `json:"suppressed_by"`
	// Fix says how `iac fix` can make it pass (nil: not fixable automatically).
	Fix *Fix `json:"-"`
}

// Outcome is one possible evaluation of a PITR setting.
type Outcome struct {
	// Known is false when the value depends on an input with no value.
	Known   bool
	Enabled bool
	// Days is RecoveryPeriodInDays (0 = not set: 35 days).
	Days int
	// Present is false when there is no resource at all (count = 0, a false
	// resource condition).
	Absent bool
	// When names the input values this outcome holds under ("" = always).
	When string
	// Why explains an unknown value (the input that decides it).
	Why string
	// Schema lists configuration errors (an empty block, a bad period).
	Schema []string
}

// Options are the rule settings.
type Options struct {
	// MinRecoveryDays, if > 0, fails windows shorter than it.
	MinRecoveryDays int
}

// verdictOf judges one outcome.
func verdictOf(o Outcome, opt Options) (Verdict, []string, string) {
	switch {
	case o.Absent:
		return NotApplicable, []string{"resource is not created" + when(o.When)}, RulePITR
	case !o.Known:
		return Unknown, []string{o.Why}, RulePITR
	case len(o.Schema) > 0 && !o.Enabled:
		return Fail, append([]string{"point-in-time recovery is not enabled"}, o.Schema...), RuleSchema
	case len(o.Schema) > 0:
		return Fail, o.Schema, RuleSchema
	case !o.Enabled:
		return Fail, []string{"point-in-time recovery is not enabled"}, RulePITR
	}
	days := o.Days
	if days == 0 {
		days = 35
	}
	if opt.MinRecoveryDays > 0 && days < opt.MinRecoveryDays {
		return Fail, []string{fmt.Sprintf("recovery period is %d days, below the minimum of %d", days, opt.MinRecoveryDays)}, RuleWindow
	}
	return Pass, []string{}, RulePITR
}

func when(w string) string {
	if w == "" {
		return ""
	}
	return " when " + w
}

// Judge combines the possible outcomes of a resource into one verdict: all
// the same → that verdict; some PASS and some FAIL → CONDITIONAL, saying
// under which inputs; anything unknown → UNKNOWN with the deciding input.
func Judge(outcomes []Outcome, opt Options) (Verdict, []string, string) {
	if len(outcomes) == 1 {
		return verdictOf(outcomes[0], opt)
	}
	var byVerdict = map[Verdict][]string{}
	var reasons []string
	rule := RulePITR
	for _, o := range outcomes {
		v, rs, r := verdictOf(o, opt)
		if v == Fail && r != RulePITR {
			rule = r
		}
		byVerdict[v] = append(byVerdict[v], o.When)
		if v == Unknown {
			reasons = append(reasons, rs...)
		}
	}
	if len(byVerdict) == 1 {
		for v := range byVerdict {
			_, rs, r := verdictOf(outcomes[0], opt)
			return v, rs, r
		}
	}
	if _, ok := byVerdict[Unknown]; ok {
		return Unknown, dedupe(reasons), RulePITR
	}
	// Not created under some inputs: judge it as it is whenever it exists.
	if na := byVerdict[NotApplicable]; len(na) > 0 && len(byVerdict) == 2 {
		for _, o := range outcomes {
			if v, rs, r := verdictOf(o, opt); v != NotApplicable {
				return v, append(rs, "whenever it is created (not created when "+strings.Join(dedupe(na), " or ")+")"), r
			}
		}
	}
	var parts []string
	for _, v := range []Verdict{Pass, Fail, NotApplicable} {
		if ws := byVerdict[v]; len(ws) > 0 {
			parts = append(parts, fmt.Sprintf("%s when %s", v, strings.Join(dedupe(ws), " or ")))
		}
	}
	return Conditional, parts, rule
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// Directive is a suppression found in a file.
type Directive struct {
	By     string // pitrguard, checkov, trivy, tfsec, kics, cfn_nag, cfn-guard
	Reason string
	Until  *time.Time
}

var (
	ownRE     = regexp.MustCompile(`pitrguard:ignore(?:[ \t]+(.*))?$`)
	untilRE   = regexp.MustCompile(`\s*until=(\d{4}-\d{2}-\d{2})\s*$`)
	checkovRE = regexp.MustCompile(`checkov:skip=(CKV_AWS_28|CKV_AWS_165)\b(?::(.*))?`)
	trivyRE   = regexp.MustCompile(`(?i)(trivy|tfsec):ignore:(AVD-AWS-0024|aws-dynamodb-enable-recovery|AWS086)(?::exp:(\d{4}-\d{2}-\d{2}))?`)
	kicsRE    = regexp.MustCompile(`kics-scan\s+(ignore-block|ignore-line|ignore)\b`)
)

// CommentDirectives reads suppression directives from comment lines.
// Malformed own directives (no reason, bad date) are returned as problems.
func CommentDirectives(lines []string) (ds []Directive, problems []string) {
	for _, l := range lines {
		c := commentText(l)
		if c == "" {
			continue
		}
		if m := ownRE.FindStringSubmatch(c); m != nil {
			d := Directive{By: "pitrguard"}
			rest := m[1]
			if u := untilRE.FindStringSubmatch(rest); u != nil {
				t, err := time.Parse(time.DateOnly, u[1])
				if err != nil {
					problems = append(problems, fmt.Sprintf("pitrguard:ignore has a bad until= date %q (write YYYY-MM-DD)", u[1]))
					continue
				}
				t = t.AddDate(0, 0, 1)
				d.Until = &t
				rest = strings.TrimSpace(untilRE.ReplaceAllString(rest, ""))
			}
			d.Reason = strings.TrimSpace(rest)
			if d.Reason == "" {
				problems = append(problems, "pitrguard:ignore needs a reason, e.g. `# pitrguard:ignore rebuilt nightly from S3 until=2027-03-31`")
				continue
			}
			ds = append(ds, d)
		}
		if m := checkovRE.FindStringSubmatch(c); m != nil {
			ds = append(ds, Directive{By: "checkov", Reason: strings.TrimSpace(m[1] + " " + m[2])})
		}
		if m := trivyRE.FindStringSubmatch(c); m != nil {
			d := Directive{By: strings.ToLower(m[1]), Reason: m[2]}
			if m[3] != "" {
				if t, err := time.Parse(time.DateOnly, m[3]); err == nil {
					t = t.AddDate(0, 0, 1)
					d.Until = &t
				}
			}
			ds = append(ds, d)
		}
		if m := kicsRE.FindStringSubmatch(c); m != nil && m[1] != "ignore-line" {
			ds = append(ds, Directive{By: "kics", Reason: "kics-scan " + m[1]})
		}
	}
	return ds, problems
}

// commentText returns the text of a comment line (#, // or /* */), or "".
func commentText(l string) string {
	t := strings.TrimSpace(l)
	for _, p := range []string{"#", "//", "/*"} {
		if strings.HasPrefix(t, p) {
			return strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(t, p), "*/"))
		}
	}
	// A trailing comment on a code line.
	if i := strings.Index(t, " #"); i >= 0 {
		return strings.TrimSpace(t[i+2:])
	}
	return ""
}

// Apply suppresses f with the first directive in force at now; an expired
// pitrguard directive is not applied, and the finding says so.
func Apply(f *Finding, ds []Directive, now time.Time) {
	if f.Verdict == Pass || f.Verdict == NotApplicable {
		return
	}
	for _, d := range ds {
		if d.Until != nil && !now.Before(*d.Until) {
			f.Reasons = append(f.Reasons, fmt.Sprintf("%s suppression expired on %s and no longer applies", d.By, d.Until.AddDate(0, 0, -1).Format(time.DateOnly)))
			continue
		}
		f.Reasons = []string{fmt.Sprintf("was %s: %s", f.Verdict, strings.Join(f.Reasons, "; "))}
		if d.Reason != "" {
			f.Reasons = append(f.Reasons, "suppressed by "+d.By+": "+d.Reason)
		}
		f.Verdict, f.SuppressedBy, f.Fix = Suppressed, d.By, nil
		return
	}
}

// Sort orders findings by file, line, resource, replica region.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		return a.ReplicaRegion < b.ReplicaRegion
	})
}

// Fix is how a failing finding can be made to pass.
type Fix struct {
	// File is the file to edit (a variable default or a module input can be
	// in another file than the resource).
	File string
	// Desc says what the edit does.
	Desc string
	// Edit transforms the file's content (nil with Manual set).
	Edit func(src []byte) ([]byte, error)
	// Manual is set when a person has to decide (conditionals, dynamic blocks).
	Manual string
}
