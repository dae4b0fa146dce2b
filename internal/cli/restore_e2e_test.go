package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/restore"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// sourceTable is the acceptance table: items, tags, TTL, deletion
// protection, a stream, a 14-day PITR window, and a resource policy.
func sourceTable(t *testing.T, e *env, name string) *dynamodb.Client {
	t.Helper()
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: name, Tags: map[string]string{"env": "prod", "owner": "orders-team"},
		PITR: true, RecoveryDays: 14, DeletionProtection: true, Items: 12, TTLAttribute: "expires_at", Stream: "NEW_AND_OLD_IMAGES"})
	db := dynamodb.NewFromConfig(e.seed.Config(context.Background(), mgmt, "us-east-1"))
	arn := "arn:aws:dynamodb:us-east-1:" + mgmt + ":table/" + name
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"dynamodb:GetItem","Resource":"%s"}]}`, mgmt, arn)
	if _, err := db.PutResourcePolicy(context.Background(), &dynamodb.PutResourcePolicyInput{ResourceArn: aws.String(arn), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	return db
}

// tableState is everything the tests compare between source and target.
type tableState struct {
	Items              []string
	PITR               string
	Tags               map[string]string
	TTL                string
	DeletionProtection bool
	Stream             string
	Policy             string
}

func readState(t *testing.T, db *dynamodb.Client, name string) tableState {
	t.Helper()
	ctx := context.Background()
	var s tableState
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	s.DeletionProtection = aws.ToBool(d.Table.DeletionProtectionEnabled)
	if sp := d.Table.StreamSpecification; sp != nil && aws.ToBool(sp.StreamEnabled) {
		s.Stream = string(sp.StreamViewType)
	}
	scan, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range scan.Items {
		s.Items = append(s.Items, it["pk"].(*ddbtypes.AttributeValueMemberS).Value+"="+it["data"].(*ddbtypes.AttributeValueMemberS).Value)
	}
	sort.Strings(s.Items)
	cb, _ := db.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(name)})
	pd := cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription
	s.PITR = string(pd.PointInTimeRecoveryStatus)
	if pd.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled {
		s.PITR += fmt.Sprintf("/%d", aws.ToInt32(pd.RecoveryPeriodInDays))
	}
	tags, _ := db.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: d.Table.TableArn})
	s.Tags = map[string]string{}
	for _, tg := range tags.Tags {
		s.Tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	ttl, _ := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if ttl.TimeToLiveDescription != nil && ttl.TimeToLiveDescription.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled {
		s.TTL = aws.ToString(ttl.TimeToLiveDescription.AttributeName)
	}
	if pol, err := db.GetResourcePolicy(ctx, &dynamodb.GetResourcePolicyInput{ResourceArn: d.Table.TableArn}); err == nil {
		s.Policy = aws.ToString(pol.Policy)
	}
	return s
}

func decodeRestore(t *testing.T, r result) *RestoreResult {
	t.Helper()
	var res RestoreResult
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatalf("not a restore result: %v\nstdout:\n%s\nstderr:\n%s", err, r.out, r.errOut)
	}
	return &res
}

// mutatingOn lists mutating calls the proxy saw against table.
func mutatingOn(e *env, table string) []string {
	var out []string
	for _, c := range e.proxy.Calls() {
		if c.Table != table || strings.HasPrefix(c.Op, "Describe") || strings.HasPrefix(c.Op, "List") || strings.HasPrefix(c.Op, "Get") ||
			c.Op == "Scan" || c.Op == "Query" || c.Op == "RestoreTableToPointInTime" {
			continue
		}
		out = append(out, c.Op)
	}
	return out
}

// TestRestoreLatestReconciles is the acceptance: the restored table
// has the same items and all the settings, and the source is untouched.
func TestRestoreLatestReconciles(t *testing.T) {
	e := newEnv(t, 0)
	db := sourceTable(t, e, "T")
	before := readState(t, db, "T")
	e.proxy.Clear()
	e.proxy.Add(insightsOff())
	r := e.run(t, "restore", "--table", "T", "--region", "us-east-1", "--latest", "--target", "T-r", "--yes", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	res := decodeRestore(t, r)
	got := readState(t, db, "T-r")
	if !reflect.DeepEqual(got.Items, before.Items) || len(got.Items) != 12 {
		t.Errorf("items differ: %d vs %d", len(got.Items), len(before.Items))
	}
	if got.PITR != "ENABLED/14" || got.TTL != "expires_at" || !got.DeletionProtection || got.Stream != "NEW_AND_OLD_IMAGES" {
		t.Errorf("settings not reconciled: %+v", got)
	}
	if got.Tags["env"] != "prod" || got.Tags["owner"] != "orders-team" || got.Tags[restore.TagRestoredFrom] != res.Source.ARN || got.Tags[restore.TagRestorePoint] == "" {
		t.Errorf("tags: %v", got.Tags)
	}
	if !strings.Contains(got.Policy, "table/T-r") || strings.Contains(got.Policy, `table/T"`) {
		t.Errorf("resource policy not rewritten: %s", got.Policy)
	}
	status := map[string]string{}
	for _, it := range res.Reconciled {
		status[it.Setting] = it.Status
	}
	for _, s := range []string{"pitr", "tags", "ttl", "deletion_protection", "stream", "resource_policy"} {
		if status[s] != restore.Applied {
			t.Errorf("%s: %s", s, status[s])
		}
	}
	if status["table_class"] != restore.NotNeeded || status["auto_scaling"] != restore.NotNeeded {
		t.Errorf("statuses: %v", status)
	}
	if res.Target.Table != "T-r" || res.ActiveAt == nil || res.RestorePoint == nil || res.Status != "active" || len(res.ManualActions) < 3 {
		t.Errorf("result: %+v", res)
	}
	// The source is never modified.
	if m := mutatingOn(e, "T"); len(m) > 0 {
		t.Errorf("mutating calls on the source: %v", m)
	}
	if diff := readState(t, db, "T"); !reflect.DeepEqual(diff, before) {
		t.Errorf("source changed:\nbefore %+v\nafter  %+v", before, diff)
	}
	// An existing target is refused before anything is requested.
	e.proxy.Clear()
	r = e.run(t, "restore", "--table", "T", "--region", "us-east-1", "--latest", "--target", "T-r", "--yes")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "already exists") || e.proxy.Count("RestoreTableToPointInTime") != 0 {
		t.Errorf("existing target: exit %d %s", r.code, r.errOut)
	}
}

