package events

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/remediate"
)

// enable closes a table's gap through remediate's plan → apply → read-back,
// so the event handler changes tables exactly the way `pitrguard enable`
// does. This adapter is the only place that knows remediate's API.
func (h *Handler) enable(ctx context.Context, db DynamoDB, ev Event, t *model.Table, r policy.Result, o *Outcome) {
	plan := remediate.NewPlan([]audit.Entry{{Table: t, Eval: r}}, remediate.Options{}, h.o.Now())
	if len(plan.Actions) != 1 {
		reason := "nothing to plan"
		if len(plan.Skipped) > 0 {
			reason = plan.Skipped[0].Reason
		}
		o.Result, o.Message = ResultFailed, "remediate planned no action: "+reason
		return
	}
	o.Action = plan.Actions[0].Action
	wait := max(time.Until(h.deadline(ctx)), 0)
	var entry *remediate.JournalEntry
	remediate.Apply(ctx, plan, func(context.Context, string, string) (remediate.TableWriter, error) {
		return &cachedFirstRead{DynamoDB: db, pitr: t.PITR}, nil
	}, remediate.ApplyOptions{Wait: wait, Concurrency: 1, Backoff: h.o.Backoff, Now: time.Now,
		Journal: func(e remediate.JournalEntry) { entry = &e }})
	a := plan.Actions[0]
	if entry != nil && entry.After != nil {
		o.After = entry.After
	}
	switch a.Result {
	case remediate.Applied:
		o.Result = ResultApplied
		o.Message = fmt.Sprintf("%s: PITR %s → %s (tier %s), read back", a.Action, describe(*o.Before), describe(*o.After), r.Tier.Name)
	case remediate.AlreadyCompliant:
		o.Result, o.Message = ResultAlreadyCompliant, "already compliant when re-checked"
	case remediate.Pending:
		if strings.HasPrefix(a.Error, "ContinuousBackupsUnavailableException") {
			o.After = o.Before
			h.later(ctx, ev, o, "AWS is still enabling backups on the new table (ContinuousBackupsUnavailableException)")
			return
		}
		o.Result, o.Message = ResultFailed, a.Error
	default:
		o.Result, o.Message = ResultFailed, a.Error
	}
}

// cachedFirstRead saves the steady case two DescribeContinuousBackups calls:
//   - remediate's first read (its re-check before acting) is answered with the
//     state the handler read a moment ago;
//   - the read-back after a successful UpdateContinuousBackups is answered with
//     that call's own ContinuousBackupsDescription — AWS's statement of the new
//     state — but only when it says ENABLED with exactly the window asked for.
//     Anything else (no description, ENABLING, another window) falls through to
//     a real DescribeContinuousBackups, and so do all later reads.
//
// So a steady CreateTable costs DescribeTable, DescribeContinuousBackups,
// ListTagsOfResource and UpdateContinuousBackups: 4 calls.
type cachedFirstRead struct {
	DynamoDB
	pitr model.PITR
	used bool
	// confirmed is the update response's description when it confirms the
	// requested state, until the read-back consumes it.
	confirmed *ddbtypes.ContinuousBackupsDescription
}

func (c *cachedFirstRead) DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	if d := c.confirmed; d != nil {
		c.confirmed = nil
		return &dynamodb.DescribeContinuousBackupsOutput{ContinuousBackupsDescription: d}, nil
	}
	if c.used || !c.pitr.Known {
		c.used = true
		return c.DynamoDB.DescribeContinuousBackups(ctx, in, opts...)
	}
	c.used = true
	status := ddbtypes.PointInTimeRecoveryStatusDisabled
	var days *int32
	if c.pitr.Enabled {
		status, days = ddbtypes.PointInTimeRecoveryStatusEnabled, aws.Int32(int32(c.pitr.RecoveryPeriodDays))
	}
	return &dynamodb.DescribeContinuousBackupsOutput{ContinuousBackupsDescription: &ddbtypes.ContinuousBackupsDescription{
		ContinuousBackupsStatus: ddbtypes.ContinuousBackupsStatusEnabled,
		PointInTimeRecoveryDescription: &ddbtypes.PointInTimeRecoveryDescription{
			PointInTimeRecoveryStatus: status, RecoveryPeriodInDays: days,
		},
	}}, nil
}

func (c *cachedFirstRead) UpdateContinuousBackups(ctx context.Context, in *dynamodb.UpdateContinuousBackupsInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error) {
	c.confirmed = nil
	out, err := c.DynamoDB.UpdateContinuousBackups(ctx, in, opts...)
	if err == nil && out != nil && confirms(out.ContinuousBackupsDescription, in.PointInTimeRecoverySpecification) {
		c.confirmed = out.ContinuousBackupsDescription
	}
	return out, err
}

// confirms reports whether an UpdateContinuousBackups response states the
// requested PITR state: ENABLED with the requested window (absent → 35).
func confirms(d *ddbtypes.ContinuousBackupsDescription, want *ddbtypes.PointInTimeRecoverySpecification) bool {
	if d == nil || d.PointInTimeRecoveryDescription == nil || want == nil || !aws.ToBool(want.PointInTimeRecoveryEnabled) {
		return false
	}
	pd := d.PointInTimeRecoveryDescription
	return pd.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled &&
		model.RecoveryDays(aws.ToInt32(pd.RecoveryPeriodInDays)) == model.RecoveryDays(aws.ToInt32(want.RecoveryPeriodInDays))
}
