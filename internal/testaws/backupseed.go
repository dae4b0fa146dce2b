package testaws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	bktypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
)

// BackupRuleSpec is one rule of a backup plan to create.
type BackupRuleSpec struct {
	Name            string
	Vault           string
	Schedule        string // default cron(0 5 ? * * *)
	DeleteAfterDays int64  // 0: never deleted
	ColdAfterDays   int64
	// CopyTo are destination vault ARNs, each kept CopyDays (0: never deleted).
	CopyTo   []string
	CopyDays int64
}

// BackupSelectionSpec is one selection of a plan to create.
type BackupSelectionSpec struct {
	Name         string
	Resources    []string
	NotResources []string
	// ListOfTags are key=value StringEquals conditions (OR).
	ListOfTags map[string]string
	// Equals, NotEquals, Like, NotLike are Conditions (AND), key → value.
	Equals, NotEquals, Like, NotLike map[string]string
}

// CreateBackupVault creates a vault (in moto), locked with minDays when
// minDays > 0 (PutBackupVaultLockConfiguration).
func (s *Seeder) CreateBackupVault(ctx context.Context, account, region, name string, minDays int64) error {
	c := backup.NewFromConfig(s.Config(ctx, account, region))
	if _, err := c.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String(name)}); err != nil {
		return fmt.Errorf("create backup vault %s: %w", name, err)
	}
	if minDays > 0 {
		if _, err := c.PutBackupVaultLockConfiguration(ctx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: aws.String(name),
			MinRetentionDays: aws.Int64(minDays)}); err != nil {
			return fmt.Errorf("lock backup vault %s: %w", name, err)
		}
	}
	return nil
}

// CreateBackupPlan creates a plan (in moto) with rules, then its selections
// (CreateBackupSelection, which only a BackupFake behind the Seeder's
// endpoint answers), and returns the plan's id.
func (s *Seeder) CreateBackupPlan(ctx context.Context, account, region, name string, rules []BackupRuleSpec, sels ...BackupSelectionSpec) (string, error) {
	c := backup.NewFromConfig(s.Config(ctx, account, region))
	in := &bktypes.BackupPlanInput{BackupPlanName: aws.String(name)}
	for _, r := range rules {
		sched := r.Schedule
		if sched == "" {
			sched = "cron(0 5 ? * * *)"
		}
		br := bktypes.BackupRuleInput{RuleName: aws.String(r.Name), TargetBackupVaultName: aws.String(r.Vault), ScheduleExpression: aws.String(sched)}
		if r.DeleteAfterDays > 0 || r.ColdAfterDays > 0 {
			br.Lifecycle = &bktypes.Lifecycle{}
			if r.DeleteAfterDays > 0 {
				br.Lifecycle.DeleteAfterDays = aws.Int64(r.DeleteAfterDays)
			}
			if r.ColdAfterDays > 0 {
				br.Lifecycle.MoveToColdStorageAfterDays = aws.Int64(r.ColdAfterDays)
			}
		}
		for _, v := range r.CopyTo {
			ca := bktypes.CopyAction{DestinationBackupVaultArn: aws.String(v)}
			if r.CopyDays > 0 {
				ca.Lifecycle = &bktypes.Lifecycle{DeleteAfterDays: aws.Int64(r.CopyDays)}
			}
			br.CopyActions = append(br.CopyActions, ca)
		}
		in.Rules = append(in.Rules, br)
	}
	out, err := c.CreateBackupPlan(ctx, &backup.CreateBackupPlanInput{BackupPlan: in})
	if err != nil {
		return "", fmt.Errorf("create backup plan %s: %w", name, err)
	}
	id := aws.ToString(out.BackupPlanId)
	for _, sel := range sels {
		if _, err := c.CreateBackupSelection(ctx, &backup.CreateBackupSelectionInput{BackupPlanId: aws.String(id), BackupSelection: sel.input(account)}); err != nil {
			return id, fmt.Errorf("create backup selection %s: %w", sel.Name, err)
		}
	}
	return id, nil
}

func (sel BackupSelectionSpec) input(account string) *bktypes.BackupSelection {
	b := &bktypes.BackupSelection{SelectionName: aws.String(sel.Name), IamRoleArn: aws.String("arn:aws:iam::" + account + ":role/backup"),
		Resources: sel.Resources, NotResources: sel.NotResources}
	for k, v := range sel.ListOfTags {
		b.ListOfTags = append(b.ListOfTags, bktypes.Condition{ConditionType: bktypes.ConditionTypeStringequals,
			ConditionKey: aws.String("aws:ResourceTag/" + k), ConditionValue: aws.String(v)})
	}
	params := func(m map[string]string) []bktypes.ConditionParameter {
		var out []bktypes.ConditionParameter
		for k, v := range m {
			out = append(out, bktypes.ConditionParameter{ConditionKey: aws.String("aws:ResourceTag/" + k), ConditionValue: aws.String(v)})
		}
		return out
	}
	if len(sel.Equals)+len(sel.NotEquals)+len(sel.Like)+len(sel.NotLike) > 0 {
		b.Conditions = &bktypes.Conditions{StringEquals: params(sel.Equals), StringNotEquals: params(sel.NotEquals),
			StringLike: params(sel.Like), StringNotLike: params(sel.NotLike)}
	}
	return b
}

// SetBackupRegionSettings sets the DynamoDB opt-in and advanced features of
// an account-region (UpdateRegionSettings, answered by a BackupFake).
func (s *Seeder) SetBackupRegionSettings(ctx context.Context, account, region string, optIn, advanced bool) error {
	c := backup.NewFromConfig(s.Config(ctx, account, region))
	_, err := c.UpdateRegionSettings(ctx, &backup.UpdateRegionSettingsInput{
		ResourceTypeOptInPreference:      map[string]bool{"DynamoDB": optIn},
		ResourceTypeManagementPreference: map[string]bool{"DynamoDB": advanced},
	})
	return err
}
