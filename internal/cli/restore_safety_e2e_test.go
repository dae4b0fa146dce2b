package cli

// Regression tests for the restore defects of issue 9 (#1, #5, #7, #8, #13,
// #14) and issue 16 item 9, end to end against moto behind the fault proxy.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/restore"
	"github.com/pitrguard/pitrguard/internal/store"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// runTTY runs pitrguard as on a terminal, typing stdin.
func (e *env) runTTY(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	ios.SetTTY(true)
	in.WriteString(stdin)
	f := &Factory{IO: ios, Now: func() time.Time { return fixedNow }, Credentials: testaws.Credentials}
	full := append(append([]string{}, args...), "--endpoint-url", e.proxy.URL, "--db", e.db, "--retry-max-backoff", "5ms")
	code := Run(context.Background(), full, f)
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// insightsOff answers DescribeContributorInsights, which moto does not
// implement (it answers 500), as AWS does for a table without them. Without
// it every live source has a setting that could not be read, and a restore
// exits 1 (README "Exit codes").
func insightsOff() *testaws.Rule {
	return &testaws.Rule{Op: "DescribeContributorInsights", Respond: func(req map[string]any) map[string]any {
		return map[string]any{"TableName": req["TableName"], "ContributorInsightsStatus": "DISABLED"}
	}}
}

func statuses(res *RestoreResult) map[string]string {
	m := map[string]string{}
	for _, it := range res.Reconciled {
		m[it.Setting] = it.Status
	}
	return m
}

func restoreRuns(t *testing.T, e *env) []store.Run {
	t.Helper()
	db, err := store.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.Runs(context.Background(), "restore", 100)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// Issue 9 #1 (a): --reconcile-only on a table that is not a restore of the
// source is refused with exit 2, and nothing is sent to it.
func TestRestoreReconcileOnlyRefusesUnrelatedTarget(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1",
		testaws.TableSpec{Name: "orders", PITR: true, RecoveryDays: 7, TTLAttribute: "expires_at", Tags: map[string]string{"team": "o"}},
		testaws.TableSpec{Name: "prod-users", PITR: true, Items: 3})
	db := dynamodb.NewFromConfig(e.seed.Config(context.Background(), mgmt, "us-east-1"))
	before := readState(t, db, "prod-users")
	e.proxy.Clear()
	r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--reconcile-only", "--target", "prod-users", "--yes")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "is not a restore of") {
		t.Errorf("exit %d, stderr %q: want 2 and why", r.code, r.errOut)
	}
	if m := mutatingOn(e, "prod-users"); len(m) > 0 {
		t.Errorf("mutating calls on an unrelated table: %v", m)
	}
	if after := readState(t, db, "prod-users"); after.PITR != before.PITR || after.TTL != "" || len(after.Tags) != len(before.Tags) {
		t.Errorf("prod-users changed: %+v → %+v", before, after)
	}
}

