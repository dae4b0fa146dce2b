package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/store"
)

// fakeDB is an in-memory DynamoDB (one account and region) and Application
// Auto Scaling, able to fail any call with any error.
type fakeDB struct {
	mu      sync.Mutex
	account string
	region  string
	tables  map[string]*ddbtypes.TableDescription
	pitr    map[string]int // days; absent = off
	ttl     map[string]string
	tags    map[string]map[string]string // by ARN
	policy  map[string]string            // by ARN
	ci      map[string]bool
	backups []ddbtypes.BackupSummary
	bkDesc  map[string]*ddbtypes.BackupDescription
	targets []astypes.ScalableTarget
	pols    []astypes.ScalingPolicy
	// latest is the point a --latest restore uses (RestoreSummary.RestoreDateTime).
	latest time.Time
	// errs fails calls: key "Op" or "Op table".
	errs  map[string]error
	calls []string
	// tagPages splits ListTagsOfResource answers; repeatToken makes it loop.
	listBackupsToken string
	// creating is a table that stays CREATING.
	creating string
}

func newFake() *fakeDB {
	return &fakeDB{account: "111111111111", region: "us-east-1", tables: map[string]*ddbtypes.TableDescription{},
		pitr: map[string]int{}, ttl: map[string]string{}, tags: map[string]map[string]string{}, policy: map[string]string{},
		ci: map[string]bool{}, bkDesc: map[string]*ddbtypes.BackupDescription{}, errs: map[string]error{},
		latest: time.Date(2026, 11, 24, 11, 55, 0, 0, time.UTC)}
}

func (f *fakeDB) arn(name string) string { return tableARN("aws", f.region, f.account, name) }

func (f *fakeDB) addTable(name string, mod func(*ddbtypes.TableDescription)) {
	d := &ddbtypes.TableDescription{TableName: aws.String(name), TableArn: aws.String(f.arn(name)), TableStatus: ddbtypes.TableStatusActive,
		BillingModeSummary: &ddbtypes.BillingModeSummary{BillingMode: ddbtypes.BillingModePayPerRequest}, TableSizeBytes: aws.Int64(1 << 30)}
	if mod != nil {
		mod(d)
	}
	f.tables[name] = d
}

// call records the call and returns its injected error, if any.
func (f *fakeDB) call(op, table string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	table = strings.TrimPrefix(table, "arn:aws:dynamodb:"+f.region+":"+f.account+":table/")
	f.calls = append(f.calls, op+" "+table)
	if err, ok := f.errs[op+" "+table]; ok {
		return err
	}
	return f.errs[op]
}

// mutations lists the mutating calls made, as "Op table".
func (f *fakeDB) mutations() []string {
	var out []string
	for _, c := range f.calls {
		op := strings.Fields(c)[0]
		if !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "List") && !strings.HasPrefix(op, "Get") {
			out = append(out, c)
		}
	}
	return out
}

func notFound(name string) error {
	return &ddbtypes.ResourceNotFoundException{Message: aws.String("Requested resource not found: Table: " + name + " not found")}
}

func (f *fakeDB) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	name := aws.ToString(in.TableName)
	if err := f.call("DescribeTable", name); err != nil {
		return nil, err
	}
	d, ok := f.tables[name]
	if !ok {
		return nil, notFound(name)
	}
	c := *d
	if name == f.creating {
		c.TableStatus = ddbtypes.TableStatusCreating
	}
	return &dynamodb.DescribeTableOutput{Table: &c}, nil
}

func (f *fakeDB) DescribeContinuousBackups(_ context.Context, in *dynamodb.DescribeContinuousBackupsInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	name := aws.ToString(in.TableName)
	if err := f.call("DescribeContinuousBackups", name); err != nil {
		return nil, err
	}
	if _, ok := f.tables[name]; !ok {
		return nil, &ddbtypes.TableNotFoundException{Message: aws.String(name)}
	}
	pd := &ddbtypes.PointInTimeRecoveryDescription{PointInTimeRecoveryStatus: ddbtypes.PointInTimeRecoveryStatusDisabled}
	if days, ok := f.pitr[name]; ok {
		pd = &ddbtypes.PointInTimeRecoveryDescription{PointInTimeRecoveryStatus: ddbtypes.PointInTimeRecoveryStatusEnabled, RecoveryPeriodInDays: aws.Int32(int32(days)),
			EarliestRestorableDateTime: aws.Time(f.latest.Add(-time.Duration(days) * 24 * time.Hour)), LatestRestorableDateTime: aws.Time(f.latest.Add(-time.Minute))}
	}
	return &dynamodb.DescribeContinuousBackupsOutput{ContinuousBackupsDescription: &ddbtypes.ContinuousBackupsDescription{
		ContinuousBackupsStatus: ddbtypes.ContinuousBackupsStatusEnabled, PointInTimeRecoveryDescription: pd}}, nil
}

