package remediate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/selection"
)

// TestRunCoverageUnmatchedAndConfirm: enable's Run lists the account-regions
// the audit could not scan and marks coverage incomplete (issue 9 #9), names
// selectors that matched nothing, and changes nothing when the
// confirmation is declined.
func TestRunCoverageUnmatchedAndConfirm(t *testing.T) {
	scanErr := model.ScanError{Account: "222222222222", Region: "us-east-1", Code: "AccessDenied"}
	ar := &audit.Result{Entries: []audit.Entry{entry("off", "standard", 0, model.NonCompliant, 0, map[string]string{"owner": "a"})},
		Report: &report.Audit{Errors: []model.ScanError{scanErr}, Summary: policy.Summary{CoverageComplete: false}}}
	fake := &fakeTable{}
	no := errors.New("declined")
	deps := RunDeps{
		Audit:   func(context.Context) *audit.Result { return ar },
		Clients: func(context.Context, string, string) (TableWriter, error) { return fake, nil },
		Confirm: func(context.Context, *Plan) error { return no },
	}
	p, err := Run(t.Context(), RunOptions{Apply: true, Select: selection.Criteria{Owner: "A"}}, deps)
	if !errors.Is(err, no) || fake.updates != 0 || len(p.Actions) != 1 {
		t.Errorf("declined: %v, %d updates, %d actions", err, fake.updates, len(p.Actions))
	}
	p, _ = Run(t.Context(), RunOptions{Select: selection.Criteria{Tiers: []string{"gold"}}}, deps)
	if p.CoverageComplete || len(p.Errors) != 1 || len(p.Unmatched) != 1 || p.Unmatched[0] != "--tier gold" {
		t.Errorf("plan coverage %v errors %+v unmatched %v", p.CoverageComplete, p.Errors, p.Unmatched)
	}
}

// failing injects one error into the first call of one operation.
type failing struct {
	*fakeTable
	desc, upd error
	descCalls int
}

func (f *failing) DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, o ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	f.descCalls++
	if f.desc != nil && f.descCalls == 1 {
		return nil, f.desc
	}
	return f.fakeTable.DescribeContinuousBackups(ctx, in, o...)
}

func (f *failing) UpdateContinuousBackups(ctx context.Context, in *dynamodb.UpdateContinuousBackupsInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error) {
	if f.upd != nil {
		f.fakeTable.updates++
		return nil, f.upd
	}
	return f.fakeTable.UpdateContinuousBackups(ctx, in, o...)
}

// TestApplyEveryDocumentedError: each documented error of the two PITR calls
// (and the common ones: access denied, throttling, limits) fails the action
// with the code and advice, changes nothing, and never stops other actions.
func TestApplyEveryDocumentedError(t *testing.T) {
	msg := aws.String("injected")
	cases := map[string]struct {
		f    *failing
		want string
	}{
		"describe: table not found": {&failing{desc: &ddbtypes.TableNotFoundException{Message: msg}}, "no longer exists"},
		"describe: internal":        {&failing{desc: &ddbtypes.InternalServerError{Message: msg}}, "InternalServerError"},
		"update: table not found":   {&failing{upd: &ddbtypes.TableNotFoundException{Message: msg}}, "no longer exists"},
		"update: limit exceeded":    {&failing{upd: &ddbtypes.LimitExceededException{Message: msg}}, "too many table operations"},
		"update: internal":          {&failing{upd: &ddbtypes.InternalServerError{Message: msg}}, "InternalServerError"},
		"update: access denied":     {&failing{upd: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}}, "grant dynamodb:UpdateContinuousBackups"},
		"update: throttled":         {&failing{upd: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"}}, "ThrottlingException"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			c.f.fakeTable = &fakeTable{}
			ok := &fakeTable{}
			p := &Plan{Actions: []Action{
				{Account: "111111111111", Region: "us-east-1", Table: "bad", ARN: "arn:aws:dynamodb:us-east-1:111111111111:table/bad", Action: EnablePITR, ToDays: 35, Result: Planned},
				{Account: "111111111111", Region: "us-east-1", Table: "good", Action: EnablePITR, ToDays: 35, Result: Planned}}}
			Apply(t.Context(), p, func(_ context.Context, _, _ string) (TableWriter, error) {
				return routed{"bad": c.f, "good": ok}, nil
			}, ApplyOptions{Concurrency: 1, Backoff: func(int) time.Duration { return time.Millisecond }})
			bad, good := p.Actions[0], p.Actions[1]
			if bad.Result != Failed || !strings.Contains(bad.Error, c.want) || c.f.fakeTable.enabled {
				t.Errorf("bad: %+v", bad)
			}
			if good.Result != Applied {
				t.Errorf("one failure stopped another action: %+v", good)
			}
		})
	}
}

// routed sends each call to the writer of the table it names.
type routed map[string]TableWriter

func (r routed) DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, o ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	return r[aws.ToString(in.TableName)].DescribeContinuousBackups(ctx, in, o...)
}

func (r routed) UpdateContinuousBackups(ctx context.Context, in *dynamodb.UpdateContinuousBackupsInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error) {
	return r[aws.ToString(in.TableName)].UpdateContinuousBackups(ctx, in, o...)
}
