package restore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	astypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

var testNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// richSource is a provisioned table with every setting a restore reconciles.
func richSource(f *fakeDB) {
	f.addTable("orders", func(d *ddbtypes.TableDescription) {
		d.BillingModeSummary = &ddbtypes.BillingModeSummary{BillingMode: ddbtypes.BillingModeProvisioned}
		d.DeletionProtectionEnabled = aws.Bool(true)
		d.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewImage}
		d.TableClassSummary = &ddbtypes.TableClassSummary{TableClass: ddbtypes.TableClassStandardInfrequentAccess}
		d.GlobalSecondaryIndexes = []ddbtypes.GlobalSecondaryIndexDescription{{IndexName: aws.String("by-x"), IndexSizeBytes: aws.Int64(10)}}
	})
	a := f.arn("orders")
	f.pitr["orders"] = 14
	f.ttl["orders"] = "exp"
	f.tags[a] = map[string]string{"team": "a", "aws:cloudformation:stack-name": "s"}
	f.policy[a] = fmt.Sprintf(`{"Resource":["%s","%s/index/*","%s-archive"]}`, a, a, a)
	f.ci["orders"] = true
	for _, id := range []string{"table/orders", "table/orders/index/by-x"} {
		f.targets = append(f.targets, astypes.ScalableTarget{ResourceId: aws.String(id), ScalableDimension: astypes.ScalableDimensionDynamoDBTableReadCapacityUnits, MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(10)})
	}
	f.pols = []astypes.ScalingPolicy{{ResourceId: aws.String("table/orders"), PolicyName: aws.String("p"), PolicyType: astypes.PolicyTypeTargetTrackingScaling}}
}

func testDeps(f *fakeDB, h History) Deps {
	return Deps{Source: f, Target: f, SourceScaling: f, TargetScaling: f, History: h, Now: func() time.Time { return testNow }}
}

func testOptions(mode Mode) Options {
	return Options{Partition: "aws", Account: "111111111111", Region: "us-east-1", Table: "orders", Mode: mode, Target: "orders-r",
		Wait: 2 * time.Second, Poll: time.Millisecond, Caller: "arn:aws:iam::111111111111:user/me", Args: "pitrguard restore"}
}

func itemsOf(res Result) map[string]Item {
	m := map[string]Item{}
	for _, it := range res.Reconciled {
		m[it.Setting] = it
	}
	return m
}

// sourceUntouched fails when any mutating call named the source.
func sourceUntouched(t *testing.T, f *fakeDB) {
	t.Helper()
	for _, m := range f.mutations() {
		if target := strings.Fields(m)[1]; target == "orders" || strings.HasPrefix(target, "table/orders/") || target == "table/orders" {
			t.Errorf("mutating call on the source: %s", m)
		}
	}
}

