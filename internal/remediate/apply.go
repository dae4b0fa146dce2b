package remediate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/model"
)

// TableWriter is the part of the DynamoDB API that enabling PITR needs.
// Only remediate receives it; the audit's interface has no mutating call.
type TableWriter interface {
	DescribeContinuousBackups(context.Context, *dynamodb.DescribeContinuousBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error)
	UpdateContinuousBackups(context.Context, *dynamodb.UpdateContinuousBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error)
}

// State is a table's PITR state before or after an action.
type State struct {
	Enabled bool `json:"enabled"`
	Days    int  `json:"days"`
}

// JournalEntry records one action for the history.
type JournalEntry struct {
	At     time.Time
	Action Action
	Before *State
	After  *State
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Wait bounds the retries while AWS is still enabling backups on a new
	// table (ContinuousBackupsUnavailableException); then the action is pending.
	Wait time.Duration
	// Concurrency bounds actions in flight.
	Concurrency int
	// Backoff is the delay before retry n (1-based); nil means 1s, 2s, 4s … up to 30s.
	Backoff func(n int) time.Duration
	// Journal records each finished action (called from several goroutines).
	Journal func(JournalEntry)
	// Done is told about each finished action (progress).
	Done func(Action)
	// Now is the clock of waits and deadlines.
	Now func() time.Time
	// Stamp gives the journal's times (nil: Now). The run's clock, which a
	// test may fix, while waits run on the wall clock.
	Stamp func() time.Time
}

// Clients returns a TableWriter for an account-region.
type Clients func(ctx context.Context, account, region string) (TableWriter, error)

func defaultBackoff(n int) time.Duration {
	d := time.Second << min(n-1, 5)
	return min(d, 30*time.Second)
}

// Apply carries out the plan's actions, setting each one's Result and Error.
// One action failing never stops the others. When ctx ends, actions not yet
// started are marked not_started.
func Apply(ctx context.Context, p *Plan, clients Clients, o ApplyOptions) {
	if o.Backoff == nil {
		o.Backoff = defaultBackoff
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Stamp == nil {
		o.Stamp = o.Now
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	p.Mode = "apply"
	var mu sync.Mutex
	g := errgroup.Group{}
	g.SetLimit(o.Concurrency)
	for i := range p.Actions {
		a := &p.Actions[i]
		if ctx.Err() != nil {
			a.Result = NotStarted
			continue
		}
		g.Go(func() error {
			if ctx.Err() != nil {
				a.Result = NotStarted
				return nil
			}
			before, after := applyOne(ctx, a, clients, o)
			if o.Journal != nil && a.Result != NotStarted {
				mu.Lock()
				o.Journal(JournalEntry{At: o.Stamp().UTC(), Action: *a, Before: before, After: after})
				mu.Unlock()
			}
			if o.Done != nil {
				o.Done(*a)
			}
			return nil
		})
	}
	_ = g.Wait()
	p.Tally()
}

func readState(ctx context.Context, c TableWriter, table string) (State, error) {
	out, err := c.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(table)})
	if err != nil {
		return State{}, err
	}
	var s State
	// Only PointInTimeRecoveryStatus means PITR (ContinuousBackupsStatus is always ENABLED).
	if d := out.ContinuousBackupsDescription; d != nil && d.PointInTimeRecoveryDescription != nil {
		pd := d.PointInTimeRecoveryDescription
		s.Enabled = pd.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled
		if s.Enabled {
			s.Days = model.RecoveryDays(aws.ToInt32(pd.RecoveryPeriodInDays))
		}
	}
	return s, nil
}