func (f *fakeDB) ListBackups(_ context.Context, in *dynamodb.ListBackupsInput, _ ...func(*dynamodb.Options)) (*dynamodb.ListBackupsOutput, error) {
	if err := f.call("ListBackups", aws.ToString(in.TableName)); err != nil {
		return nil, err
	}
	out := &dynamodb.ListBackupsOutput{}
	for _, b := range f.backups {
		if aws.ToString(b.TableName) == aws.ToString(in.TableName) && (in.BackupType == ddbtypes.BackupTypeFilterAll || string(b.BackupType) == string(in.BackupType)) {
			out.BackupSummaries = append(out.BackupSummaries, b)
		}
	}
	if f.listBackupsToken != "" {
		out.LastEvaluatedBackupArn = aws.String(f.listBackupsToken)
	}
	return out, nil
}

func (f *fakeDB) DescribeBackup(_ context.Context, in *dynamodb.DescribeBackupInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeBackupOutput, error) {
	if err := f.call("DescribeBackup", ""); err != nil {
		return nil, err
	}
	d, ok := f.bkDesc[aws.ToString(in.BackupArn)]
	if !ok {
		return nil, &ddbtypes.BackupNotFoundException{Message: aws.String("no backup")}
	}
	return &dynamodb.DescribeBackupOutput{BackupDescription: d}, nil
}

func (f *fakeDB) ListTagsOfResource(_ context.Context, in *dynamodb.ListTagsOfResourceInput, _ ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error) {
	if err := f.call("ListTagsOfResource", aws.ToString(in.ResourceArn)); err != nil {
		return nil, err
	}
	out := &dynamodb.ListTagsOfResourceOutput{}
	keys := make([]string, 0)
	for k := range f.tags[aws.ToString(in.ResourceArn)] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out.Tags = append(out.Tags, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(f.tags[aws.ToString(in.ResourceArn)][k])})
	}
	return out, nil
}

func (f *fakeDB) DescribeTimeToLive(_ context.Context, in *dynamodb.DescribeTimeToLiveInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error) {
	name := aws.ToString(in.TableName)
	if err := f.call("DescribeTimeToLive", name); err != nil {
		return nil, err
	}
	d := &ddbtypes.TimeToLiveDescription{TimeToLiveStatus: ddbtypes.TimeToLiveStatusDisabled}
	if a, ok := f.ttl[name]; ok {
		d = &ddbtypes.TimeToLiveDescription{TimeToLiveStatus: ddbtypes.TimeToLiveStatusEnabled, AttributeName: aws.String(a)}
	}
	return &dynamodb.DescribeTimeToLiveOutput{TimeToLiveDescription: d}, nil
}

func (f *fakeDB) GetResourcePolicy(_ context.Context, in *dynamodb.GetResourcePolicyInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetResourcePolicyOutput, error) {
	if err := f.call("GetResourcePolicy", aws.ToString(in.ResourceArn)); err != nil {
		return nil, err
	}
	p, ok := f.policy[aws.ToString(in.ResourceArn)]
	if !ok {
		return nil, &ddbtypes.PolicyNotFoundException{Message: aws.String("no policy")}
	}
	return &dynamodb.GetResourcePolicyOutput{Policy: aws.String(p), RevisionId: aws.String("1")}, nil
}

func (f *fakeDB) DescribeContributorInsights(_ context.Context, in *dynamodb.DescribeContributorInsightsInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeContributorInsightsOutput, error) {
	name := aws.ToString(in.TableName)
	if err := f.call("DescribeContributorInsights", name); err != nil {
		return nil, err
	}
	st := ddbtypes.ContributorInsightsStatusDisabled
	if f.ci[name] {
		st = ddbtypes.ContributorInsightsStatusEnabled
	}
	return &dynamodb.DescribeContributorInsightsOutput{TableName: in.TableName, ContributorInsightsStatus: st}, nil
}

func (f *fakeDB) restored(target string, summary *ddbtypes.RestoreSummary, src *ddbtypes.TableDescription) *ddbtypes.TableDescription {
	f.addTable(target, func(d *ddbtypes.TableDescription) {
		d.RestoreSummary = summary
		if src != nil {
			d.BillingModeSummary = src.BillingModeSummary
		}
	})
	return f.tables[target]
}