// TestRestoreToSecondBeforeDeploy: "restore to one second before the bad
// deploy at 14:03:27", written in local time, inside a (faked) 7-day window.
func TestRestoreToSecondBeforeDeploy(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true, Items: 3})
	// moto's window is a single instant; widen it the way AWS reports it.
	now := time.Now().UTC()
	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Table: "orders", Mutate: func(m map[string]any) {
		pd := m["ContinuousBackupsDescription"].(map[string]any)["PointInTimeRecoveryDescription"].(map[string]any)
		pd["EarliestRestorableDateTime"] = float64(now.Add(-7 * 24 * time.Hour).Unix())
		pd["LatestRestorableDateTime"] = float64(now.Add(-5 * time.Minute).Unix())
	}})
	berlin, _ := time.LoadLocation("Europe/Berlin")
	deploy := now.Add(-2 * time.Hour).Truncate(time.Second)
	local := deploy.Add(-time.Second).In(berlin).Format("2006-01-02 15:04:05")
	r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--to", local, "--tz", "Europe/Berlin", "--yes", "--format", "json", "--no-reconcile")
	if r.code != ExitOK {
		t.Fatalf("exit %d %s", r.code, r.errOut)
	}
	res := decodeRestore(t, r)
	want := deploy.Add(-time.Second)
	if res.RestorePoint == nil || !res.RestorePoint.Equal(want) {
		t.Errorf("restore point %v, want %v", res.RestorePoint, want)
	}
	if wantName := "orders-restored-" + want.Format("20060102T150405"); res.Target.Table != wantName {
		t.Errorf("default target %s, want %s", res.Target.Table, wantName)
	}
	// Outside the window: refused before calling the restore API, window printed.
	e.proxy.Clear()
	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Table: "orders", Mutate: func(m map[string]any) {
		pd := m["ContinuousBackupsDescription"].(map[string]any)["PointInTimeRecoveryDescription"].(map[string]any)
		pd["EarliestRestorableDateTime"] = float64(now.Add(-24 * time.Hour).Unix())
		pd["LatestRestorableDateTime"] = float64(now.Add(-5 * time.Minute).Unix())
	}})
	r = e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--to", "-48h", "--yes")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "outside the restorable window") || !strings.Contains(r.errOut, now.Add(-24*time.Hour).Format("2006-01-02T15")) {
		t.Errorf("out of window: exit %d %s", r.code, r.errOut)
	}
	if e.proxy.Count("RestoreTableToPointInTime") != 0 {
		t.Error("an out-of-window restore reached AWS")
	}
	// Bad time formats are usage errors with the accepted forms.
	r = e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--to", "yesterday", "--yes")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "RFC3339") || !strings.Contains(r.errOut, "-2h30m") {
		t.Errorf("bad time: exit %d %s", r.code, r.errOut)
	}
}