func applyOne(ctx context.Context, a *Action, clients Clients, o ApplyOptions) (before, after *State) {
	fail := func(op string, err error) {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			a.Result, a.Error = NotStarted, "interrupted before the change was made"
			return
		}
		a.Result, a.Error = Failed, guidance(op, a, err)
	}
	c, err := clients(ctx, a.Account, a.Region)
	if err != nil {
		fail("AssumeRole", err)
		return nil, nil
	}
	// Re-check: the plan may be old, or someone may have fixed the table.
	b, err := readState(ctx, c, a.Table)
	if err != nil {
		fail("DescribeContinuousBackups", err)
		return nil, nil
	}
	before = &b
	if b.Enabled && (b.Days == a.ToDays || (b.Days > a.ToDays && !a.Decrease)) {
		a.Result = AlreadyCompliant
		return before, before
	}
	in := &dynamodb.UpdateContinuousBackupsInput{
		TableName: aws.String(a.Table),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: aws.Bool(true), // never false: pitrguard does not disable PITR
			RecoveryPeriodInDays:       aws.Int32(int32(a.ToDays)),
		},
	}
	deadline := o.Now().Add(o.Wait)
	for attempt := 1; ; attempt++ {
		_, err = c.UpdateContinuousBackups(ctx, in)
		var cbu *ddbtypes.ContinuousBackupsUnavailableException
		if err == nil || !errors.As(err, &cbu) {
			break
		}
		// A new table: AWS is still enabling backups. Retry until --wait.
		delay := o.Backoff(attempt)
		if o.Now().Add(delay).After(deadline) {
			a.Result = Pending
			a.Error = fmt.Sprintf("ContinuousBackupsUnavailableException: AWS is still enabling backups for this new table after %s of retries; run the same command again later (new tables can take 10 minutes or more)", o.Wait)
			return before, before
		}
		select {
		case <-ctx.Done():
			a.Result, a.Error = NotStarted, "interrupted while waiting for AWS to enable backups on the new table"
			return before, before
		case <-time.After(delay):
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			a.Result, a.Error = Failed, "interrupted after the update was sent; run `pitrguard audit` to see whether it took effect"
		} else {
			fail("UpdateContinuousBackups", err)
		}
		return before, nil
	}
	// Read back: only a confirmed ENABLED with the right window is applied.
	for try := 1; ; try++ {
		s, err := readState(ctx, c, a.Table)
		if err != nil {
			a.Result, a.Error = Pending, "update accepted but the read-back failed: "+guidance("DescribeContinuousBackups", a, err)
			return before, nil
		}
		after = &s
		if s.Enabled && s.Days == a.ToDays {
			a.Result = Applied
			return before, after
		}
		if try == 3 {
			a.Result = Pending
			a.Error = fmt.Sprintf("update accepted but DescribeContinuousBackups still shows enabled=%v, %d days; check again with `pitrguard audit`", s.Enabled, s.Days)
			return before, after
		}
		select {
		case <-ctx.Done():
			a.Result, a.Error = Pending, "interrupted before the change could be read back; run `pitrguard audit`"
			return before, after
		case <-time.After(o.Backoff(try)):
		}
	}
}

// guidance turns an AWS error into the code plus a sentence saying what to do.
func guidance(op string, a *Action, err error) string {
	reason, code, msg := awsx.Classify(err)
	var what string
	switch {
	case reason == model.ReasonAccessDenied || reason == model.ReasonAssumeRoleFailed:
		if op == "AssumeRole" {
			what = "pitrguard could not enter account " + a.Account + "; check --role-name/--external-id and the role's trust policy (`pitrguard iam-policy enable --trust-for <caller account>`)"
		} else {
			what = fmt.Sprintf("grant dynamodb:%s on %s to the role pitrguard uses in account %s (see `pitrguard iam-policy enable`), and check that no SCP denies it", op, a.ARN, a.Account)
		}
	case reason == model.ReasonNotFound:
		what = "the table no longer exists; run `pitrguard audit` and plan again"
	case code == "LimitExceededException":
		what = "too many table operations are running in this account; run the command again later"
	case reason == model.ReasonThrottled:
		what = "AWS kept throttling this call; run the command again later or lower --concurrency"
	default:
		what = "see the AWS message"
	}
	return fmt.Sprintf("%s: %s — %s", code, msg, what)
}