func (f *fakeDB) RestoreTableToPointInTime(_ context.Context, in *dynamodb.RestoreTableToPointInTimeInput, _ ...func(*dynamodb.Options)) (*dynamodb.RestoreTableToPointInTimeOutput, error) {
	target := aws.ToString(in.TargetTableName)
	if err := f.call("RestoreTableToPointInTime", target); err != nil {
		return nil, err
	}
	srcName := aws.ToString(in.SourceTableName)
	if srcName == "" {
		srcName = aws.ToString(in.SourceTableArn)[strings.LastIndex(aws.ToString(in.SourceTableArn), "/")+1:]
	}
	src, ok := f.tables[srcName]
	switch {
	case !ok:
		return nil, &ddbtypes.TableNotFoundException{Message: aws.String(srcName)}
	case f.tables[target] != nil:
		return nil, &ddbtypes.TableAlreadyExistsException{Message: aws.String(target)}
	}
	point := f.latest
	if in.RestoreDateTime != nil {
		point = *in.RestoreDateTime
	}
	d := f.restored(target, &ddbtypes.RestoreSummary{SourceTableArn: src.TableArn, RestoreDateTime: aws.Time(point), RestoreInProgress: aws.Bool(false)}, src)
	return &dynamodb.RestoreTableToPointInTimeOutput{TableDescription: d}, nil
}

func (f *fakeDB) RestoreTableFromBackup(_ context.Context, in *dynamodb.RestoreTableFromBackupInput, _ ...func(*dynamodb.Options)) (*dynamodb.RestoreTableFromBackupOutput, error) {
	target := aws.ToString(in.TargetTableName)
	if err := f.call("RestoreTableFromBackup", target); err != nil {
		return nil, err
	}
	bk := aws.ToString(in.BackupArn)
	src := bk[:strings.Index(bk, "/backup/")]
	d := f.restored(target, &ddbtypes.RestoreSummary{SourceBackupArn: in.BackupArn, SourceTableArn: aws.String(src), RestoreDateTime: aws.Time(f.latest), RestoreInProgress: aws.Bool(false)}, nil)
	return &dynamodb.RestoreTableFromBackupOutput{TableDescription: d}, nil
}

func (f *fakeDB) UpdateContinuousBackups(_ context.Context, in *dynamodb.UpdateContinuousBackupsInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error) {
	name := aws.ToString(in.TableName)
	if err := f.call("UpdateContinuousBackups", name); err != nil {
		return nil, err
	}
	f.pitr[name] = int(aws.ToInt32(in.PointInTimeRecoverySpecification.RecoveryPeriodInDays))
	return &dynamodb.UpdateContinuousBackupsOutput{}, nil
}

