package inventory_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	bktypes "github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/inventory/inventorytest"
	"github.com/pitrguard/pitrguard/internal/model"
)

// pagedBackup is an AWS Backup reader whose list calls answer the page
// tokens of next (token → next token; "" is the first page). Each plan
// "p<N>" has one rule and one selection of every DynamoDB table; a page of
// ListBackupPlans holds the plan named after its token. It stops answering
// after 50 calls of one operation, so a listing that goes round fails the
// test rather than hanging it.
type pagedBackup struct {
	plans, protected, points map[string]string
	pointsAt                 time.Time
	// endless is a table ARN whose recovery points never end (a new token
	// each page).
	endless string

	mu    sync.Mutex
	calls map[string]int
}

func (b *pagedBackup) call(op string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.calls == nil {
		b.calls = map[string]int{}
	}
	b.calls[op]++
	if b.calls[op] > 50 {
		return fmt.Errorf("fake: %s called more than 50 times (a paging loop)", op)
	}
	return nil
}

func (b *pagedBackup) count(op string) int { b.mu.Lock(); defer b.mu.Unlock(); return b.calls[op] }

func next(m map[string]string, tok *string) *string {
	if n := m[aws.ToString(tok)]; n != "" {
		return aws.String(n)
	}
	return nil
}

func (b *pagedBackup) ListBackupPlans(_ context.Context, in *backup.ListBackupPlansInput, _ ...func(*backup.Options)) (*backup.ListBackupPlansOutput, error) {
	if err := b.call("ListBackupPlans"); err != nil {
		return nil, err
	}
	id := "p" + aws.ToString(in.NextToken)
	return &backup.ListBackupPlansOutput{BackupPlansList: []bktypes.BackupPlansListMember{{BackupPlanId: aws.String(id), BackupPlanName: aws.String(id)}},
		NextToken: next(b.plans, in.NextToken)}, nil
}

func (b *pagedBackup) GetBackupPlan(_ context.Context, in *backup.GetBackupPlanInput, _ ...func(*backup.Options)) (*backup.GetBackupPlanOutput, error) {
	if err := b.call("GetBackupPlan"); err != nil {
		return nil, err
	}
	return &backup.GetBackupPlanOutput{BackupPlan: &bktypes.BackupPlan{BackupPlanName: in.BackupPlanId, Rules: []bktypes.BackupRule{{
		RuleName: aws.String("daily"), ScheduleExpression: aws.String("cron(0 5 ? * * *)"), TargetBackupVaultName: aws.String("v"),
		Lifecycle: &bktypes.Lifecycle{DeleteAfterDays: aws.Int64(400)}}}}}, nil
}

func (b *pagedBackup) ListBackupSelections(_ context.Context, in *backup.ListBackupSelectionsInput, _ ...func(*backup.Options)) (*backup.ListBackupSelectionsOutput, error) {
	if err := b.call("ListBackupSelections"); err != nil {
		return nil, err
	}
	return &backup.ListBackupSelectionsOutput{BackupSelectionsList: []bktypes.BackupSelectionsListMember{{SelectionId: aws.String("s"), BackupPlanId: in.BackupPlanId}}}, nil
}

func (b *pagedBackup) GetBackupSelection(_ context.Context, in *backup.GetBackupSelectionInput, _ ...func(*backup.Options)) (*backup.GetBackupSelectionOutput, error) {
	if err := b.call("GetBackupSelection"); err != nil {
		return nil, err
	}
	return &backup.GetBackupSelectionOutput{BackupPlanId: in.BackupPlanId, SelectionId: in.SelectionId, BackupSelection: &bktypes.BackupSelection{
		SelectionName: aws.String("all"), IamRoleArn: aws.String("arn:aws:iam::111111111111:role/b"), Resources: []string{"arn:aws:dynamodb:*:*:table/*"}}}, nil
}

