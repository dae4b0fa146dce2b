// Package iac holds what the IaC scanners share: findings, verdicts, the
// combination of possible outcomes into a verdict, and suppression
// directives (pitrguard's own and its peers'). The Terraform and
// CloudFormation front ends turn files into findings with it.
package iac

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
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
	// Exempt: a policy exemption applies (the audit's EXEMPT).
	Exempt Verdict = "EXEMPT"
	Info   Verdict = "INFO" // known and not fixable in the template (CDK replicationRegions replicas)
)

// Rules.
const (
	RulePITR     = "pitrguard/pitr-enabled"
	RuleWindow   = "pitrguard/pitr-recovery-window"
	RuleSchema   = "pitrguard/pitr-schema"
	RuleReplicaI = "pitrguard/cdk-replica-pitr"
	// RuleBackupSelection: an AWS Backup selection names a DynamoDB table by
	// name where AWS Backup expects an ARN, so it selects nothing
	// (terraform-provider-aws #29458; issue 12).
	RuleBackupSelection = "pitrguard/backup-selection-arn"
)

// BackupSelectionAdvice ends every backup-selection-arn finding.
const BackupSelectionAdvice = "AWS Backup reads Resources and NotResources as ARNs (or patterns of ARNs) and selects nothing with a table name; use the table's ARN (aws_dynamodb_table.x.arn, !GetAtt Table.Arn) or a pattern like arn:aws:dynamodb:*:*:table/orders*"

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
	// Tier is the policy tier the resource was judged in ("" when it could
	// not be told, or when every possible tier gives the same verdict).
	Tier string `json:"tier"`
	// Exemption is the policy exemption that applied (or expired).
	Exemption *policy.AppliedExemption `json:"exemption,omitempty"`
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
	// ID is what the policy's tiers and exemptions read about the resource.
	ID Identity
}

// Identity is what the policy reads about a resource to tier it and match
// exemptions: its literal name, region and tags, each as far as the code
// resolves it. The account (and so the ARN) is never known in code.
type Identity struct {
	Name string
	// NameWhy says why the name is not known ("" when it is).
	NameWhy string
	// Region is the region the table lives in ("" when not known).
	Region string
	// Tags are the tags known.
	Tags map[string]string
	// TagsWhy says why the tag set is not known ("" when it is).
	TagsWhy string
	// UnknownTags maps tags whose values are not known to why.
	UnknownTags map[string]string
}

// Options are the rule settings.
type Options struct {
	// MinRecoveryDays, if > 0, also fails windows shorter than it (on top of
	// the policy; --min-recovery-days).
	MinRecoveryDays int
	// Policy judges every resource, as it judges live tables (nil: the
	// built-in defaults, exactly as the audit without a policy file).
	Policy *policy.Evaluator
}

var defaultPolicy = policy.New(config.Default(), time.Time{})

func (o Options) evaluator() *policy.Evaluator {
	if o.Policy != nil {
		return o.Policy
	}
	return defaultPolicy
}

// Judgement is the verdict on a resource or replica.
type Judgement struct {
	Verdict   Verdict
	Reasons   []string
	Rule      string
	Tier      string
	Exemption *policy.AppliedExemption
}

// Set records the judgement on a finding, before the reasons it has.
func (j Judgement) Set(f *Finding) {
	f.Verdict, f.Rule, f.Tier, f.Exemption = j.Verdict, j.Rule, j.Tier, j.Exemption
	f.Reasons = append(append([]string{}, j.Reasons...), f.Reasons...)
}

