package main

import (
	"context"
	"fmt"

	"github.com/pitrguard/pitrguard/internal/testaws"
)

// seedEstate creates the demo organization's tables and returns how many.
func seedEstate(ctx context.Context, s *testaws.Seeder, members []string) (int, error) {
	prod := func(owner string) map[string]string { return map[string]string{"env": "prod", "owner": owner} }
	type place struct {
		account, region string
		specs           []testaws.TableSpec
	}
	estate := []place{
		{testaws.ManagementAccount, "us-east-1", []testaws.TableSpec{
			{Name: "org-billing", Tags: prod("finance"), PITR: true},
			{Name: "org-audit-log", Tags: prod("security"), PITR: true, RecoveryDays: 35, DeletionProtection: true},
			{Name: "tmp-account-import"},
			{Name: "legacy-sso-mappings", Tags: map[string]string{"team": "core-platform"}},
		}},
	}
	// member-01 / us-east-1: the busy account-region, more than 100 tables.
	var busy []testaws.TableSpec
	for i := range 110 {
		s := testaws.TableSpec{Name: fmt.Sprintf("orders-shard-%03d", i), Tags: prod("orders")}
		switch {
		case i%10 == 0: // a few never got PITR
		case i%7 == 0:
			s.PITR, s.RecoveryDays = true, 7 // short window under a 35-day tier
		default:
			s.PITR = true
		}
		busy = append(busy, s)
	}
	estate = append(estate,
		place{members[0], "us-east-1", busy},
		place{members[0], "eu-west-1", []testaws.TableSpec{
			{Name: "customers", Tags: prod("crm"), PITR: true, DeletionProtection: true},
			{Name: "customer-events", Tags: map[string]string{"env": "prod", "team": "crm"}, PITR: true, RecoveryDays: 14},
			{Name: "scratch-churn-model", Tags: map[string]string{"owner": "analytics"}},
			{Name: "session-cache", Tags: map[string]string{"env": "prod", "team": "web"}},
		}},
		place{members[1], "us-east-1", []testaws.TableSpec{
			{Name: "payments", Tags: map[string]string{"env": "production", "owner": "payments", "tier": "business-critical"}, PITR: true},
			{Name: "payment-intents", Tags: map[string]string{"env": "production", "owner": "payments"}},
			{Name: "ledger", Tags: map[string]string{"tier": "business-critical", "owner": "finance"}, PITR: true, RecoveryDays: 14, Items: 40}, // drilled
			{Name: "fx-rates", Tags: map[string]string{"tier": "business-critical", "owner": "finance"}, PITR: true, RecoveryDays: 3},
			{Name: "tmp-reconcile-2026-11", Tags: map[string]string{"owner": "finance"}},
		}},
		place{members[1], "eu-west-1", []testaws.TableSpec{
			{Name: "payments-eu", Tags: map[string]string{"env": "production", "owner": "payments"}, PITR: true},
			{Name: "chargebacks", Tags: map[string]string{"tier": "business-critical", "owner": "payments"}},
		}},
		place{members[2], "us-east-1", []testaws.TableSpec{
			{Name: "catalog-dev", Tags: map[string]string{"env": "dev", "owner": "catalog"}},
			{Name: "catalog-staging", Tags: map[string]string{"env": "staging", "owner": "catalog"}, PITR: true, RecoveryDays: 1},
			{Name: "search-index-cache", Tags: map[string]string{"env": "dev", "owner": "search"}},
			{Name: "feature-flags-dev", Tags: map[string]string{"env": "dev"}, PITR: true},
			{Name: "scratch-load-test", Tags: map[string]string{"owner": "perf"}},
		}},
		place{members[2], "eu-west-1", []testaws.TableSpec{
			{Name: "catalog-dev-eu", Tags: map[string]string{"env": "dev", "owner": "catalog"}},
		}},
		place{members[3], "eu-west-1", []testaws.TableSpec{
			{Name: "iot-telemetry", Tags: prod("iot"), PITR: true, RecoveryDays: 35},
			{Name: "iot-devices", Tags: prod("iot"), PITR: true, RecoveryDays: 21},
			{Name: "iot-firmware", Tags: map[string]string{"owner": "iot"}, PITR: true},
			{Name: "legacy-gateway-state", Tags: map[string]string{"owner": "iot"}},
		}},
	)
	n := 0
	for _, p := range estate {
		if err := s.CreateTables(ctx, p.account, p.region, p.specs); err != nil {
			return n, err
		}
		n += len(p.specs)
	}
	return n, nil
}