func (b *pagedBackup) DescribeRegionSettings(context.Context, *backup.DescribeRegionSettingsInput, ...func(*backup.Options)) (*backup.DescribeRegionSettingsOutput, error) {
	if err := b.call("DescribeRegionSettings"); err != nil {
		return nil, err
	}
	return &backup.DescribeRegionSettingsOutput{ResourceTypeOptInPreference: map[string]bool{"DynamoDB": true},
		ResourceTypeManagementPreference: map[string]bool{"DynamoDB": true}}, nil
}

func (b *pagedBackup) DescribeBackupVault(_ context.Context, in *backup.DescribeBackupVaultInput, _ ...func(*backup.Options)) (*backup.DescribeBackupVaultOutput, error) {
	if err := b.call("DescribeBackupVault"); err != nil {
		return nil, err
	}
	return &backup.DescribeBackupVaultOutput{BackupVaultName: in.BackupVaultName, Locked: aws.Bool(true)}, nil
}

func (b *pagedBackup) ListProtectedResources(_ context.Context, in *backup.ListProtectedResourcesInput, _ ...func(*backup.Options)) (*backup.ListProtectedResourcesOutput, error) {
	if err := b.call("ListProtectedResources"); err != nil {
		return nil, err
	}
	out := &backup.ListProtectedResourcesOutput{NextToken: next(b.protected, in.NextToken)}
	if in.NextToken == nil { // the table is on the first page
		out.Results = []bktypes.ProtectedResource{{ResourceArn: aws.String(tableARN), LastBackupTime: aws.Time(b.pointsAt)}}
	}
	return out, nil
}

func (b *pagedBackup) ListRecoveryPointsByResource(_ context.Context, in *backup.ListRecoveryPointsByResourceInput, _ ...func(*backup.Options)) (*backup.ListRecoveryPointsByResourceOutput, error) {
	if err := b.call("ListRecoveryPointsByResource"); err != nil {
		return nil, err
	}
	out := &backup.ListRecoveryPointsByResourceOutput{NextToken: next(b.points, in.NextToken)}
	if aws.ToString(in.ResourceArn) == b.endless {
		out.NextToken = aws.String(aws.ToString(in.NextToken) + "x")
	}
	if in.NextToken == nil {
		out.RecoveryPoints = []bktypes.RecoveryPointByResource{{CreationDate: aws.Time(b.pointsAt), Status: bktypes.RecoveryPointStatusCompleted}}
	}
	return out, nil
}

const tableARN = "arn:aws:dynamodb:us-east-1:111111111111:table/orders"

func backupFacts(t *testing.T, b *pagedBackup, budget int) *model.BackupFacts {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c := inventory.NewBackupCollector(inventorytest.Provider{Self: acct}, inventory.BackupOptions{PointBudget: budget,
		Clients: inventory.Clients{Backup: func(aws.Config) inventory.BackupReader { return b }}})
	tb := &model.Table{Account: acct, Region: "us-east-1", Name: "orders", ARN: tableARN, TagsKnown: true, Tags: map[string]string{},
		PITR: model.PITR{Known: true, Enabled: true}}
	return c.Facts(ctx, tb, true)
}

