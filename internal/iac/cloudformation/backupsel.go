package cloudformation

import (
	"fmt"
	"regexp"

	"go.yaml.in/yaml/v3"

	"github.com/pitrguard/pitrguard/internal/backupsel"
	"github.com/pitrguard/pitrguard/internal/iac"
)

// tableTypes are the resource types whose Ref is a table name.
var tableTypes = map[string]bool{"AWS::DynamoDB::Table": true, "AWS::DynamoDB::GlobalTable": true, "AWS::Serverless::SimpleTable": true}

// subRefRE is a Fn::Sub string that is nothing but one reference.
var subRefRE = regexp.MustCompile(`^\$\{([A-Za-z0-9]+)\}$`)

// backupSelection checks an AWS::Backup::BackupSelection for DynamoDB
// tables named by name where AWS Backup takes ARNs (iac.RuleBackupSelection):
// a literal name, !Ref of a table (which is its name), !Sub "${Table}", or a
// parameter whose value (--param, else Default) is a name. A correct
// selection gives no finding.
func (t *tmpl) backupSelection(base iac.Finding, props *yaml.Node) []iac.Finding {
	_, sel := get(props, "BackupSelection")
	var reasons []string
	for _, key := range []string{"Resources", "NotResources"} {
		_, list := get(sel, key)
		if list == nil || list.Kind != yaml.SequenceNode {
			continue
		}
		for _, el := range list.Content {
			if why := t.tableName(el); why != "" {
				reasons = append(reasons, fmt.Sprintf("%s (line %d): %s", key, el.Line, why))
			}
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	f := base
	f.Verdict, f.Rule, f.Reasons = iac.Fail, iac.RuleBackupSelection, append(reasons, iac.BackupSelectionAdvice)
	return []iac.Finding{f}
}

// tableName says why an entry of Resources/NotResources is a table name, or "".
func (t *tmpl) tableName(n *yaml.Node) string {
	name, arg, isFn := fn(n)
	switch {
	case isFn && name == "Ref" && tableTypes[t.types[arg.Value]]:
		return fmt.Sprintf("Ref %s is the table's name, not its ARN (use !GetAtt %s.Arn)", arg.Value, arg.Value)
	case isFn && name == "Fn::Sub" && arg.Kind == yaml.ScalarNode:
		if m := subRefRE.FindStringSubmatch(arg.Value); m != nil && tableTypes[t.types[m[1]]] {
			return fmt.Sprintf("%q is table %s's name, not its ARN (use !GetAtt %s.Arn)", arg.Value, m[1], m[1])
		}
	}
	for _, v := range t.eval(n, "") {
		s, ok := v.scalar()
		if v.unknown != "" || v.noValue || !ok || !backupsel.IsName(s) {
			continue
		}
		if v.param != "" {
			return fmt.Sprintf("%q (the value of parameter %s) is a table name, not an ARN", s, v.param)
		}
		return fmt.Sprintf("%q is a table name, not an ARN", s)
	}
	return ""
}
