package backupplan

import (
	"bytes"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// CloudFormation renders the plan as a CloudFormation template (YAML): the
// vault (with its lock), the role, the plan and one AWS::Backup::BackupSelection
// per selection, with the exact ARN patterns the proof evaluated.
func (p *Plan) CloudFormation(header []string) ([]byte, error) {
	res := mapping()
	vaultProps := mapping("BackupVaultName", str(p.Vault.Name))
	if p.Vault.LockMinDays > 0 {
		add(vaultProps, "LockConfiguration", mapping("MinRetentionDays", num(p.Vault.LockMinDays)))
	}
	add(res, "BackupVault", mapping("Type", str("AWS::Backup::BackupVault"), "Properties", vaultProps))
	role := str(p.RoleARN)
	if p.Role != nil {
		managed := seq()
		for _, m := range ManagedPolicies {
			managed.Content = append(managed.Content, tagged("!Sub", "arn:${AWS::Partition}:iam::aws:policy/"+m))
		}
		actions := seq()
		for _, a := range AdvancedActions {
			actions.Content = append(actions.Content, str(a))
		}
		add(res, "BackupRole", mapping("Type", str("AWS::IAM::Role"), "Properties", mapping(
			"RoleName", str(p.Role.Name),
			"AssumeRolePolicyDocument", mapping("Version", str("2012-10-17"), "Statement", seq(mapping(
				"Effect", str("Allow"), "Principal", mapping("Service", str("backup.amazonaws.com")), "Action", str("sts:AssumeRole")))),
			"ManagedPolicyArns", managed,
			"Policies", seq(mapping("PolicyName", str("pitrguard-dynamodb-advanced-backup"), "PolicyDocument", mapping(
				"Version", str("2012-10-17"), "Statement", seq(mapping("Sid", str("AdvancedDynamoDBBackup"), "Effect", str("Allow"),
					"Action", actions, "Resource", tagged("!Sub", "arn:${AWS::Partition}:dynamodb:*:*:table/*"))))))),
		))
		role = tagged("!GetAtt", "BackupRole.Arn")
	}
	rule := mapping("RuleName", str(p.Rule.Name), "TargetBackupVault", tagged("!Ref", "BackupVault"),
		"ScheduleExpression", str(p.Rule.Schedule), "StartWindowMinutes", num(p.Rule.StartWindow),
		"CompletionWindowMinutes", num(p.Rule.CompletionWindow), "Lifecycle", mapping("DeleteAfterDays", num(p.Rule.DeleteAfterDays)))
	if cp := p.Rule.Copy; cp != nil {
		add(rule, "CopyActions", seq(mapping(
			"DestinationBackupVaultArn", tagged("!Sub", p.copyARN("${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}")),
			"Lifecycle", mapping("DeleteAfterDays", num(cp.DeleteAfterDays)))))
	}
	add(res, "BackupPlan", mapping("Type", str("AWS::Backup::BackupPlan"), "Properties", mapping(
		"BackupPlan", mapping("BackupPlanName", str(p.Name), "BackupPlanRule", seq(rule)))))
	for i, s := range p.Selected {
		sel := mapping("SelectionName", str(s.Name), "IamRoleArn", role, "Resources", strs(s.Resources))
		if len(s.NotResources) > 0 {
			add(sel, "NotResources", strs(s.NotResources))
		}
		if c := s.Conditions; !c.Empty() {
			conds := mapping()
			for _, k := range c.Kinds() {
				list := seq()
				for _, x := range k.Conditions {
					list.Content = append(list.Content, mapping("ConditionKey", str(x.Key), "ConditionValue", str(x.Value)))
				}
				add(conds, k.Operator, list)
			}
			add(sel, "Conditions", conds)
		}
		add(res, fmt.Sprintf("BackupSelection%d", i+1), mapping("Type", str("AWS::Backup::BackupSelection"), "Properties", mapping(
			"BackupPlanId", tagged("!Ref", "BackupPlan"), "BackupSelection", sel)))
	}
	doc := mapping("AWSTemplateFormatVersion", str("2010-09-09"),
		"Description", str(fmt.Sprintf("AWS Backup plan for the DynamoDB tables of pitrguard tier %s (pitrguard backup plan)", p.Tier)),
		"Resources", res)
	var buf bytes.Buffer
	for _, h := range header {
		fmt.Fprintf(&buf, "# %s\n", h)
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		add(m, kv[i].(string), kv[i+1].(*yaml.Node))
	}
	return m
}

func add(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, str(key), v)
}

func seq(items ...*yaml.Node) *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Content: items} }

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func num(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

func strs(v []string) *yaml.Node {
	s := seq()
	for _, x := range v {
		s.Content = append(s.Content, str(x))
	}
	return s
}

// tagged is a short-form intrinsic (!Ref X, !GetAtt X.Arn, !Sub "...").
func tagged(tag, v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v}
}