// Issue 9 #1 (b, c): reconcile-only of a real restore never lowers the
// target's window nor replaces its own resource policy or TTL without
// --replace-target-settings, and it needs --yes without a terminal.
func TestRestoreReconcileOnlyKeepsTargetSettings(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	db := sourceTable(t, e, "T") // 14-day window, TTL expires_at, a policy
	e.proxy.Add(insightsOff())
	if r := e.run(t, "restore", "--table", "T", "--region", "us-east-1", "--latest", "--target", "T-r", "--yes", "--no-reconcile"); r.code != ExitOK {
		t.Fatalf("restore: exit %d %s", r.code, r.errOut)
	}
	tArn := "arn:aws:dynamodb:us-east-1:" + mgmt + ":table/T-r"
	own := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"dynamodb:DeleteItem","Resource":"%s"}]}`, tArn)
	mustDo(t, func() error {
		_, err := db.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("T-r"),
			PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true), RecoveryPeriodInDays: aws.Int32(35)}})
		return err
	}, func() error {
		_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("T-r"),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String("purge_at")}})
		return err
	}, func() error {
		_, err := db.PutResourcePolicy(ctx, &dynamodb.PutResourcePolicyInput{ResourceArn: aws.String(tArn), Policy: aws.String(own)})
		return err
	})

	// (c) no terminal, no --yes: refused before any change.
	e.proxy.Clear()
	e.proxy.Add(insightsOff())
	r := e.run(t, "restore", "--table", "T", "--region", "us-east-1", "--reconcile-only", "--target", "T-r")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "--yes") || len(mutatingOn(e, "T-r")) > 0 {
		t.Errorf("reconcile-only without --yes: exit %d %q, calls %v", r.code, r.errOut, mutatingOn(e, "T-r"))
	}
	// (c) on a terminal, answering no changes nothing.
	e.proxy.Clear()
	e.proxy.Add(insightsOff())
	r = e.runTTY(t, "no\n", "restore", "--table", "T", "--region", "us-east-1", "--reconcile-only", "--target", "T-r")
	if r.code != ExitFailure || !strings.Contains(r.errOut, "aborted") || len(mutatingOn(e, "T-r")) > 0 {
		t.Errorf("declined: exit %d %q, calls %v", r.code, r.errOut, mutatingOn(e, "T-r"))
	}

	// (b) with --yes: the target keeps its own window, TTL and policy.
	r = e.run(t, "restore", "--table", "T", "--region", "us-east-1", "--reconcile-only", "--target", "T-r", "--yes", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("reconcile-only: exit %d %s", r.code, r.errOut)
	}
	got := readState(t, db, "T-r")
	if got.PITR != "ENABLED/35" || got.TTL != "purge_at" || got.Policy != own {
		t.Errorf("target's own settings changed: %+v", got)
	}
	st := statuses(decodeRestore(t, r))
	if st["pitr"] != restore.Manual || st["ttl"] != restore.Manual || st["resource_policy"] != restore.Manual || st["tags"] != restore.Applied {
		t.Errorf("statuses %v", st)
	}
	// With the explicit flag, the window is set to the source's and the policy replaced.
	r = e.run(t, "restore", "--table", "T", "--region", "us-east-1", "--reconcile-only", "--target", "T-r", "--yes", "--replace-target-settings")
	if r.code != ExitOK {
		t.Fatalf("with --replace-target-settings: exit %d %s", r.code, r.errOut)
	}
	got = readState(t, db, "T-r")
	if got.PITR != "ENABLED/14" || !strings.Contains(got.Policy, "dynamodb:GetItem") || got.TTL != "purge_at" {
		t.Errorf("--replace-target-settings: %+v", got)
	}
}

func mustDo(t *testing.T, fs ...func() error) {
	t.Helper()
	for _, f := range fs {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
}

// Issue 9 #7: --latest records the point AWS restored to
// (RestoreSummary.RestoreDateTime), not the one read before the prompt.
func TestRestoreLatestRecordsAWSPoint(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true, Items: 2})
	e.proxy.Add(insightsOff())
	stale := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	used := time.Now().UTC().Add(-3 * time.Minute).Truncate(time.Second)
	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Table: "orders", Mutate: func(m map[string]any) {
		pd := m["ContinuousBackupsDescription"].(map[string]any)["PointInTimeRecoveryDescription"].(map[string]any)
		pd["LatestRestorableDateTime"] = float64(stale.Unix())
	}})
	setPoint := func(m map[string]any) {
		for _, k := range []string{"Table", "TableDescription"} {
			if tb, ok := m[k].(map[string]any); ok {
				if rs, ok := tb["RestoreSummary"].(map[string]any); ok {
					rs["RestoreDateTime"] = float64(used.Unix())
				}
			}
		}
	}
	e.proxy.Add(&testaws.Rule{Op: "DescribeTable", Table: "orders-l", Mutate: setPoint}, &testaws.Rule{Op: "RestoreTableToPointInTime", Mutate: setPoint})
	r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "orders-l", "--yes", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d %s", r.code, r.errOut)
	}
	res := decodeRestore(t, r)
	if res.RestorePoint == nil || !res.RestorePoint.Equal(used) {
		t.Errorf("JSON restore point %v, want %v (AWS's), not %v", res.RestorePoint, used, stale)
	}
	got := readState(t, dynamodb.NewFromConfig(e.seed.Config(context.Background(), mgmt, "us-east-1")), "orders-l")
	if got.Tags[restore.TagRestorePoint] != used.Format(time.RFC3339) {
		t.Errorf("tag %s = %q, want %s", restore.TagRestorePoint, got.Tags[restore.TagRestorePoint], used.Format(time.RFC3339))
	}
	runs := restoreRuns(t, e)
	if len(runs) != 1 {
		t.Fatalf("%d restore runs recorded", len(runs))
	}
	var stored RestoreResult
	if err := json.Unmarshal(runs[0].Summary, &stored); err != nil || stored.RestorePoint == nil || !stored.RestorePoint.Equal(used) {
		t.Errorf("stored restore point %v (%v), want %v", stored.RestorePoint, err, used)
	}
}

// deletedWithBackup deletes table "gone" after a backup and makes ListBackups
// show it as the SYSTEM deleted-table backup.
func deletedWithBackup(t *testing.T, e *env, db *dynamodb.Client, name string) {
	t.Helper()
	ctx := context.Background()
	bk, err := db.CreateBackup(ctx, &dynamodb.CreateBackupInput{TableName: aws.String(name), BackupName: aws.String("snapshot")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(name), DeletionProtectionEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	created := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	e.proxy.Add(&testaws.Rule{Op: "ListBackups", Respond: func(map[string]any) map[string]any {
		return map[string]any{"BackupSummaries": []any{map[string]any{
			"TableName": name, "BackupArn": aws.ToString(bk.BackupDetails.BackupArn), "BackupName": name + "$DeletedTableBackup",
			"BackupType": "SYSTEM", "BackupStatus": "AVAILABLE", "BackupSizeBytes": 1024,
			"BackupCreationDateTime": float64(created.Unix()), "BackupExpiryDateTime": float64(created.Add(35 * 24 * time.Hour).Unix()),
		}}}
	}})
}

// Issue 9 #8: a snapshot whose DescribeTable failed is not used for the
// settings it could not read; the newest snapshot that did read them is.
func TestRestoreDeletedUsesReadSnapshot(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "gone", PITR: true, RecoveryDays: 21, DeletionProtection: true, Items: 2, Tags: map[string]string{"env": "prod"}})
	db := dynamodb.NewFromConfig(e.seed.Config(context.Background(), mgmt, "us-east-1"))
	if r := e.run(t, "audit", "--regions", "us-east-1", "--format", "json"); r.code != ExitOK {
		t.Fatalf("audit 1: %d %s", r.code, r.errOut)
	}
	e.proxy.Add(&testaws.Rule{Op: "DescribeTable", Table: "gone", Fault: testaws.FaultAccessDenied})
	if r := e.run(t, "audit", "--regions", "us-east-1", "--format", "json"); r.code == ExitUsage {
		t.Fatalf("audit 2: %d %s", r.code, r.errOut)
	}
	e.proxy.Clear()
	deletedWithBackup(t, e, db, "gone")
	r := e.run(t, "restore", "--table", "gone", "--region", "us-east-1", "--deleted", "--target", "gone-1", "--yes", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	res := decodeRestore(t, r)
	if !strings.Contains(res.SettingsFrom, "(run 1)") {
		t.Errorf("settings from %q, want the first audit (the second could not read the table)", res.SettingsFrom)
	}
	if st := statuses(res); st["deletion_protection"] != restore.Applied {
		t.Errorf("deletion protection: %v", st)
	}
	if got := readState(t, db, "gone-1"); !got.DeletionProtection || got.PITR != "ENABLED/21" {
		t.Errorf("restored: %+v", got)
	}
}

// Issue 9 #8 and issue 16 #9: with only an unreadable snapshot, settings it
// did not read are manual with the reason, and the restore exits 1.
func TestRestoreDeletedUnreadSnapshotIsManual(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "gone", PITR: true, Items: 1})
	db := dynamodb.NewFromConfig(e.seed.Config(context.Background(), mgmt, "us-east-1"))
	e.proxy.Add(&testaws.Rule{Op: "DescribeTable", Table: "gone", Fault: testaws.FaultAccessDenied})
	if r := e.run(t, "audit", "--regions", "us-east-1", "--format", "json"); r.code == ExitUsage {
		t.Fatalf("audit: %d %s", r.code, r.errOut)
	}
	e.proxy.Clear()
	deletedWithBackup(t, e, db, "gone")
	r := e.run(t, "restore", "--table", "gone", "--region", "us-east-1", "--deleted", "--target", "gone-2", "--yes", "--format", "json")
	if r.code != ExitFailure {
		t.Errorf("exit %d, want 1 (settings could not be read)\n%s", r.code, r.errOut)
	}
	res := decodeRestore(t, r)
	for _, it := range res.Reconciled {
		if (it.Setting == "deletion_protection" || it.Setting == "table_class" || it.Setting == "stream") &&
			(it.Status != restore.Manual || !strings.Contains(it.Detail, "could not read") || !strings.Contains(it.Detail, "access_denied")) {
			t.Errorf("%s: %s %q, want manual with the reason", it.Setting, it.Status, it.Detail)
		}
	}
}

// Issue 9 #5: --index on a deleted table whose DescribeBackup fails is
// refused rather than silently restored without indexes.
func TestRestoreDeletedDescribeBackupFails(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "gone", PITR: true, GSI: true, Items: 1})
	db := dynamodb.NewFromConfig(e.seed.Config(context.Background(), mgmt, "us-east-1"))
	deletedWithBackup(t, e, db, "gone")
	e.proxy.Add(&testaws.Rule{Op: "DescribeBackup", Fault: testaws.FaultAccessDenied})
	r := e.run(t, "restore", "--table", "gone", "--region", "us-east-1", "--deleted", "--index", "by-gsk", "--target", "g3", "--yes", "--no-reconcile")
	if r.code != ExitFailure || !strings.Contains(r.errOut, "DescribeBackup") || e.proxy.Count("RestoreTableFromBackup") != 0 {
		t.Errorf("exit %d %q, restores %d", r.code, r.errOut, e.proxy.Count("RestoreTableFromBackup"))
	}
}

// Issue 9 #14: the policy rewrite touches only the source table's ARN and its
// sub-resources, never a table whose name merely starts with it.
func TestRestorePolicyRewriteExact(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true})
	e.proxy.Add(insightsOff())
	db := dynamodb.NewFromConfig(e.seed.Config(context.Background(), mgmt, "us-east-1"))
	base := "arn:aws:dynamodb:us-east-1:" + mgmt + ":table/"
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"dynamodb:GetItem","Resource":["%s","%s","%s"]}]}`,
		mgmt, base+"orders", base+"orders/index/*", base+"orders-archive")
	if _, err := db.PutResourcePolicy(context.Background(), &dynamodb.PutResourcePolicyInput{ResourceArn: aws.String(base + "orders"), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "o2", "--yes")
	if r.code != ExitOK {
		t.Fatalf("exit %d %s", r.code, r.errOut)
	}
	got := readState(t, db, "o2").Policy
	for _, want := range []string{`"` + base + `o2"`, `"` + base + `o2/index/*"`, `"` + base + `orders-archive"`} {
		if !strings.Contains(got, want) {
			t.Errorf("policy lacks %s:\n%s", want, got)
		}
	}
}