func TestRunLatestRestoresAndReconciles(t *testing.T) {
	f, h := newFake(), newHistory()
	richSource(f)
	var log bytes.Buffer
	d := testDeps(f, h)
	d.Log = &log
	res, err := Run(t.Context(), testOptions(Latest), d)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	for _, k := range []string{"pitr", "tags", "ttl", "deletion_protection", "stream", "table_class", "resource_policy", "contributor_insights", "auto_scaling"} {
		if it := itemsOf(res)[k]; it.Status != Applied {
			t.Errorf("%s: %+v", k, it)
		}
	}
	if len(res.Reconciled) != 9 || res.Status != StatusActive || res.ActiveAt == nil || res.RequestedAt == nil {
		t.Errorf("result: %+v", res)
	}
	// --latest records the point AWS restored to (issue 9 #7).
	if res.RestorePoint == nil || !res.RestorePoint.Equal(f.latest) {
		t.Errorf("restore point %v, want AWS's %v", res.RestorePoint, f.latest)
	}
	ta := f.arn("orders-r")
	if f.tags[ta][TagRestorePoint] != f.latest.Format(time.RFC3339) || f.tags[ta][TagRestoredFrom] != f.arn("orders") || f.tags[ta]["team"] != "a" {
		t.Errorf("target tags %v", f.tags[ta])
	}
	if _, ok := f.tags[ta]["aws:cloudformation:stack-name"]; ok {
		t.Error("an aws: tag was copied")
	}
	want := fmt.Sprintf(`{"Resource":["%s","%s/index/*","%s-archive"]}`, ta, ta, f.arn("orders"))
	if f.policy[ta] != want {
		t.Errorf("policy\n got %s\nwant %s", f.policy[ta], want)
	}
	if f.pitr["orders-r"] != 14 || f.ttl["orders-r"] != "exp" || !f.ci["orders-r"] {
		t.Errorf("pitr %d ttl %q ci %v", f.pitr["orders-r"], f.ttl["orders-r"], f.ci["orders-r"])
	}
	var ids []string
	for _, st := range f.targets {
		ids = append(ids, aws.ToString(st.ResourceId))
	}
	if !slices.Contains(ids, "table/orders-r") || !slices.Contains(ids, "table/orders-r/index/by-x") {
		t.Errorf("scalable targets %v", ids)
	}
	sourceUntouched(t, f)
	if h.runs[1] != RunCompleted || len(h.journal) != 10 || h.journal[0].Action != "restore" || h.journal[0].Result != "active" {
		t.Errorf("history: runs %v journal %+v", h.runs, h.journal)
	}
	var stored Result
	if err := json.Unmarshal(h.summaries[1], &stored); err != nil || stored.RestorePoint == nil || !stored.RestorePoint.Equal(f.latest) {
		t.Errorf("stored result: %v %v", stored.RestorePoint, err)
	}
	if !strings.Contains(log.String(), "Restore orders (us-east-1) to") {
		t.Errorf("log: %s", log.String())
	}
}

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "injected " + code}
}

