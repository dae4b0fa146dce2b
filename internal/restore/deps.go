package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pitrguard/pitrguard/internal/pricing"
	"github.com/pitrguard/pitrguard/internal/store"
)

// Reader is the read-only part of the DynamoDB API a restore uses. The
// source table is only ever given a Reader, so nothing here can change it.
type Reader interface {
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeContinuousBackups(context.Context, *dynamodb.DescribeContinuousBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error)
	ListBackups(context.Context, *dynamodb.ListBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.ListBackupsOutput, error)
	DescribeBackup(context.Context, *dynamodb.DescribeBackupInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeBackupOutput, error)
	ListTagsOfResource(context.Context, *dynamodb.ListTagsOfResourceInput, ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error)
	DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	GetResourcePolicy(context.Context, *dynamodb.GetResourcePolicyInput, ...func(*dynamodb.Options)) (*dynamodb.GetResourcePolicyOutput, error)
	DescribeContributorInsights(context.Context, *dynamodb.DescribeContributorInsightsInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeContributorInsightsOutput, error)
}

// Writer is the mutating part of the DynamoDB API a restore uses, only ever
// pointed at the new table.
type Writer interface {
	RestoreTableToPointInTime(context.Context, *dynamodb.RestoreTableToPointInTimeInput, ...func(*dynamodb.Options)) (*dynamodb.RestoreTableToPointInTimeOutput, error)
	RestoreTableFromBackup(context.Context, *dynamodb.RestoreTableFromBackupInput, ...func(*dynamodb.Options)) (*dynamodb.RestoreTableFromBackupOutput, error)
	UpdateContinuousBackups(context.Context, *dynamodb.UpdateContinuousBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error)
	TagResource(context.Context, *dynamodb.TagResourceInput, ...func(*dynamodb.Options)) (*dynamodb.TagResourceOutput, error)
	UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	UpdateTable(context.Context, *dynamodb.UpdateTableInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error)
	PutResourcePolicy(context.Context, *dynamodb.PutResourcePolicyInput, ...func(*dynamodb.Options)) (*dynamodb.PutResourcePolicyOutput, error)
	UpdateContributorInsights(context.Context, *dynamodb.UpdateContributorInsightsInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateContributorInsightsOutput, error)
}

// DynamoDB is what a restore needs in the target's region.
type DynamoDB interface {
	Reader
	Writer
}

// ScalingReader reads Application Auto Scaling targets and policies.
type ScalingReader interface {
	DescribeScalableTargets(context.Context, *applicationautoscaling.DescribeScalableTargetsInput, ...func(*applicationautoscaling.Options)) (*applicationautoscaling.DescribeScalableTargetsOutput, error)
	DescribeScalingPolicies(context.Context, *applicationautoscaling.DescribeScalingPoliciesInput, ...func(*applicationautoscaling.Options)) (*applicationautoscaling.DescribeScalingPoliciesOutput, error)
}

// ScalingWriter registers auto scaling on the new table.
type ScalingWriter interface {
	RegisterScalableTarget(context.Context, *applicationautoscaling.RegisterScalableTargetInput, ...func(*applicationautoscaling.Options)) (*applicationautoscaling.RegisterScalableTargetOutput, error)
	PutScalingPolicy(context.Context, *applicationautoscaling.PutScalingPolicyInput, ...func(*applicationautoscaling.Options)) (*applicationautoscaling.PutScalingPolicyOutput, error)
}

// History is the part of the history database a restore uses: the audit
// snapshots of a deleted table, and the record of the restore itself.
type History interface {
	TableSnapshots(ctx context.Context, account, region, name string, limit int) ([]store.TableRecord, error)
	BeginRun(ctx context.Context, kind, caller, args string, started time.Time) (int64, error)
	AddJournal(ctx context.Context, e store.JournalEntry) error
	FinishRun(ctx context.Context, runID int64, status string, coverage bool, summary, errs any, finished time.Time) error
	Path() string
}

var _ History = (*store.SQLite)(nil)

// Deps are what Run talks to. Source and Target are DynamoDB clients in the
// source's and the target's region (the same client when they are equal).
type Deps struct {
	Source        Reader
	Target        DynamoDB
	SourceScaling ScalingReader // nil: auto scaling is reported as manual
	TargetScaling ScalingWriter
	History       History // nil: --no-store
	Prices        *pricing.Table
	// Confirm is asked once, before the first change, with what will be done.
	// It returns false to stop (nothing is changed then).
	Confirm func(ctx context.Context, p Plan) (bool, error)
	// Log receives progress lines (stderr); nil discards them.
	Log io.Writer
	// Tick is told the elapsed time and status after each poll of the new table.
	Tick func(elapsed time.Duration, status string)
	// Now is the clock of the records (default time.Now).
	Now func() time.Time
}

// Plan is what the user confirms.
type Plan struct {
	// Summary is one line: what is restored, where, and what it costs.
	Summary string
	// Changes lists the changes to an existing table (--reconcile-only).
	Changes []string
}

// UsageError is a request that cannot be carried out as given (exit 2):
// a time outside the window, a target that exists or is not a restore of the source.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, args ...any) error { return &UsageError{Err: fmt.Errorf(format, args...)} }

// outcome is an error of a known kind (ErrTimeout, ErrIncomplete) whose
// message says what happened without the kind's own words.
type outcome struct {
	kind error
	msg  string
}

func (e *outcome) Error() string { return e.msg }
func (e *outcome) Unwrap() error { return e.kind }

func outcomef(kind error, format string, args ...any) error {
	return &outcome{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// ErrTimeout says the table was not ACTIVE within the wait; the restore goes on in AWS.
var ErrTimeout = errors.New("timed out waiting for the table to become ACTIVE")

// ErrAborted says the user declined; nothing was changed.
var ErrAborted = errors.New("aborted")

// ErrIncomplete says the table is restored but some settings failed or could
// not be read; the result lists them.
var ErrIncomplete = errors.New("settings incomplete")
