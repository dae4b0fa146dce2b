package backupplan

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Terraform renders the plan as Terraform (AWS provider): the vault and its
// lock, the role with its policies, the plan and one aws_backup_selection
// per selection, with the exact ARN patterns the proof evaluated.
func (p *Plan) Terraform(header []string) []byte {
	id := tfName(p.Name)
	var b strings.Builder
	for _, h := range header {
		fmt.Fprintf(&b, "# %s\n", h)
	}
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	copyData := p.Rule.Copy != nil && (p.Rule.Copy.Region == "" || p.Rule.Copy.Account == "")
	if p.Role != nil {
		w("data \"aws_partition\" \"current\" {}\n\n")
	}
	if copyData && p.Rule.Copy.Region == "" {
		w("data \"aws_region\" \"current\" {}\n\n")
	}
	if copyData && p.Rule.Copy.Account == "" {
		w("data \"aws_caller_identity\" \"current\" {}\n\n")
	}
	w("resource \"aws_backup_vault\" %q {\n  name = %s\n}\n\n", id, hclString(p.Vault.Name))
	if p.Vault.LockMinDays > 0 {
		w("resource \"aws_backup_vault_lock_configuration\" %q {\n  backup_vault_name  = aws_backup_vault.%s.name\n  min_retention_days = %d\n}\n\n", id, id, p.Vault.LockMinDays)
	}
	role := hclString(p.RoleARN)
	if p.Role != nil {
		rid := tfName(p.Role.Name)
		role = "aws_iam_role." + rid + ".arn"
		w("resource \"aws_iam_role\" %q {\n  name               = %s\n  assume_role_policy = jsonencode(%s)\n}\n\n", rid, hclString(p.Role.Name), hclValue(trustPolicy()))
		for i, m := range ManagedPolicies {
			w("resource \"aws_iam_role_policy_attachment\" \"%s_%d\" {\n  role       = aws_iam_role.%s.name\n  policy_arn = \"arn:${data.aws_partition.current.partition}:iam::aws:policy/%s\"\n}\n\n", rid, i+1, rid, m)
		}
		pol := advancedPolicy("PARTITION")
		text := strings.Replace(hclValue(pol), `"arn:PARTITION:`, `"arn:${data.aws_partition.current.partition}:`, 1)
		w("resource \"aws_iam_role_policy\" \"%s_dynamodb\" {\n  name   = \"pitrguard-dynamodb-advanced-backup\"\n  role   = aws_iam_role.%s.id\n  policy = jsonencode(%s)\n}\n\n", rid, rid, text)
	}
	w("resource \"aws_backup_plan\" %q {\n  name = %s\n\n  rule {\n", id, hclString(p.Name))
	w("    rule_name         = %s\n    target_vault_name = aws_backup_vault.%s.name\n    schedule          = %s\n", hclString(p.Rule.Name), id, hclString(p.Rule.Schedule))
	w("    start_window      = %d\n    completion_window = %d\n\n    lifecycle {\n      delete_after = %d\n    }\n", p.Rule.StartWindow, p.Rule.CompletionWindow, p.Rule.DeleteAfterDays)
	if cp := p.Rule.Copy; cp != nil {
		// Region and account names need no escaping (the policy checks them).
		w("\n    copy_action {\n      destination_vault_arn = \"%s\"\n\n      lifecycle {\n        delete_after = %d\n      }\n    }\n",
			p.copyARN(hclEscape(p.Partition), "${data.aws_region.current.name}", "${data.aws_caller_identity.current.account_id}"), cp.DeleteAfterDays)
	}
	w("  }\n}\n")
	for i, s := range p.Selected {
		w("\nresource \"aws_backup_selection\" \"%s_%d\" {\n  name         = %s\n  plan_id      = aws_backup_plan.%s.id\n  iam_role_arn = %s\n  resources    = %s\n",
			id, i+1, hclString(s.Name), id, role, hclList(s.Resources))
		if len(s.NotResources) > 0 {
			w("  not_resources = %s\n", hclList(s.NotResources))
		}
		if c := s.Conditions; !c.Empty() {
			w("\n  condition {\n")
			for _, k := range c.Kinds() {
				block := strings.ToLower(strings.Join(camelWords.FindAllString(k.Operator, -1), "_")) // StringNotEquals → string_not_equals
				for _, x := range k.Conditions {
					w("    %s {\n      key   = %s\n      value = %s\n    }\n", block, hclString(x.Key), hclString(x.Value))
				}
			}
			w("  }\n")
		}
		w("}\n")
	}
	return hclwrite.Format([]byte(b.String()))
}

var camelWords = regexp.MustCompile(`[A-Z][a-z]*`)

// tfName is a Terraform resource name for an AWS name ([A-Za-z0-9_.-]):
// "." is not allowed in one (a reference would read it as an attribute).
func tfName(s string) string { return strings.NewReplacer("-", "_", ".", "_").Replace(s) }

// hclEscape escapes a string for inside an HCL quoted template: quotes,
// backslashes and the template sequences ${ and %{.
func hclEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "${", "$${", "%{", "%%{").Replace(s)
}

func hclString(s string) string { return `"` + hclEscape(s) + `"` }

func hclList(v []string) string {
	parts := make([]string, len(v))
	for i, s := range v {
		parts[i] = hclString(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// hclValue renders a JSON-like value as an HCL expression (keys sorted).
func hclValue(v any) string {
	switch x := v.(type) {
	case string:
		return hclString(x)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case []string:
		return hclList(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = hclValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + " = " + hclValue(x[k])
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return fmt.Sprintf("%q", fmt.Sprint(v))
}