func TestRestoreErrorsMapped(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true}, testaws.TableSpec{Name: "nopitr"})
	for _, tc := range []struct {
		code, want string
	}{
		{"InvalidRestoreTimeException", "use --latest or a time inside the window"},
		{"PointInTimeRecoveryUnavailableException", "PITR is not enabled on orders"},
		{"LimitExceededException", "50 concurrent restores"},
	} {
		e.proxy.Clear()
		e.proxy.Add(&testaws.Rule{Op: "RestoreTableToPointInTime", Fault: testaws.FaultAccessDenied, Code: tc.code, Message: "from AWS"})
		r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--yes")
		if r.code != ExitFailure || !strings.Contains(r.errOut, tc.code) || !strings.Contains(r.errOut, tc.want) {
			t.Errorf("%s: exit %d %s", tc.code, r.code, r.errOut)
		}
	}
	e.proxy.Clear()
	r := e.run(t, "restore", "--table", "nopitr", "--region", "us-east-1", "--latest", "--yes")
	if r.code != ExitFailure || !strings.Contains(r.errOut, "PITR is not enabled on nopitr") || e.proxy.Count("RestoreTableToPointInTime") != 0 {
		t.Errorf("no PITR: exit %d %s", r.code, r.errOut)
	}
}

// TestRestoreWaitsForCreating: the target stays CREATING for a few polls
// (moto makes it ACTIVE at once), and a restore longer than --wait says how to resume.
func TestRestoreWaitsForCreating(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true, Items: 2})
	e.proxy.Add(insightsOff())
	// The first DescribeTable of orders-a is the check that the name is free.
	e.proxy.Add(&testaws.Rule{Op: "DescribeTable", Table: "orders-a", Times: 5, Mutate: testaws.SetTableStatus("CREATING")})
	r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "orders-a", "--yes", "--format", "json", "--poll", "50ms")
	if r.code != ExitOK {
		t.Fatalf("exit %d %s", r.code, r.errOut)
	}
	res := decodeRestore(t, r)
	// Polls at 50, 100, 200, 400 ms before ACTIVE: at least 0.7 s measured.
	if res.DurationSeconds < 0.7 || res.ActiveAt == nil {
		t.Errorf("duration %.2fs, want ≥ 0.7s after four CREATING answers", res.DurationSeconds)
	}
	e.proxy.Add(&testaws.Rule{Op: "DescribeTable", Table: "orders-b", Mutate: testaws.SetTableStatus("CREATING")})
	r = e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "orders-b", "--yes", "--wait", "300ms", "--poll", "50ms", "--format", "json")
	if r.code != ExitPending || !strings.Contains(r.errOut, "--reconcile-only --target orders-b") || !strings.Contains(r.errOut, "continues in AWS") {
		t.Errorf("timeout: exit %d %s", r.code, r.errOut)
	}
	if res := decodeRestore(t, r); res.Status != "restoring" {
		t.Errorf("status %s", res.Status)
	}
	// Resume: reconcile only (a change like any other: --yes without a terminal).
	e.proxy.Clear()
	e.proxy.Add(insightsOff())
	r = e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--reconcile-only", "--target", "orders-b", "--format", "json", "--yes")
	if r.code != ExitOK || e.proxy.Count("RestoreTableToPointInTime") != 0 {
		t.Fatalf("reconcile-only: exit %d %s", r.code, r.errOut)
	}
	if s := readState(t, dynamodb.NewFromConfig(e.seed.Config(context.Background(), mgmt, "us-east-1")), "orders-b"); s.PITR != "ENABLED/35" {
		t.Errorf("reconcile-only did not enable PITR: %+v", s)
	}
}

