package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/testaws"
)

// backupPolicy is the built-in policy with AWS Backup required of the
// critical tier (issue 12): env/environment/stage = prod tables, in every
// account-region of the estate.
const backupPolicy = `tiers:
  - name: critical
    match: { tags: { env: [prod, production, prd], environment: [prod, production, prd], stage: [prod, production, prd] } }
    min_recovery_days: 35
    backup: { min_retention_days: 365 }
default_tier: standard
`

// backupPlanAccounts is how many member accounts get a backup plan (in
// every region): the others have critical tables and no plan.
const backupPlanAccounts = 10

// backupOrg measures `audit --org` with backupPolicy: the worst case for
// AWS Backup's reads, since every account-region holds critical tables. The
// first backupPlanAccounts members have, in each region, a vault and a plan
// whose selection takes env=prod tables by tag, and a fresh recovery point
// per such table (the proxy's BackupFake serves what moto lacks).
func (h *harness) backupOrg(ctx context.Context, sd *Seeded) (*Run, error) {
	fake := testaws.NewBackupFake()
	fake.PageSize = 1000 // AWS's page sizes, not the tests' 2
	h.proxy.Backup = fake
	defer func() { h.proxy.Backup = nil }()
	s := testaws.NewSeeder(h.proxy.URL)
	now := time.Now()
	for _, a := range sd.Members[:min(backupPlanAccounts, len(sd.Members))] {
		for _, r := range h.estate.Regions {
			if err := s.CreateBackupVault(ctx, a, r, "bench", 0); err != nil {
				return nil, err
			}
			if _, err := s.CreateBackupPlan(ctx, a, r, "bench", []testaws.BackupRuleSpec{{Name: "daily", Vault: "bench", DeleteAfterDays: 400}},
				testaws.BackupSelectionSpec{Name: "prod", Resources: []string{"arn:aws:dynamodb:*:*:table/*"}, Equals: map[string]string{"env": "prod"}}); err != nil {
				return nil, err
			}
			for i := range h.estate.PerRegion {
				if spec := tableSpec("t", i); spec.Tags["env"] == "prod" {
					fake.AddRecoveryPoint(a, r, fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", r, a, spec.Name),
						testaws.RecoveryPoint{Created: now.Add(-2 * time.Hour), Status: "COMPLETED", Vault: "bench"})
				}
			}
		}
	}
	policy := filepath.Join(h.dir, "backup-policy.yaml")
	if err := os.WriteFile(policy, []byte(backupPolicy), 0o644); err != nil {
		return nil, err
	}
	run, err := h.audit(ctx, "backup-org", "--org", "--regions", strings.Join(h.estate.Regions, ","), "--config", policy)
	if err != nil {
		return nil, err
	}
	backupOps := map[string]bool{"ListBackupPlans": true, "GetBackupPlan": true, "ListBackupSelections": true, "GetBackupSelection": true,
		"DescribeRegionSettings": true, "DescribeBackupVault": true, "ListProtectedResources": true, "ListRecoveryPointsByResource": true, "ListBackups": true}
	var parts []string
	n := 0
	for op, c := range run.Calls {
		if backupOps[op] {
			n += c
			parts = append(parts, fmt.Sprintf("%s %d", op, c))
		}
	}
	sort.Strings(parts)
	run.Note = fmt.Sprintf("`--org` with a policy whose critical tier (env=prod, in every account-region) requires AWS Backup; %d member accounts × %d regions have a plan; AWS Backup and ListBackups reads: %d = %.3f per table (%s)",
		min(backupPlanAccounts, len(sd.Members)), len(h.estate.Regions), n, float64(n)/float64(max(run.Tables, 1)), strings.Join(parts, ", "))
	return run, nil
}