// Issue 9 #14: a ListBackups that repeats its pagination token ends with an
// error instead of looping.
func TestRestoreDeletedRepeatedToken(t *testing.T) {
	e := newEnv(t, 0)
	calls := 0
	e.proxy.Add(&testaws.Rule{Op: "ListBackups", Respond: func(map[string]any) map[string]any {
		calls++
		out := map[string]any{"BackupSummaries": []any{}}
		if calls < 50 {
			out["LastEvaluatedBackupArn"] = "arn:aws:dynamodb:us-east-1:" + mgmt + ":table/x/backup/1"
		}
		return out
	}})
	r := e.run(t, "restore", "--table", "x", "--region", "us-east-1", "--deleted", "--yes")
	if r.code != ExitFailure || !strings.Contains(r.errOut, "twice") || calls > 2 {
		t.Errorf("exit %d %q after %d ListBackups calls", r.code, r.errOut, calls)
	}
}

// Issue 9 #13: every restore is recorded with its result — failed, timed
// out, reconciled with failures — not only a success as "completed".
func TestRestoreRecordsEveryOutcome(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true, Tags: map[string]string{"a": "b"}})
	e.proxy.Add(insightsOff())
	e.proxy.Add(&testaws.Rule{Op: "RestoreTableToPointInTime", Fault: testaws.FaultAccessDenied, Code: "LimitExceededException"})
	if r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "o-fail", "--yes"); r.code != ExitFailure {
		t.Errorf("failed restore: exit %d", r.code)
	}
	e.proxy.Clear()
	e.proxy.Add(insightsOff(), &testaws.Rule{Op: "DescribeTable", Table: "o-slow", Mutate: testaws.SetTableStatus("CREATING")})
	if r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "o-slow", "--yes", "--wait", "200ms", "--poll", "50ms"); r.code != ExitPending {
		t.Errorf("timed out restore: exit %d %s", r.code, r.errOut)
	}
	e.proxy.Clear()
	e.proxy.Add(insightsOff(), &testaws.Rule{Op: "TagResource", Fault: testaws.FaultAccessDenied})
	if r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "o-part", "--yes"); r.code != ExitFailure {
		t.Errorf("reconcile failure: exit %d %s", r.code, r.errOut)
	}
	e.proxy.Clear()
	e.proxy.Add(insightsOff())
	if r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "o-ok", "--yes"); r.code != ExitOK {
		t.Errorf("good restore: exit %d %s", r.code, r.errOut)
	}
	runs := restoreRuns(t, e)
	var got []string
	for i := len(runs) - 1; i >= 0; i-- {
		got = append(got, runs[i].Status)
	}
	want := []string{"failed", "timed_out", "completed_with_failures", "completed"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("recorded statuses %v, want %v", got, want)
	}
	db, err := store.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	j, err := db.Journal(context.Background(), runs[len(runs)-1].ID, 100)
	if err != nil || len(j) == 0 || j[len(j)-1].Action != "restore" || j[len(j)-1].Result != "failed" || !strings.Contains(j[len(j)-1].Error, "LimitExceeded") {
		t.Errorf("journal of the failed restore: %+v %v", j, err)
	}
}

// Issue 16 #9: a setting that could not be read from the source is manual,
// and the restore exits 1 as the README says.
func TestRestoreUnreadSettingExits1(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true, TTLAttribute: "exp"})
	e.proxy.Add(insightsOff(), &testaws.Rule{Op: "DescribeTimeToLive", Table: "orders", Fault: testaws.FaultAccessDenied})
	r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "o-u", "--yes", "--format", "json")
	if r.code != ExitFailure || !strings.Contains(r.errOut, "could not be read") {
		t.Errorf("exit %d %q, want 1", r.code, r.errOut)
	}
	if st := statuses(decodeRestore(t, r)); st["ttl"] != restore.Manual {
		t.Errorf("ttl: %v", st)
	}
}