func (f *fakeDB) TagResource(_ context.Context, in *dynamodb.TagResourceInput, _ ...func(*dynamodb.Options)) (*dynamodb.TagResourceOutput, error) {
	a := aws.ToString(in.ResourceArn)
	if err := f.call("TagResource", a); err != nil {
		return nil, err
	}
	if f.tags[a] == nil {
		f.tags[a] = map[string]string{}
	}
	for _, t := range in.Tags {
		f.tags[a][aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return &dynamodb.TagResourceOutput{}, nil
}

func (f *fakeDB) UpdateTimeToLive(_ context.Context, in *dynamodb.UpdateTimeToLiveInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	name := aws.ToString(in.TableName)
	if err := f.call("UpdateTimeToLive", name); err != nil {
		return nil, err
	}
	if _, ok := f.ttl[name]; ok {
		return nil, errors.New("ValidationException: TimeToLive is already enabled")
	}
	f.ttl[name] = aws.ToString(in.TimeToLiveSpecification.AttributeName)
	return &dynamodb.UpdateTimeToLiveOutput{}, nil
}

func (f *fakeDB) UpdateTable(_ context.Context, in *dynamodb.UpdateTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error) {
	name := aws.ToString(in.TableName)
	if err := f.call("UpdateTable", name); err != nil {
		return nil, err
	}
	d := f.tables[name]
	if in.DeletionProtectionEnabled != nil {
		d.DeletionProtectionEnabled = in.DeletionProtectionEnabled
	}
	if in.StreamSpecification != nil {
		d.StreamSpecification = in.StreamSpecification
	}
	if in.TableClass != "" {
		d.TableClassSummary = &ddbtypes.TableClassSummary{TableClass: in.TableClass}
	}
	return &dynamodb.UpdateTableOutput{}, nil
}

func (f *fakeDB) PutResourcePolicy(_ context.Context, in *dynamodb.PutResourcePolicyInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutResourcePolicyOutput, error) {
	if err := f.call("PutResourcePolicy", aws.ToString(in.ResourceArn)); err != nil {
		return nil, err
	}
	f.policy[aws.ToString(in.ResourceArn)] = aws.ToString(in.Policy)
	return &dynamodb.PutResourcePolicyOutput{}, nil
}

func (f *fakeDB) UpdateContributorInsights(_ context.Context, in *dynamodb.UpdateContributorInsightsInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateContributorInsightsOutput, error) {
	if err := f.call("UpdateContributorInsights", aws.ToString(in.TableName)); err != nil {
		return nil, err
	}
	f.ci[aws.ToString(in.TableName)] = true
	return &dynamodb.UpdateContributorInsightsOutput{}, nil
}

func (f *fakeDB) DescribeScalableTargets(_ context.Context, in *applicationautoscaling.DescribeScalableTargetsInput, _ ...func(*applicationautoscaling.Options)) (*applicationautoscaling.DescribeScalableTargetsOutput, error) {
	if err := f.call("DescribeScalableTargets", ""); err != nil {
		return nil, err
	}
	out := &applicationautoscaling.DescribeScalableTargetsOutput{}
	for _, t := range f.targets {
		for _, id := range in.ResourceIds {
			if aws.ToString(t.ResourceId) == id {
				out.ScalableTargets = append(out.ScalableTargets, t)
			}
		}
	}
	return out, nil
}

func (f *fakeDB) DescribeScalingPolicies(_ context.Context, in *applicationautoscaling.DescribeScalingPoliciesInput, _ ...func(*applicationautoscaling.Options)) (*applicationautoscaling.DescribeScalingPoliciesOutput, error) {
	if err := f.call("DescribeScalingPolicies", ""); err != nil {
		return nil, err
	}
	out := &applicationautoscaling.DescribeScalingPoliciesOutput{}
	for _, p := range f.pols {
		if aws.ToString(p.ResourceId) == aws.ToString(in.ResourceId) {
			out.ScalingPolicies = append(out.ScalingPolicies, p)
		}
	}
	return out, nil
}

func (f *fakeDB) RegisterScalableTarget(_ context.Context, in *applicationautoscaling.RegisterScalableTargetInput, _ ...func(*applicationautoscaling.Options)) (*applicationautoscaling.RegisterScalableTargetOutput, error) {
	if err := f.call("RegisterScalableTarget", aws.ToString(in.ResourceId)); err != nil {
		return nil, err
	}
	f.targets = append(f.targets, astypes.ScalableTarget{ResourceId: in.ResourceId, ScalableDimension: in.ScalableDimension, MinCapacity: in.MinCapacity, MaxCapacity: in.MaxCapacity})
	return &applicationautoscaling.RegisterScalableTargetOutput{}, nil
}

func (f *fakeDB) PutScalingPolicy(_ context.Context, in *applicationautoscaling.PutScalingPolicyInput, _ ...func(*applicationautoscaling.Options)) (*applicationautoscaling.PutScalingPolicyOutput, error) {
	if err := f.call("PutScalingPolicy", aws.ToString(in.ResourceId)); err != nil {
		return nil, err
	}
	f.pols = append(f.pols, astypes.ScalingPolicy{ResourceId: in.ResourceId, PolicyName: in.PolicyName})
	return &applicationautoscaling.PutScalingPolicyOutput{}, nil
}

var (
	_ DynamoDB      = (*fakeDB)(nil)
	_ ScalingReader = (*fakeDB)(nil)
	_ ScalingWriter = (*fakeDB)(nil)
)

// fakeHistory is an in-memory History.
type fakeHistory struct {
	snapshots []store.TableRecord
	runs      map[int64]string // id → status ("running" until finished)
	summaries map[int64]json.RawMessage
	journal   []store.JournalEntry
	failBegin error
}

func newHistory() *fakeHistory {
	return &fakeHistory{runs: map[int64]string{}, summaries: map[int64]json.RawMessage{}}
}

func (h *fakeHistory) TableSnapshots(_ context.Context, account, region, name string, limit int) ([]store.TableRecord, error) {
	var out []store.TableRecord
	for _, r := range h.snapshots {
		if r.Account == account && r.Region == region && r.Name == name && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (h *fakeHistory) BeginRun(_ context.Context, kind, _, _ string, _ time.Time) (int64, error) {
	if h.failBegin != nil {
		return 0, h.failBegin
	}
	if kind != "restore" {
		return 0, fmt.Errorf("kind %s", kind)
	}
	id := int64(len(h.runs) + 1)
	h.runs[id] = "running"
	return id, nil
}

func (h *fakeHistory) AddJournal(_ context.Context, e store.JournalEntry) error {
	h.journal = append(h.journal, e)
	return nil
}

func (h *fakeHistory) FinishRun(_ context.Context, id int64, status string, _ bool, summary, _ any, _ time.Time) error {
	h.runs[id] = status
	b, err := json.Marshal(summary)
	h.summaries[id] = b
	return err
}

func (h *fakeHistory) Path() string { return "/fake/history.db" }
