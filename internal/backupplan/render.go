package backupplan

import (
	"fmt"

	"github.com/pitrguard/pitrguard/internal/model"
)

// Formats of `pitrguard backup plan` (json first: the default).
var Formats = []string{"json", "cloudformation", "terraform"}

// Document is the JSON of `pitrguard backup plan --format json`: each part
// is the input of the AWS API call that creates it, so it can be passed to
// the AWS CLI as is (after replacing the Placeholders).
type Document struct {
	SchemaVersion int    `json:"schema_version"`
	Tier          string `json:"tier"`
	// Plan is CreateBackupPlan's BackupPlan.
	Plan PlanInput `json:"plan"`
	// Selection is the first of Selections (CreateBackupSelection's
	// BackupSelection); a tier whose match has several tag alternatives
	// needs one selection each: create every one of Selections.
	Selection  SelectionInput   `json:"selection"`
	Selections []SelectionInput `json:"selections"`
	// Vault is CreateBackupVault's name, with the lock of
	// PutBackupVaultLockConfiguration (null: not locked).
	Vault VaultInput `json:"vault"`
	// IAMRole is CreateRole's input with the policies to attach (null with --role-arn).
	IAMRole      *RoleInput `json:"iam_role"`
	Gaps         []string   `json:"gaps"`
	Notes        []string   `json:"notes"`
	Placeholders []string   `json:"placeholders"`
	// Coverage is the proof against the newest audit (null with --no-proof).
	Coverage *Coverage `json:"coverage"`
}

// PlanInput is AWS Backup's BackupPlanInput.
type PlanInput struct {
	BackupPlanName string      `json:"BackupPlanName"`
	Rules          []RuleInput `json:"Rules"`
}

// RuleInput is AWS Backup's BackupRuleInput.
type RuleInput struct {
	RuleName                string         `json:"RuleName"`
	TargetBackupVaultName   string         `json:"TargetBackupVaultName"`
	ScheduleExpression      string         `json:"ScheduleExpression"`
	StartWindowMinutes      int            `json:"StartWindowMinutes"`
	CompletionWindowMinutes int            `json:"CompletionWindowMinutes"`
	Lifecycle               LifecycleInput `json:"Lifecycle"`
	CopyActions             []CopyInput    `json:"CopyActions,omitempty"`
}

// LifecycleInput is AWS Backup's Lifecycle.
type LifecycleInput struct {
	DeleteAfterDays int `json:"DeleteAfterDays"`
}

// CopyInput is AWS Backup's CopyAction.
type CopyInput struct {
	DestinationBackupVaultArn string         `json:"DestinationBackupVaultArn"`
	Lifecycle                 LifecycleInput `json:"Lifecycle"`
}

// SelectionInput is AWS Backup's BackupSelection.
type SelectionInput struct {
	SelectionName string          `json:"SelectionName"`
	IamRoleArn    string          `json:"IamRoleArn"`
	Resources     []string        `json:"Resources"`
	NotResources  []string        `json:"NotResources,omitempty"`
	Conditions    *ConditionsJSON `json:"Conditions,omitempty"`
}

// ConditionsJSON is AWS Backup's Conditions.
type ConditionsJSON struct {
	StringEquals    []ConditionJSON `json:"StringEquals,omitempty"`
	StringNotEquals []ConditionJSON `json:"StringNotEquals,omitempty"`
	StringLike      []ConditionJSON `json:"StringLike,omitempty"`
	StringNotLike   []ConditionJSON `json:"StringNotLike,omitempty"`
}

// ConditionJSON is AWS Backup's ConditionParameter.
type ConditionJSON struct {
	ConditionKey   string `json:"ConditionKey"`
	ConditionValue string `json:"ConditionValue"`
}

// VaultInput names the vault and its lock.
type VaultInput struct {
	BackupVaultName string     `json:"BackupVaultName"`
	Lock            *LockInput `json:"Lock"`
}

// LockInput is PutBackupVaultLockConfiguration's input (governance mode:
// no ChangeableForDays).
type LockInput struct {
	MinRetentionDays int `json:"MinRetentionDays"`
}

// RoleInput is the IAM role AWS Backup assumes.
type RoleInput struct {
	RoleName                 string         `json:"RoleName"`
	AssumeRolePolicyDocument map[string]any `json:"AssumeRolePolicyDocument"`
	ManagedPolicyArns        []string       `json:"ManagedPolicyArns"`
	Policies                 []InlinePolicy `json:"Policies"`
}