// TestRestoreDeletedTable: the SYSTEM $DeletedTableBackup (which moto does
// not create) is listed by a wire fake pointing at a real backup, restored
// with RestoreTableFromBackup, and reconciled from the last audit snapshot.
func TestRestoreDeletedTable(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "gone", Tags: map[string]string{"env": "prod", "team": "a"}, PITR: true, RecoveryDays: 21, Items: 5})
	db := dynamodb.NewFromConfig(e.seed.Config(ctx, mgmt, "us-east-1"))
	// The audit stores the settings a later restore needs.
	if r := e.run(t, "audit", "--regions", "us-east-1", "--format", "json"); r.code != ExitOK {
		t.Fatalf("audit: %d %s", r.code, r.errOut)
	}
	bk, err := db.CreateBackup(ctx, &dynamodb.CreateBackupInput{TableName: aws.String("gone"), BackupName: aws.String("snapshot")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	created := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	var asked []string
	e.proxy.Add(&testaws.Rule{Op: "ListBackups", Respond: func(req map[string]any) map[string]any {
		asked = append(asked, fmt.Sprint(req["BackupType"]))
		if req["BackupType"] != "SYSTEM" {
			return map[string]any{"BackupSummaries": []any{}}
		}
		return map[string]any{"BackupSummaries": []any{map[string]any{
			"TableName": "gone", "BackupArn": aws.ToString(bk.BackupDetails.BackupArn), "BackupName": "gone$DeletedTableBackup",
			"BackupType": "SYSTEM", "BackupStatus": "AVAILABLE", "BackupSizeBytes": 1024,
			"BackupCreationDateTime": float64(created.Unix()), "BackupExpiryDateTime": float64(created.Add(35 * 24 * time.Hour).Unix()),
		}}}
	}})
	r := e.run(t, "restore", "--table", "gone", "--region", "us-east-1", "--deleted", "--target", "gone-back", "--yes", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	if !slices.Equal(asked, []string{"SYSTEM"}) {
		t.Errorf("ListBackups asked for %v, want SYSTEM backups", asked)
	}
	res := decodeRestore(t, r)
	if res.Backup == nil || res.Backup.Name != "gone$DeletedTableBackup" || !res.Backup.Expires.Equal(created.Add(35*24*time.Hour)) {
		t.Errorf("backup: %+v", res.Backup)
	}
	if !strings.Contains(res.SettingsFrom, "audit snapshot") {
		t.Errorf("settings from %q", res.SettingsFrom)
	}
	if e.proxy.Count("RestoreTableFromBackup") != 1 {
		t.Error("RestoreTableFromBackup not called")
	}
	got := readState(t, db, "gone-back")
	if len(got.Items) != 5 || got.PITR != "ENABLED/21" || got.Tags["env"] != "prod" || got.Tags["team"] != "a" {
		t.Errorf("restored deleted table: %+v", got)
	}
	status := map[string]string{}
	for _, it := range res.Reconciled {
		status[it.Setting] = it.Status
	}
	if status["ttl"] != restore.Manual || status["resource_policy"] != restore.Manual {
		t.Errorf("settings the audit does not record must be manual: %v", status)
	}

	// No deleted-table backup: a clear message.
	e.proxy.Clear()
	e.proxy.Add(&testaws.Rule{Op: "ListBackups", Respond: func(map[string]any) map[string]any { return map[string]any{"BackupSummaries": []any{}} }})
	r = e.run(t, "restore", "--table", "never", "--region", "us-east-1", "--deleted", "--yes")
	if r.code != ExitFailure || !strings.Contains(r.errOut, "only when PITR was on at deletion, and only for 35 days") {
		t.Errorf("no backup: exit %d %s", r.code, r.errOut)
	}
}

func TestRestoreUsageErrors(t *testing.T) {
	e := newEnv(t, 0)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"restore", "--region", "us-east-1", "--latest"}, "--table is required"},
		{[]string{"restore", "--table", "t1x", "--latest"}, "--region is required"},
		{[]string{"restore", "--table", "t1x", "--region", "us-east-1"}, "exactly one of --to"},
		{[]string{"restore", "--table", "t1x", "--region", "us-east-1", "--latest", "--to", "-1h"}, "exactly one of --to"},
		{[]string{"restore", "--table", "t1x", "--region", "us-east-1", "--latest", "--tz", "Mars/Base"}, "not a time zone"},
		{[]string{"restore", "--table", "t1x", "--region", "us-east-1", "--latest", "--target", "t1x"}, "must differ"},
		{[]string{"restore", "--table", "arn:aws:s3:::bucket", "--latest"}, "not a DynamoDB table ARN"},
		{[]string{"restore", "--table", "t1x", "--region", "us-east-1", "--reconcile-only"}, "needs --target"},
		{[]string{"restore", "--table", "t1x", "--region", "us-east-1", "--latest"}, "needs --yes"},
	} {
		r := e.run(t, tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q lacks %q", tc.args, r.code, r.errOut, tc.want)
		}
	}
}