// verdictOf judges one outcome: configuration errors first (Terraform or
// CloudFormation rejects them whatever the policy), then the policy's own
// evaluation (tiers, exemptions, require_pitr, min_recovery_days) through
// policy.EvaluateUnresolved, then --min-recovery-days on top.
func verdictOf(o Outcome, opt Options) Judgement {
	if j, ok := configJudgement(o); ok {
		return j
	}
	t, u := policyInput(o)
	res := opt.evaluator().EvaluateUnresolved(t, u)
	j := Judgement{Rule: RulePITR, Tier: res.Tier.Name, Exemption: res.Exemption, Reasons: []string{}}
	switch {
	case !res.Decided && !slices.ContainsFunc(res.Possible, func(v model.Verdict) bool { return v != model.Compliant && v != model.Exempt }):
		// Compliant or exempt: passes either way.
		j.Verdict, j.Exemption = Pass, nil
		j.Reasons = []string{"compliant, or exempt by a policy exemption, depending on " + strings.Join(res.Deciding, ", ") + " (" + whyUnknown(o.ID, res.Deciding) + ")"}
	case !res.Decided:
		j.Verdict = Unknown
		j.Reasons = undecidedReasons(o, res)
	case res.Verdict == model.Exempt:
		j.Verdict = Exempt
		ex := res.Exemption
		j.Reasons = []string{fmt.Sprintf("exempt by the policy (%s): %s", ex.Pattern, ex.Reason)}
	case res.Verdict == model.Unknown:
		j.Verdict, j.Reasons = Unknown, []string{o.Why}
	case res.Verdict == model.Compliant:
		j.Verdict = Pass
		if !o.Enabled {
			j.Reasons = []string{fmt.Sprintf("tier %s does not require point-in-time recovery", res.Tier.Name)}
		}
	default:
		j.Verdict = Fail
		j.Rule, j.Reasons = failReasons(t, res)
	}
	if res.Exemption != nil && res.Exemption.Expired && j.Verdict != Exempt {
		j.Reasons = append(j.Reasons, fmt.Sprintf("policy exemption %s expired on %s and no longer applies", res.Exemption.Pattern, res.Exemption.Expires))
	}
	if j.Verdict == Pass && o.Enabled && opt.MinRecoveryDays > 0 && t.PITR.RecoveryPeriodDays < opt.MinRecoveryDays {
		j.Verdict, j.Rule = Fail, RuleWindow
		j.Reasons = []string{fmt.Sprintf("recovery period is %d days, below the minimum of %d", t.PITR.RecoveryPeriodDays, opt.MinRecoveryDays)}
	}
	return j
}

// configJudgement judges an outcome the policy has no say in: a resource
// not created, or a configuration Terraform or CloudFormation rejects.
func configJudgement(o Outcome) (Judgement, bool) {
	switch {
	case o.Absent:
		return Judgement{Verdict: NotApplicable, Reasons: []string{"resource is not created" + when(o.When)}, Rule: RulePITR}, true
	case o.Known && len(o.Schema) > 0 && !o.Enabled:
		return Judgement{Verdict: Fail, Reasons: append([]string{"point-in-time recovery is not enabled"}, o.Schema...), Rule: RuleSchema}, true
	case o.Known && len(o.Schema) > 0:
		return Judgement{Verdict: Fail, Reasons: o.Schema, Rule: RuleSchema}, true
	}
	return Judgement{}, false
}

// policyInput is the table an outcome describes, as the policy sees it, and
// what of its identity is not known before deploying.
func policyInput(o Outcome) (*model.Table, policy.Unresolved) {
	t := &model.Table{Name: o.ID.Name, Region: o.ID.Region, Tags: o.ID.Tags, TagsKnown: true, DescribeKnown: true,
		PITR: model.PITR{Known: o.Known, Enabled: o.Enabled}}
	if t.Tags == nil {
		t.Tags = map[string]string{}
	}
	if o.Enabled {
		t.PITR.RecoveryPeriodDays = model.RecoveryDays(int32(o.Days))
	}
	u := policy.Unresolved{Name: o.ID.NameWhy != "", Account: true, Region: o.ID.Region == "", Tags: o.ID.TagsWhy != ""}
	for k := range o.ID.UnknownTags {
		u.TagKeys = append(u.TagKeys, k)
	}
	sort.Strings(u.TagKeys)
	return t, u
}