// TestBackupPagingRepeatedToken: a page token AWS Backup returns twice is
// a loop. The listing must end with a read error — neither going round
// until the run's deadline nor stopping silently as if the list were
// complete (a plan or a recovery point on a later page would then be
// missed, and the table judged NOT_COVERED or backup_missing on a guess).
func TestBackupPagingRepeatedToken(t *testing.T) {
	at := testNow.Add(-3 * time.Hour)
	t.Run("ListBackupPlans, the same token again", func(t *testing.T) {
		b := &pagedBackup{plans: map[string]string{"": "1", "1": "1"}, pointsAt: at}
		f := backupFacts(t, b, 5)
		if !hasErr(f.Region.PlanErrors, "ListBackupPlans", "twice") {
			t.Errorf("plan errors %+v: want ListBackupPlans' repeated token named", f.Region.PlanErrors)
		}
	})
	t.Run("ListBackupPlans, a cycle", func(t *testing.T) {
		b := &pagedBackup{plans: map[string]string{"": "1", "1": "2", "2": "1"}, pointsAt: at}
		f := backupFacts(t, b, 5)
		if n := b.count("ListBackupPlans"); n > 4 || !hasErr(f.Region.PlanErrors, "ListBackupPlans", "twice") {
			t.Errorf("%d ListBackupPlans calls, plan errors %+v: want the cycle stopped with an error", n, f.Region.PlanErrors)
		}
	})
	t.Run("ListProtectedResources", func(t *testing.T) {
		b := &pagedBackup{protected: map[string]string{"": "a", "a": "b", "b": "a"}, pointsAt: at}
		f := backupFacts(t, b, 0)
		if f.ProtectedKnown || !hasErr(f.Errors, "ListProtectedResources", "twice") {
			t.Errorf("protected known %v, errors %+v: want the listing unread, with its error", f.ProtectedKnown, f.Errors)
		}
	})
	t.Run("ListRecoveryPointsByResource", func(t *testing.T) {
		b := &pagedBackup{points: map[string]string{"": "x", "x": "x"}, pointsAt: at}
		f := backupFacts(t, b, 5)
		if f.Points != nil || f.PointsNote == "" || !hasErr(f.Errors, "ListRecoveryPointsByResource", "twice") {
			t.Errorf("points %+v, note %q, errors %+v: an incomplete list must not give the newest point", f.Points, f.PointsNote, f.Errors)
		}
	})
	t.Run("complete listings", func(t *testing.T) {
		b := &pagedBackup{plans: map[string]string{"": "1"}, protected: map[string]string{"": "a"}, points: map[string]string{"": "x"}, pointsAt: at}
		f := backupFacts(t, b, 5)
		if len(f.Region.PlanErrors)+len(f.Errors) != 0 || len(f.Region.Plans) != 2 || !f.ProtectedKnown || f.Points == nil ||
			f.Points.NewestRestorable == nil || !f.Points.NewestRestorable.Equal(at) {
			t.Errorf("facts %+v (plans %d, errors %+v %+v)", f, len(f.Region.Plans), f.Region.PlanErrors, f.Errors)
		}
	})
}

func hasErr(es []model.ReadError, op, text string) bool {
	for _, e := range es {
		if e.Op == op && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// TestBackupPointBudgetSpentOnCallsOnly: --backup-point-budget counts
// ListRecoveryPointsByResource calls. A table with more points than are
// read must not use up a unit of the account-region's budget without a
// call, which would leave a later critical table without its statuses.
func TestBackupPointBudgetSpentOnCallsOnly(t *testing.T) {
	b := &pagedBackup{endless: tableARN, pointsAt: testNow.Add(-3 * time.Hour)}
	c := inventory.NewBackupCollector(inventorytest.Provider{Self: acct}, inventory.BackupOptions{PointBudget: 11,
		Clients: inventory.Clients{Backup: func(aws.Config) inventory.BackupReader { return b }}})
	tb := func(name string) *model.Table {
		return &model.Table{Account: acct, Region: "us-east-1", Name: name, ARN: "arn:aws:dynamodb:us-east-1:111111111111:table/" + name,
			TagsKnown: true, Tags: map[string]string{}, PITR: model.PITR{Known: true, Enabled: true}}
	}
	many := c.Facts(t.Context(), tb("orders"), true)
	if many.Points != nil || !strings.Contains(many.PointsNote, "more than 1000") {
		t.Fatalf("orders: points %+v, note %q", many.Points, many.PointsNote)
	}
	one := c.Facts(t.Context(), tb("users"), true)
	if n := b.count("ListRecoveryPointsByResource"); n != 11 || one.Points == nil {
		t.Errorf("%d calls, users' points %+v (note %q): 10 calls for orders leave one of the 11 for users", n, one.Points, one.PointsNote)
	}
}