// TestRestoreCrossRegion: moto does not restore across regions, so a wire
// fake answers RestoreTableToPointInTime (creating the target in moto, so the
// wait and the reconciliation run for real) and the request is checked: the
// source ARN and an SSE override, as AWS requires across regions.
func TestRestoreCrossRegion(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true, RecoveryDays: 10, Items: 4, Tags: map[string]string{"team": "x"}})
	var req map[string]any
	e.proxy.Add(insightsOff())
	e.proxy.Add(&testaws.Rule{Op: "RestoreTableToPointInTime", Region: "eu-west-1", Respond: func(in map[string]any) map[string]any {
		req = in
		if err := e.seed.CreateTables(context.Background(), mgmt, "eu-west-1", []testaws.TableSpec{{Name: "orders-eu"}}); err != nil {
			t.Error(err)
		}
		return map[string]any{"TableDescription": map[string]any{"TableName": "orders-eu", "TableStatus": "CREATING",
			"TableArn": "arn:aws:dynamodb:eu-west-1:" + mgmt + ":table/orders-eu"}}
	}})
	r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "orders-eu", "--target-region", "eu-west-1",
		"--kms-key", "alias/restores", "--yes", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	if req["SourceTableArn"] != "arn:aws:dynamodb:us-east-1:"+mgmt+":table/orders" || req["SourceTableName"] != nil || req["UseLatestRestorableTime"] != true {
		t.Errorf("request: %v", req)
	}
	sse, _ := req["SSESpecificationOverride"].(map[string]any)
	if sse["Enabled"] != true || sse["SSEType"] != "KMS" || sse["KMSMasterKeyId"] != "alias/restores" {
		t.Errorf("SSE override: %v", sse)
	}
	res := decodeRestore(t, r)
	if res.Target.Region != "eu-west-1" || !strings.HasPrefix(res.Target.ARN, "arn:aws:dynamodb:eu-west-1:") {
		t.Errorf("target: %+v", res.Target)
	}
	got := readState(t, dynamodb.NewFromConfig(e.seed.Config(context.Background(), mgmt, "eu-west-1")), "orders-eu")
	if got.PITR != "ENABLED/10" || got.Tags["team"] != "x" || got.Tags[restore.TagRestoredFrom] == "" {
		t.Errorf("reconciled in the target region: %+v", got)
	}
}

func TestRestoreIndexOverrides(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true, Items: 2, GSI: true, LSI: true})
	var req map[string]any
	e.proxy.Add(&testaws.Rule{Op: "RestoreTableToPointInTime", Inspect: func(in map[string]any) { req = in }})
	if r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "o-none", "--without-indexes", "--yes", "--no-reconcile"); r.code != ExitOK {
		t.Fatalf("exit %d %s", r.code, r.errOut)
	}
	if g, l := req["GlobalSecondaryIndexOverride"], req["LocalSecondaryIndexOverride"]; fmt.Sprint(g) != "[]" || fmt.Sprint(l) != "[]" {
		t.Errorf("--without-indexes: GSI %v LSI %v, want empty overrides", g, l)
	}
	if r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "o-gsi", "--index", "by-gsk", "--yes", "--no-reconcile"); r.code != ExitOK {
		t.Fatalf("exit %d %s", r.code, r.errOut)
	}
	gsi, _ := req["GlobalSecondaryIndexOverride"].([]any)
	if len(gsi) != 1 || gsi[0].(map[string]any)["IndexName"] != "by-gsk" || fmt.Sprint(req["LocalSecondaryIndexOverride"]) != "[]" {
		t.Errorf("--index by-gsk: GSI %v LSI %v", req["GlobalSecondaryIndexOverride"], req["LocalSecondaryIndexOverride"])
	}
	if r := e.run(t, "restore", "--table", "orders", "--region", "us-east-1", "--latest", "--target", "o-bad", "--index", "nope", "--yes"); r.code != ExitUsage || !strings.Contains(r.errOut, "by-gsk") {
		t.Errorf("unknown index: exit %d %s", r.code, r.errOut)
	}
}