// TestRunDocumentedErrors injects every error the AWS API reference documents
// for each call a restore makes (plus access denied and throttling), and
// checks each ends as a clear error, a failed setting, or a manual one — never
// a panic, a silent success, or a change to the source.
func TestRunDocumentedErrors(t *testing.T) {
	ddb := func(code string) error {
		m := aws.String("injected " + code)
		switch code {
		case "ResourceNotFoundException":
			return &ddbtypes.ResourceNotFoundException{Message: m}
		case "InternalServerError":
			return &ddbtypes.InternalServerError{Message: m}
		case "InvalidEndpointException":
			return &ddbtypes.InvalidEndpointException{Message: m}
		case "TableNotFoundException":
			return &ddbtypes.TableNotFoundException{Message: m}
		case "PointInTimeRecoveryUnavailableException":
			return &ddbtypes.PointInTimeRecoveryUnavailableException{Message: m}
		case "InvalidRestoreTimeException":
			return &ddbtypes.InvalidRestoreTimeException{Message: m}
		case "TableAlreadyExistsException":
			return &ddbtypes.TableAlreadyExistsException{Message: m}
		case "TableInUseException":
			return &ddbtypes.TableInUseException{Message: m}
		case "LimitExceededException":
			return &ddbtypes.LimitExceededException{Message: m}
		case "BackupInUseException":
			return &ddbtypes.BackupInUseException{Message: m}
		case "BackupNotFoundException":
			return &ddbtypes.BackupNotFoundException{Message: m}
		case "ContinuousBackupsUnavailableException":
			return &ddbtypes.ContinuousBackupsUnavailableException{Message: m}
		case "ResourceInUseException":
			return &ddbtypes.ResourceInUseException{Message: m}
		case "PolicyNotFoundException":
			return &ddbtypes.PolicyNotFoundException{Message: m}
		}
		return apiErr(code) // AccessDeniedException, ThrottlingException, Application Auto Scaling errors
	}
	common := []string{"AccessDeniedException", "ThrottlingException"}
	type outcome int
	const (
		fails     outcome = iota // Run returns an error naming the code; nothing restored
		failedSet                // the setting is failed with the code; exit 1 (ErrIncomplete)
		manualSet                // the setting is manual with the code; exit 1 (ErrIncomplete)
		notNeeded                // the error means "none": not_needed
	)
	for _, tc := range []struct {
		key     string // "Op" or "Op table"
		mode    Mode
		codes   []string
		want    outcome
		setting string
	}{
		{"DescribeTable orders", Latest, []string{"InternalServerError", "InvalidEndpointException"}, fails, ""},
		{"DescribeContinuousBackups orders", Latest, []string{"TableNotFoundException", "InternalServerError"}, fails, ""},
		{"RestoreTableToPointInTime", Latest, []string{"PointInTimeRecoveryUnavailableException", "InvalidRestoreTimeException", "TableAlreadyExistsException",
			"TableInUseException", "TableNotFoundException", "LimitExceededException", "InternalServerError", "InvalidEndpointException"}, fails, ""},
		{"RestoreTableFromBackup", Deleted, []string{"BackupInUseException", "BackupNotFoundException", "TableAlreadyExistsException", "TableInUseException",
			"LimitExceededException", "InternalServerError"}, fails, ""},
		{"ListBackups", Deleted, []string{"InternalServerError"}, fails, ""},
		{"DescribeBackup", Deleted, []string{"BackupNotFoundException", "InternalServerError"}, fails, ""},
		{"DescribeTable orders-r", Latest, []string{"InternalServerError"}, fails, ""},
		{"ListTagsOfResource orders", Latest, []string{"ResourceNotFoundException", "InternalServerError"}, manualSet, "tags"},
		{"DescribeTimeToLive orders", Latest, []string{"ResourceNotFoundException", "InternalServerError"}, manualSet, "ttl"},
		{"GetResourcePolicy orders", Latest, []string{"InternalServerError"}, manualSet, "resource_policy"},
		{"GetResourcePolicy orders", Latest, []string{"PolicyNotFoundException", "ResourceNotFoundException"}, notNeeded, "resource_policy"},
		{"DescribeContributorInsights orders", Latest, []string{"ResourceNotFoundException", "InternalServerError"}, manualSet, "contributor_insights"},
		{"DescribeScalableTargets", Latest, []string{"ConcurrentUpdateException", "InternalServiceException", "InvalidNextTokenException", "ValidationException"}, manualSet, "auto_scaling"},
		{"DescribeScalingPolicies", Latest, []string{"ConcurrentUpdateException", "FailedResourceAccessException", "InternalServiceException", "InvalidNextTokenException", "ValidationException"}, manualSet, "auto_scaling"},
		{"DescribeContinuousBackups orders-r", Latest, []string{"TableNotFoundException", "InternalServerError"}, failedSet, "pitr"},
		{"DescribeTimeToLive orders-r", Latest, []string{"ResourceNotFoundException", "InternalServerError"}, failedSet, "ttl"},
		{"GetResourcePolicy orders-r", Latest, []string{"InternalServerError"}, failedSet, "resource_policy"},
		{"UpdateContinuousBackups", Latest, []string{"TableNotFoundException", "ContinuousBackupsUnavailableException", "InternalServerError"}, failedSet, "pitr"},
		{"TagResource", Latest, []string{"LimitExceededException", "ResourceInUseException", "ResourceNotFoundException", "InternalServerError"}, failedSet, "tags"},
		{"UpdateTimeToLive", Latest, []string{"LimitExceededException", "ResourceInUseException", "ResourceNotFoundException", "InternalServerError"}, failedSet, "ttl"},
		{"UpdateTable", Latest, []string{"LimitExceededException", "ResourceInUseException", "ResourceNotFoundException", "InternalServerError"}, failedSet, "deletion_protection"},
		{"PutResourcePolicy", Latest, []string{"LimitExceededException", "PolicyNotFoundException", "ResourceInUseException", "ResourceNotFoundException", "InternalServerError"}, failedSet, "resource_policy"},
		{"UpdateContributorInsights", Latest, []string{"ResourceNotFoundException", "InternalServerError"}, failedSet, "contributor_insights"},
		{"RegisterScalableTarget", Latest, []string{"ConcurrentUpdateException", "InternalServiceException", "LimitExceededException", "TooManyTagsException", "ValidationException"}, failedSet, "auto_scaling"},
		{"PutScalingPolicy", Latest, []string{"ConcurrentUpdateException", "FailedResourceAccessException", "InternalServiceException", "LimitExceededException", "ObjectNotFoundException", "ValidationException"}, failedSet, "auto_scaling"},
	} {
		codes := tc.codes
		if tc.want != notNeeded {
			codes = append(slices.Clone(codes), common...)
		}
		for _, code := range codes {
			t.Run(tc.key+"/"+code, func(t *testing.T) {
				f, h := newFake(), newHistory()
				o := testOptions(tc.mode)
				if tc.mode == Deleted {
					deletedSource(f, h)
					o.Indexes = []string{"by-x"}
				} else {
					richSource(f)
				}
				f.errs[tc.key] = ddb(code)
				res, err := Run(t.Context(), o, testDeps(f, h))
				sourceUntouched(t, f)
				it := itemsOf(res)[tc.setting]
				switch tc.want {
				case fails:
					if err == nil || !strings.Contains(err.Error(), code) {
						t.Fatalf("err = %v, want one naming %s", err, code)
					}
				case failedSet, manualSet:
					st := map[outcome]string{failedSet: Failed, manualSet: Manual}[tc.want]
					if !errors.Is(err, ErrIncomplete) || it.Status != st || !strings.Contains(it.Detail, code) {
						t.Fatalf("err = %v; %s = %+v, want %s naming %s", err, tc.setting, it, st, code)
					}
					if h.runs[1] != RunCompletedWithFailures {
						t.Errorf("recorded %v", h.runs)
					}
				case notNeeded:
					if err != nil || it.Status != NotNeeded {
						t.Fatalf("err = %v; %s = %+v, want not_needed", err, tc.setting, it)
					}
				}
			})
		}
	}
}