// InlinePolicy is an inline policy of the role.
type InlinePolicy struct {
	PolicyName     string         `json:"PolicyName"`
	PolicyDocument map[string]any `json:"PolicyDocument"`
}

// Document renders the plan as AWS API inputs; c is its proof (nil: none).
func (p *Plan) Document(c *Coverage) *Document {
	d := &Document{SchemaVersion: 1, Tier: p.Tier, Gaps: p.Gaps, Notes: p.Notes, Placeholders: []string{}, Coverage: c}
	rule := RuleInput{RuleName: p.Rule.Name, TargetBackupVaultName: p.Vault.Name, ScheduleExpression: p.Rule.Schedule,
		StartWindowMinutes: p.Rule.StartWindow, CompletionWindowMinutes: p.Rule.CompletionWindow, Lifecycle: LifecycleInput{p.Rule.DeleteAfterDays}}
	if cp := p.Rule.Copy; cp != nil {
		rule.CopyActions = []CopyInput{{DestinationBackupVaultArn: p.copyARN(p.Partition, "REGION", "ACCOUNT_ID"), Lifecycle: LifecycleInput{cp.DeleteAfterDays}}}
	}
	d.Plan = PlanInput{BackupPlanName: p.Name, Rules: []RuleInput{rule}}
	d.Selections = []SelectionInput{}
	for _, s := range p.Selected {
		d.Selections = append(d.Selections, selectionInput(s, p.RoleARN))
	}
	if len(d.Selections) > 0 {
		d.Selection = d.Selections[0]
	}
	d.Vault = VaultInput{BackupVaultName: p.Vault.Name}
	if p.Vault.LockMinDays > 0 {
		d.Vault.Lock = &LockInput{MinRetentionDays: p.Vault.LockMinDays}
	}
	if p.Role != nil {
		d.IAMRole = &RoleInput{RoleName: p.Role.Name, AssumeRolePolicyDocument: trustPolicy(), Policies: []InlinePolicy{{
			PolicyName: "pitrguard-dynamodb-advanced-backup", PolicyDocument: advancedPolicy(p.Partition)}}}
		for _, m := range ManagedPolicies {
			d.IAMRole.ManagedPolicyArns = append(d.IAMRole.ManagedPolicyArns, "arn:"+p.Partition+":iam::aws:policy/"+m)
		}
	}
	d.Placeholders = p.placeholders()
	return d
}

// copyARN is the copy action's destination vault: the plan's vault name in
// copy_to_region and copy_to_account, where ownRegion and ownAccount stand
// for the plan's own when the policy leaves one out.
func (p *Plan) copyARN(partition, ownRegion, ownAccount string) string {
	region, account := p.Rule.Copy.Region, p.Rule.Copy.Account
	if region == "" {
		region = ownRegion
	}
	if account == "" {
		account = ownAccount
	}
	return fmt.Sprintf("arn:%s:backup:%s:%s:backup-vault:%s", partition, region, account, p.Vault.Name)
}

// placeholders are the values a JSON plan leaves for the reader to fill
// in: the account of a generated role, the region or account of a copy.
func (p *Plan) placeholders() []string {
	out := []string{}
	if p.Role != nil || (p.Rule.Copy != nil && p.Rule.Copy.Account == "") {
		out = append(out, "ACCOUNT_ID")
	}
	if p.Rule.Copy != nil && p.Rule.Copy.Region == "" {
		out = append(out, "REGION")
	}
	return out
}

func selectionInput(s model.BackupSelection, role string) SelectionInput {
	in := SelectionInput{SelectionName: s.Name, IamRoleArn: role, Resources: s.Resources, NotResources: s.NotResources}
	c := s.Conditions
	if !c.Empty() {
		conv := func(cs []model.BackupCondition) []ConditionJSON {
			var out []ConditionJSON
			for _, x := range cs {
				out = append(out, ConditionJSON{x.Key, x.Value})
			}
			return out
		}
		in.Conditions = &ConditionsJSON{StringEquals: conv(c.StringEquals), StringNotEquals: conv(c.StringNotEquals),
			StringLike: conv(c.StringLike), StringNotLike: conv(c.StringNotLike)}
	}
	return in
}

func trustPolicy() map[string]any {
	return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}}}
}

func advancedPolicy(partition string) map[string]any {
	return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid": "AdvancedDynamoDBBackup", "Effect": "Allow", "Action": AdvancedActions,
		"Resource": "arn:" + partition + ":dynamodb:*:*:table/*"}}}
}
