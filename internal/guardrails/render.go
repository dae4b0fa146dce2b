package guardrails

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Formats in which a policy and its attachment can be written.
var Formats = []string{"json", "terraform", "cloudformation"}

// PolicyName is the name pitrguard gives the policy it generates.
func PolicyName(k Kind) string { return "pitrguard-pitr-" + string(k) }

// Explanation is what a generated control prevents and what it cannot.
type Explanation struct {
	Title    string
	Prevents []string
	Cannot   []string
}

// Text renders the explanation with a line prefix ("# " for comments).
func (e Explanation) Text(prefix string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s\n%s\n%sWhat it prevents:\n", prefix, e.Title, strings.TrimRight(prefix, " "), prefix)
	for _, p := range e.Prevents {
		writeWrapped(&b, prefix, "  - ", p)
	}
	fmt.Fprintf(&b, "%s\n%sWhat it cannot prevent:\n", strings.TrimRight(prefix, " "), prefix)
	for _, c := range e.Cannot {
		writeWrapped(&b, prefix, "  - ", c)
	}
	return b.String()
}

func writeWrapped(b *strings.Builder, prefix, bullet, text string) {
	const width = 96
	line := bullet
	for _, w := range strings.Fields(text) {
		if len(line)+len(w)+1 > width && strings.TrimSpace(line) != strings.TrimSpace(bullet) {
			b.WriteString(prefix + line + "\n")
			line = strings.Repeat(" ", len(bullet))
		}
		if !strings.HasSuffix(line, " ") {
			line += " "
		}
		line += w
	}
	b.WriteString(prefix + line + "\n")
}

// ExplainPolicy says what a generated SCP/RCP does and does not prevent.
func ExplainPolicy(o PolicyOptions) Explanation {
	kind := strings.ToUpper(string(o.Kind))
	who := "principals in member accounts"
	if o.Kind == RCP {
		who = "any principal, inside or outside the organization, acting on tables in member accounts"
	}
	e := Explanation{Title: fmt.Sprintf("pitrguard %s: only the allowed principals may change point-in-time recovery", kind)}
	e.Prevents = append(e.Prevents,
		fmt.Sprintf("%s other than %s calling %s: nobody else can disable PITR, shorten or lengthen its recovery window — or enable it (pitrguard and the listed roles become its only writers).",
			capitalise(who), strings.Join(o.AllowPrincipals, ", "), ControlAction))
	if o.ProtectDeletes {
		tags := o.ProtectTags
		if len(tags) == 0 {
			tags = DefaultProtectTags
		}
		acts := "dynamodb:DeleteTable, dynamodb:DeleteBackup and backup:DeleteRecoveryPoint"
		if o.Kind == RCP {
			acts = "dynamodb:DeleteTable and dynamodb:DeleteBackup"
		}
		e.Prevents = append(e.Prevents, fmt.Sprintf("The same principals calling %s on resources tagged as the protected tier (%s).", acts, describeTags(tags)))
	}
	e.Cannot = append(e.Cannot,
		"Creating a table without PITR: CreateTable has no PITR parameter and DynamoDB has no condition key for PointInTimeRecoveryEnabled or RecoveryPeriodInDays, so no IAM policy can require it. Close that gap in the pipeline (pitrguard guardrails guard / rego) and after the fact (guardrails config, the pitrguard event handler).",
		fmt.Sprintf("Anything in the management account: %ss never apply to it, nor to service-linked roles.", kind),
		"Misuse of an allowed role: aws:PrincipalArn is the role's ARN, so anyone who can assume an allowed role passes. Guard those roles' trust policies.",
		"The AWS Config remediation (AWSConfigRemediation-EnablePITRForDynamoDbTable) and the pitrguard event handler call UpdateContinuousBackups with their own roles: add those roles to --allow-principal, or they are denied too.",
	)
	if o.Kind == SCP {
		e.Cannot = append(e.Cannot, "Principals outside the organization: SCPs restrict only the organization's own principals (an RCP covers the resource side).")
	} else {
		e.Cannot = append(e.Cannot, "backup:DeleteRecoveryPoint: AWS Backup is not among the services RCPs support, so this RCP covers only DynamoDB actions (use the SCP for AWS Backup).")
	}
	if o.ProtectDeletes {
		e.Cannot = append(e.Cannot,
			"Untagged or re-tagged resources: the delete protection follows aws:ResourceTag, so a principal allowed to untag a table can remove the tier tag first, and native DynamoDB backups carry no tags at all (only AWS Backup recovery points with copied tags match).")
	}
	return e
}

