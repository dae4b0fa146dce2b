package backupplan

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestTerraformNamesAreIdentifiers: a tier's name may hold "." (the plan's
// names keep [A-Za-z0-9_.-]); Terraform's resource names may not, and a
// reference to such a name reads as an attribute. Every resource and data
// name must be an identifier, and the selections must refer to the role
// by the name it was declared with.
func TestTerraformNamesAreIdentifiers(t *testing.T) {
	p, err := Build(mustConfig(t, "tiers:\n  - name: gold.v2\n    match: { tags: { env: prod } }\n    backup: {}\n"), Options{Tier: "gold.v2"})
	if err != nil {
		t.Fatal(err)
	}
	src := p.Terraform(nil)
	f, diags := hclparse.NewParser().ParseHCL(src, "plan.tf")
	if diags.HasErrors() {
		t.Fatalf("%s\n%s", diags, src)
	}
	ident := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	role := ""
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if len(b.Labels) == 2 && !ident.MatchString(b.Labels[1]) {
			t.Errorf("%s %q: %q is not a Terraform name", b.Type, b.Labels[0], b.Labels[1])
		}
		if len(b.Labels) == 2 && b.Labels[0] == "aws_iam_role" {
			role = b.Labels[1]
		}
	}
	if role == "" || !strings.Contains(string(src), "iam_role_arn = aws_iam_role."+role+".arn") {
		t.Errorf("the selection does not refer to role %q:\n%s", role, src)
	}
}

// TestNamesFitAWS: the names the plan gives must pass AWS Backup's
// patterns whatever the tier is called: a vault name is
// ^[a-zA-Z0-9\-\_]{2,50}$ (no dot), rule and selection names
// ^[a-zA-Z0-9\-\_\.]{1,50}$, selection names distinct, an IAM role name at
// most 64 characters.
func TestNamesFitAWS(t *testing.T) {
	vault, named := regexp.MustCompile(`^[a-zA-Z0-9\-\_]{2,50}$`), regexp.MustCompile(`^[a-zA-Z0-9\-\_\.]{1,50}$`)
	long := "business-critical-payments-and-ledger-tables-of-the-eu-region"
	for _, tier := range []string{"gold.v2", long} {
		t.Run(tier, func(t *testing.T) {
			p, err := Build(mustConfig(t, "tiers:\n  - name: "+tier+"\n    match: { tags: { env: [prod, live, \"pre-*\"] } }\n    backup: {}\n"), Options{Tier: tier})
			if err != nil {
				t.Fatal(err)
			}
			if !vault.MatchString(p.Vault.Name) || !named.MatchString(p.Rule.Name) || len(p.Name) > 200 || p.Role == nil || len(p.Role.Name) > 64 {
				t.Errorf("vault %q, rule %q, plan %q, role %+v", p.Vault.Name, p.Rule.Name, p.Name, p.Role)
			}
			seen := map[string]bool{}
			for _, s := range p.Selected {
				if !named.MatchString(s.Name) || seen[s.Name] {
					t.Errorf("selection name %q: not AWS's pattern, or given twice", s.Name)
				}
				seen[s.Name] = true
			}
			if len(seen) != 3 {
				t.Errorf("%d selections, want 3", len(seen))
			}
		})
	}
}
