package store

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The version 1 schema is pinned by a file written by this version: a later
// pitrguard must still read it (restore of a deleted table months later).
func TestDecodeFactsV1(t *testing.T) {
	raw, err := os.ReadFile("testdata/facts_v1.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := DecodeFacts(raw)
	if err != nil {
		t.Fatal(err)
	}
	days, rd := 14, 14.0
	earliest, latest := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 11, 59, 0, 0, time.UTC)
	want := &Facts{Version: 1, Account: "111111111111", Region: "eu-west-1", Name: "orders", ARN: "arn:aws:dynamodb:eu-west-1:111111111111:table/orders",
		Status: "ACTIVE", DescribeKnown: true, TagsKnown: true, Tags: map[string]string{"env": "prod"}, SizeBytes: 1 << 30, GSISizeBytes: 42, ItemCount: 1000,
		BillingMode: "PAY_PER_REQUEST", TableClass: "STANDARD_INFREQUENT_ACCESS", DeletionProtection: true,
		Replicas: []FactsReplica{{Region: "us-east-1", Status: "ACTIVE"}}, Stream: &FactsStream{Enabled: true, ViewType: "NEW_IMAGE"},
		PITR:       FactsPITR{Status: "ENABLED", RecoveryPeriodDays: &days, EarliestRestorable: &earliest, LatestRestorable: &latest, RestorableDays: &rd},
		ReadErrors: []FactsError{}, Tier: "critical", Critical: true, Owner: "payments", Verdict: "NON_COMPLIANT",
		Reasons: []string{"recovery_period_below_minimum"}, Notes: []string{}, PITRMonthlyCostUSD: 0.2}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("decoded facts (-want +got):\n%s", diff)
	}
	// Encoding writes the current version and reads back the same.
	enc, v, err := f.Encode()
	if err != nil || v != FactsVersion {
		t.Fatal(v, err)
	}
	back, err := DecodeFacts(enc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// Rows written before facts were versioned hold the audit's JSON row; they
// stay readable, and a failed DescribeTable (status UNKNOWN) is not taken
// for settings that were read.
func TestDecodeFactsLegacyRow(t *testing.T) {
	raw, err := os.ReadFile("testdata/facts_v0.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := DecodeFacts(raw)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 0 || f.DescribeKnown || !f.TagsKnown || f.Tags["env"] != "prod" || f.PITR.Status != "DISABLED" || f.Verdict != "NON_COMPLIANT" {
		t.Errorf("legacy row: %+v", f)
	}
}

func TestDecodeFactsRefusesWhatItCannotRead(t *testing.T) {
	for raw, want := range map[string]string{
		`{"facts_version":99}`:  "newer than this pitrguard",
		`not json`:              "read the stored facts",
		`{"facts_version":"x"}`: "read the stored facts",
	} {
		if _, err := DecodeFacts(json.RawMessage(raw)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

// The AWS Backup block (issue 12) is an added field of version 1: it round-
// trips, and version 1 rows written before it read back without one.
func TestFactsBackupRoundTrip(t *testing.T) {
	days, locked, optIn, age, rpo := 400, true, false, 3.5, 0.25
	last := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	f := Facts{Account: "111111111111", Region: "us-east-1", Name: "ledger", Tags: map[string]string{}, Replicas: []FactsReplica{},
		ReadErrors: []FactsError{}, Reasons: []string{"backup_stale"}, Notes: []string{}, RPOExposureHours: &rpo,
		Backup: &FactsBackup{Status: "COVERED", LastRecoveryPoint: &last, AgeHours: &age, PointStatusChecked: true, OptIn: &optIn,
			MonthlyCostUSD: 40, Excluded: []string{}, Notes: []string{"1 PARTIAL"},
			Plans: []FactsBackupPlan{{Plan: "long", PlanID: "p1", Selection: "s", Rule: "daily", Schedule: "cron(0 5 ? * * *)", RetentionDays: &days,
				Vault: "v", VaultLocked: &locked, Copies: []FactsBackupCopy{{VaultARN: "arn:aws:backup:eu-west-1:1:backup-vault:v", Region: "eu-west-1", Account: "1", RetentionDays: &days}}}}}}
	enc, _, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeFacts(enc)
	if err != nil {
		t.Fatal(err)
	}
	f.Version = FactsVersion
	if diff := cmp.Diff(&f, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	raw, _ := os.ReadFile("testdata/facts_v1.json")
	old, err := DecodeFacts(raw)
	if err != nil || old.Backup != nil || old.RPOExposureHours != nil {
		t.Errorf("a row written before the backup block: %v %+v", err, old.Backup)
	}
}