// deletedSource is a deleted "orders" with a SYSTEM backup and one read audit snapshot.
func deletedSource(f *fakeDB, h *fakeHistory) {
	a := f.arn("orders")
	bk := a + "/backup/01700000000000-00000000"
	created := testNow.Add(-24 * time.Hour)
	f.backups = []ddbtypes.BackupSummary{{TableName: aws.String("orders"), BackupArn: aws.String(bk), BackupName: aws.String("orders$DeletedTableBackup"),
		BackupType: ddbtypes.BackupTypeSystem, BackupStatus: ddbtypes.BackupStatusAvailable, BackupCreationDateTime: aws.Time(created), BackupSizeBytes: aws.Int64(100)}}
	f.bkDesc[bk] = &ddbtypes.BackupDescription{SourceTableFeatureDetails: &ddbtypes.SourceTableFeatureDetails{
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndexInfo{{IndexName: aws.String("by-x")}, {IndexName: aws.String("by-y")}}}}
	h.snapshots = append(h.snapshots, snapshot(1, func(tr *report.TableResult) {}))
}

func snapshot(run int64, mod func(*report.TableResult)) store.TableRecord {
	days := 21
	tr := report.TableResult{Account: "111111111111", Region: "us-east-1", Name: "orders", Status: "ACTIVE", TableClass: "STANDARD",
		DeletionProtection: true, Tags: map[string]string{"env": "prod"}, PITR: report.PITRResult{Status: "ENABLED", RecoveryPeriodDays: &days}}
	mod(&tr)
	b, _ := json.Marshal(tr)
	return store.TableRecord{RunID: run, Account: tr.Account, Region: tr.Region, Name: tr.Name, Facts: b, SeenAt: testNow.Add(-time.Duration(100-run) * time.Hour)}
}
