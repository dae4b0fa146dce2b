package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pitrguard/pitrguard/internal/testaws"
)

// seedBackups gives the demo's business-critical tier (examples/pitrguard.yaml
// requires AWS Backup of it, 365 days kept, a point at most 26 hours old)
// something to find: in member-02 / us-east-1 a locked vault and a plan
// keeping daily points 400 days, selecting the tier by tag, with a fresh
// point of ledger and a stale one of fx-rates; member-02 / eu-west-1 (where
// chargebacks is) has no plan. Plans and vaults live in moto; the selection
// and the recovery points in the AWS Backup fake behind the proxy (moto
// lacks them).
func seedBackups(ctx context.Context, s *testaws.Seeder, fake *testaws.BackupFake, account string, now time.Time) error {
	const region, vault = "us-east-1", "business-critical"
	if err := s.CreateBackupVault(ctx, account, region, vault, 30); err != nil {
		return err
	}
	if _, err := s.CreateBackupPlan(ctx, account, region, "business-critical-daily",
		[]testaws.BackupRuleSpec{{Name: "daily-400d", Vault: vault, DeleteAfterDays: 400}},
		testaws.BackupSelectionSpec{Name: "tier-tag", Resources: []string{fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/*", region, account)},
			Equals: map[string]string{"tier": "business-critical"}}); err != nil {
		return err
	}
	for table, age := range map[string]time.Duration{"ledger": 3 * time.Hour, "fx-rates": 75 * time.Hour} {
		arn := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", region, account, table)
		fake.AddRecoveryPoint(account, region, arn, testaws.RecoveryPoint{Created: now.Add(-age), Status: "COMPLETED", Vault: vault})
	}
	return nil
}

// queueSpend gives moto's Cost Explorer last month's DynamoDB bill grouped by
// usage type (moto answers with nothing otherwise), so that `audit
// --cost-explorer` can show the measured resilience share beside the estimate.
func queueSpend(ctx context.Context, motoURL string, now time.Time) error {
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	start, end := first.AddDate(0, -1, 0).Format(time.DateOnly), first.Format(time.DateOnly)
	return testaws.QueueCostAndUsage(ctx, motoURL, "",
		testaws.CostPage(start, end, "",
			testaws.CostGroup{UsageType: "TimedPITRStorage-ByteHrs", Amount: "412.80"},
			testaws.CostGroup{UsageType: "EUW1-TimedPITRStorage-ByteHrs", Amount: "96.15"},
			testaws.CostGroup{UsageType: "TimedBackupStorage-ByteHrs", Amount: "58.40"},
			testaws.CostGroup{UsageType: "TimedStorage-ByteHrs", Amount: "1310.00"},
			testaws.CostGroup{UsageType: "ReadRequestUnits", Amount: "2240.55"},
			testaws.CostGroup{UsageType: "WriteRequestUnits", Amount: "3875.10"}))
}