func describeTags(tags map[string][]string) string {
	var parts []string
	for _, k := range sortedKeys(tags) {
		parts = append(parts, k+"="+strings.Join(tags[k], "|"))
	}
	return strings.Join(parts, " or ")
}

func sortedKeys(m map[string][]string) []string { return slices.Sorted(maps.Keys(m)) }

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var targetRE = regexp.MustCompile(`^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|\d{12})$`)

// CheckTarget says why id is not a root, OU or account id.
func CheckTarget(id string) error {
	if !targetRE.MatchString(id) {
		return fmt.Errorf("%q is not a root id (r-xxxx), OU id (ou-xxxx-xxxxxxxx) or 12-digit account id", id)
	}
	return nil
}

// RenderPolicy writes the policy (raw, indented JSON) in format, with its
// attachment to targets for terraform and cloudformation. JSON has no
// comments: its explanation goes to a sidecar (the caller's job).
func RenderPolicy(format string, o PolicyOptions, raw []byte, targets []string) ([]byte, error) {
	exp := ExplainPolicy(o)
	var b bytes.Buffer
	switch format {
	case "json":
		// AWS counts whitespace too: print the compact form when the indented
		// one would not fit, so the printed text can be pasted as it is.
		if len(raw) > MaxPolicyChars {
			min, err := Minify(raw)
			if err != nil {
				return nil, err
			}
			raw = min
		}
		b.Write(raw)
		b.WriteByte('\n')
	case "terraform":
		b.WriteString(exp.Text("# "))
		b.WriteString("#\n# Generated by pitrguard. Attach it to the root, OUs or accounts listed in\n# var.pitrguard_" + string(o.Kind) + "_targets.\n\n")
		fmt.Fprintf(&b, "variable \"pitrguard_%s_targets\" {\n  description = \"Root, OU or account ids the pitrguard %s is attached to\"\n  type        = list(string)\n", o.Kind, strings.ToUpper(string(o.Kind)))
		if len(targets) > 0 {
			fmt.Fprintf(&b, "  default     = [%s]\n", quoteList(targets))
		}
		b.WriteString("}\n\n")
		fmt.Fprintf(&b, "resource \"aws_organizations_policy\" \"pitrguard_%s\" {\n", o.Kind)
		fmt.Fprintf(&b, "  name        = %q\n  description = %q\n  type        = %q\n", PolicyName(o.Kind), exp.Title, o.Kind.OrgType())
		// jsonencode(jsondecode(...)) stores the document without whitespace,
		// which is what counts against the 5,120-character quota.
		b.WriteString("  content     = jsonencode(jsondecode(<<-EOT\n")
		for line := range strings.SplitSeq(string(raw), "\n") {
			b.WriteString("    " + line + "\n")
		}
		b.WriteString("  EOT\n  ))\n}\n\n")
		fmt.Fprintf(&b, "resource \"aws_organizations_policy_attachment\" \"pitrguard_%s\" {\n  for_each  = toset(var.pitrguard_%s_targets)\n  policy_id = aws_organizations_policy.pitrguard_%s.id\n  target_id = each.value\n}\n", o.Kind, o.Kind, o.Kind)
	case "cloudformation":
		b.WriteString(exp.Text("# "))
		b.WriteString("#\n# Generated by pitrguard. Deploy it in the management account (or a delegated\n# administrator for policies).\n")
		b.WriteString("AWSTemplateFormatVersion: \"2010-09-09\"\n")
		fmt.Fprintf(&b, "Description: %q\n", exp.Title)
		b.WriteString("Parameters:\n  TargetIds:\n    Type: CommaDelimitedList\n    Description: Root, OU or account ids the policy is attached to\n")
		if len(targets) > 0 {
			fmt.Fprintf(&b, "    Default: %q\n", strings.Join(targets, ","))
		}
		b.WriteString("Resources:\n")
		fmt.Fprintf(&b, "  Pitrguard%s:\n    Type: AWS::Organizations::Policy\n    Properties:\n", strings.ToUpper(string(o.Kind)))
		fmt.Fprintf(&b, "      Name: %s\n      Description: %q\n      Type: %s\n      TargetIds: !Ref TargetIds\n      Content:\n", PolicyName(o.Kind), exp.Title, o.Kind.OrgType())
		for line := range strings.SplitSeq(string(raw), "\n") {
			b.WriteString("        " + line + "\n")
		}
	default:
		return nil, fmt.Errorf("unknown format %q", format)
	}
	return b.Bytes(), nil
}

func quoteList(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