// undecidedReasons says why the policy's verdict cannot be decided before
// deploying.
func undecidedReasons(o Outcome, res policy.Unresolution) []string {
	reasons := []string{}
	if !o.Known {
		reasons = append(reasons, o.Why)
	}
	var vs []string
	for _, v := range res.Possible {
		vs = append(vs, string(v))
	}
	return append(reasons, fmt.Sprintf("the policy's verdict (%s) depends on the tier or exemption, which depends on %s, not resolvable here: %s",
		strings.Join(vs, " or "), strings.Join(res.Deciding, ", "), whyUnknown(o.ID, res.Deciding)))
}

// failReasons words the policy's reasons for a failing table t, and names
// the rule: the window rule when its period is below the tier's minimum.
func failReasons(t *model.Table, res policy.Unresolution) (string, []string) {
	rule, reasons := RulePITR, []string{}
	for _, r := range res.Reasons {
		switch r {
		case model.ReasonPITRDisabled:
			reasons = append(reasons, "point-in-time recovery is not enabled")
		case model.ReasonPeriodBelowMinimum:
			rule = RuleWindow
			reasons = append(reasons, fmt.Sprintf("recovery period is %d days, below the minimum of %d of tier %s", t.PITR.RecoveryPeriodDays, res.Tier.MinRecoveryDays, tierName(res.Tier.Name)))
		default:
			reasons = append(reasons, string(r))
		}
	}
	return rule, reasons
}

func tierName(n string) string {
	if n == "" {
		return "(not determined)"
	}
	return n
}

// whyUnknown explains the deciding facts of an identity.
func whyUnknown(id Identity, deciding []string) string {
	var out []string
	for _, d := range deciding {
		switch {
		case d == "name":
			out = append(out, "the table name: "+id.NameWhy)
		case d == "tags":
			out = append(out, "the tags: "+id.TagsWhy)
		case strings.HasPrefix(d, "tag "):
			k := strings.TrimPrefix(d, "tag ")
			out = append(out, "tag "+k+": "+id.UnknownTags[k])
		case d == "account":
			out = append(out, "the account is the one it is deployed to")
		case d == "region":
			out = append(out, "the region is the one it is deployed to")
		}
	}
	return strings.Join(out, "; ")
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
func Judge(outcomes []Outcome, opt Options) Judgement {
	if len(outcomes) == 1 {
		return verdictOf(outcomes[0], opt)
	}
	var byVerdict = map[Verdict][]string{}
	var reasons []string
	rule := RulePITR
	js := make([]Judgement, len(outcomes))
	tier := ""
	for i, o := range outcomes {
		j := verdictOf(o, opt)
		js[i] = j
		if j.Verdict == Fail && j.Rule != RulePITR {
			rule = j.Rule
		}
		byVerdict[j.Verdict] = append(byVerdict[j.Verdict], o.When)
		if j.Verdict == Unknown {
			reasons = append(reasons, j.Reasons...)
		}
		if i == 0 || j.Tier == tier {
			tier = j.Tier
		} else {
			tier = ""
		}
	}
	if len(byVerdict) == 1 {
		j := js[0]
		j.Tier = tier
		return j
	}
	if _, ok := byVerdict[Unknown]; ok {
		return Judgement{Verdict: Unknown, Reasons: dedupe(reasons), Rule: RulePITR, Tier: tier}
	}
	// Not created under some inputs: judge it as it is whenever it exists.
	if na := byVerdict[NotApplicable]; len(na) > 0 && len(byVerdict) == 2 {
		for _, j := range js {
			if j.Verdict != NotApplicable {
				j.Reasons = append(j.Reasons, "whenever it is created (not created when "+strings.Join(dedupe(na), " or ")+")")
				return j
			}
		}
	}
	var parts []string
	for _, v := range []Verdict{Pass, Fail, Exempt, NotApplicable} {
		if ws := byVerdict[v]; len(ws) > 0 {
			parts = append(parts, fmt.Sprintf("%s when %s", v, strings.Join(dedupe(ws), " or ")))
		}
	}
	return Judgement{Verdict: Conditional, Reasons: parts, Rule: rule, Tier: tier}
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
	if f.Verdict == Pass || f.Verdict == NotApplicable || f.Verdict == Exempt {
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
