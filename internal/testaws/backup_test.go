package testaws

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/smithy-go"
)

func TestBackupOp(t *testing.T) {
	cases := []struct{ method, path, op string }{
		{"GET", "/backup/plans/", "ListBackupPlans"},
		{"GET", "/backup/plans/abc", "GetBackupPlan"},
		{"GET", "/backup/plans/abc/selections/", "ListBackupSelections"},
		{"GET", "/backup/plans/abc/selections/s1", "GetBackupSelection"},
		{"PUT", "/backup/plans/abc/selections", "CreateBackupSelection"},
		{"GET", "/account-settings", "DescribeRegionSettings"},
		{"GET", "/resources/", "ListProtectedResources"},
		{"GET", "/resources/arn%3Aaws%3Adynamodb%3Aus-east-1%3A1%3Atable%2Fx/recovery-points/", "ListRecoveryPointsByResource"},
		{"GET", "/backup-vaults/v1", "DescribeBackupVault"},
		{"PUT", "/backup-vaults/v1/vault-lock", "PutBackupVaultLockConfiguration"},
		{"GET", "/nothing", ""},
	}
	for _, c := range cases {
		if op, _ := BackupOp(c.method, c.path); op != c.op {
			t.Errorf("%s %s = %q, want %q", c.method, c.path, op, c.op)
		}
	}
	if _, ps := BackupOp("GET", cases[7].path); len(ps) != 1 || ps[0] != "arn:aws:dynamodb:us-east-1:1:table/x" {
		t.Errorf("params %v", ps)
	}
}

// TestBackupFakeWire drives moto (plans, vaults, vault lock) and the fake
// (selections, settings, protected resources, recovery points) through the
// real SDK and the proxy: shapes, paging, counting and faults.
func TestBackupFakeWire(t *testing.T) {
	m := MotoT(t)
	p := ProxyT(t, m.URL)
	p.Backup = NewBackupFake()
	ctx := context.Background()
	s := NewSeeder(p.URL)
	const acct, region = ManagementAccount, "us-east-1"
	if err := s.CreateBackupVault(ctx, acct, region, "locked", 30); err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateBackupPlan(ctx, acct, region, "daily", []BackupRuleSpec{{Name: "r", Vault: "locked", DeleteAfterDays: 400, ColdAfterDays: 30,
		CopyTo: []string{"arn:aws:backup:eu-west-1:" + acct + ":backup-vault:dr"}, CopyDays: 90}},
		BackupSelectionSpec{Name: "a", Resources: []string{"arn:aws:dynamodb:*:*:table/a*"}, NotResources: []string{"orders"}},
		BackupSelectionSpec{Name: "b", ListOfTags: map[string]string{"env": "prod"}, NotLike: map[string]string{"tmp": "*"}},
		BackupSelectionSpec{Name: "c", Equals: map[string]string{"team": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetBackupRegionSettings(ctx, acct, region, false, true); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:dynamodb:us-east-1:" + acct + ":table/a1"
	for i, st := range []string{"COMPLETED", "PARTIAL", "EXPIRED"} {
		p.Backup.AddRecoveryPoint(acct, region, arn, RecoveryPoint{Created: time.Date(2026, 11, 20+i, 5, 0, 0, 0, time.UTC), Status: st, Vault: "locked"})
	}
	p.Clear()

	cfg, _ := config.LoadDefaultConfig(ctx, config.WithRegion(region), config.WithBaseEndpoint(p.URL), config.WithCredentialsProvider(Credentials))
	c := backup.NewFromConfig(cfg)
	plans, err := c.ListBackupPlans(ctx, &backup.ListBackupPlansInput{})
	if err != nil || len(plans.BackupPlansList) != 1 || aws.ToString(plans.BackupPlansList[0].BackupPlanId) != id {
		t.Fatalf("ListBackupPlans: %v %+v", err, plans)
	}
	plan, err := c.GetBackupPlan(ctx, &backup.GetBackupPlanInput{BackupPlanId: aws.String(id)})
	if err != nil || len(plan.BackupPlan.Rules) != 1 {
		t.Fatalf("GetBackupPlan: %v", err)
	}
	r := plan.BackupPlan.Rules[0]
	if aws.ToInt64(r.Lifecycle.DeleteAfterDays) != 400 || aws.ToInt64(r.Lifecycle.MoveToColdStorageAfterDays) != 30 || len(r.CopyActions) != 1 ||
		aws.ToString(r.ScheduleExpression) != "cron(0 5 ? * * *)" {
		t.Errorf("rule %+v", r)
	}
	var selIDs []string
	pg := backup.NewListBackupSelectionsPaginator(c, &backup.ListBackupSelectionsInput{BackupPlanId: aws.String(id)})
	pages := 0
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, x := range out.BackupSelectionsList {
			selIDs = append(selIDs, aws.ToString(x.SelectionId))
		}
	}
	if len(selIDs) != 3 || pages != 2 {
		t.Fatalf("selections %v in %d pages, want 3 in 2", selIDs, pages)
	}
	sel, err := c.GetBackupSelection(ctx, &backup.GetBackupSelectionInput{BackupPlanId: aws.String(id), SelectionId: aws.String(selIDs[1])})
	if err != nil || aws.ToString(sel.BackupSelection.SelectionName) != "b" || len(sel.BackupSelection.ListOfTags) != 1 ||
		aws.ToString(sel.BackupSelection.ListOfTags[0].ConditionKey) != "aws:ResourceTag/env" || len(sel.BackupSelection.Conditions.StringNotLike) != 1 {
		t.Fatalf("GetBackupSelection: %v %+v", err, sel)
	}
	rs, err := c.DescribeRegionSettings(ctx, &backup.DescribeRegionSettingsInput{})
	if err != nil || rs.ResourceTypeOptInPreference["DynamoDB"] || !rs.ResourceTypeManagementPreference["DynamoDB"] {
		t.Errorf("region settings: %v %+v", err, rs)
	}
	v, err := c.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("locked")})
	if err != nil || !aws.ToBool(v.Locked) || aws.ToInt64(v.MinRetentionDays) != 30 {
		t.Errorf("DescribeBackupVault: %v %+v", err, v)
	}
	pr, err := c.ListProtectedResources(ctx, &backup.ListProtectedResourcesInput{})
	if err != nil || len(pr.Results) != 1 || aws.ToString(pr.Results[0].ResourceArn) != arn || pr.Results[0].LastBackupTime.Day() != 22 {
		t.Errorf("ListProtectedResources: %v %+v", err, pr)
	}
	var statuses []string
	rpg := backup.NewListRecoveryPointsByResourcePaginator(c, &backup.ListRecoveryPointsByResourceInput{ResourceArn: aws.String(arn)})
	for rpg.HasMorePages() {
		out, err := rpg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range out.RecoveryPoints {
			statuses = append(statuses, string(x.Status))
		}
	}
	if len(statuses) != 3 || statuses[1] != "PARTIAL" {
		t.Errorf("recovery points %v", statuses)
	}
	if n := p.Count("ListRecoveryPointsByResource"); n != 2 {
		t.Errorf("ListRecoveryPointsByResource counted %d times, want 2 pages", n)
	}
	if calls := p.Calls(); calls[len(calls)-1].Table != "a1" || calls[len(calls)-1].Service != "backup" {
		t.Errorf("the proxy names the table of ListRecoveryPointsByResource: %+v", calls[len(calls)-1])
	}
	p.Add(&Rule{Op: "ListBackupPlans", Fault: FaultAccessDenied})
	_, err = c.ListBackupPlans(ctx, &backup.ListBackupPlansInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Errorf("injected fault: %v", err)
	}
}
