package events

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/config"
)

// pitrTable is an in-memory DynamoDB with one ACTIVE table tagged env=prod.
type pitrTable struct {
	mu      sync.Mutex
	enabled bool
	updates int
}

func (f *pitrTable) ListTables(context.Context, *dynamodb.ListTablesInput, ...func(*dynamodb.Options)) (*dynamodb.ListTablesOutput, error) {
	return &dynamodb.ListTablesOutput{TableNames: []string{"orders"}}, nil
}

func (f *pitrTable) DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return &dynamodb.DescribeTableOutput{Table: &ddbtypes.TableDescription{TableName: aws.String("orders"), TableStatus: ddbtypes.TableStatusActive,
		TableArn: aws.String("arn:aws:dynamodb:eu-west-1:111111111111:table/orders")}}, nil
}

func (f *pitrTable) DescribeContinuousBackups(context.Context, *dynamodb.DescribeContinuousBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := ddbtypes.PointInTimeRecoveryStatusDisabled
	if f.enabled {
		st = ddbtypes.PointInTimeRecoveryStatusEnabled
	}
	now := time.Now()
	return &dynamodb.DescribeContinuousBackupsOutput{ContinuousBackupsDescription: &ddbtypes.ContinuousBackupsDescription{
		PointInTimeRecoveryDescription: &ddbtypes.PointInTimeRecoveryDescription{PointInTimeRecoveryStatus: st, RecoveryPeriodInDays: aws.Int32(35),
			EarliestRestorableDateTime: &now, LatestRestorableDateTime: &now}}}, nil
}

func (f *pitrTable) ListTagsOfResource(context.Context, *dynamodb.ListTagsOfResourceInput, ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error) {
	return &dynamodb.ListTagsOfResourceOutput{Tags: []ddbtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}, nil
}

func (f *pitrTable) UpdateContinuousBackups(_ context.Context, in *dynamodb.UpdateContinuousBackupsInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates++
	f.enabled = aws.ToBool(in.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled)
	return &dynamodb.UpdateContinuousBackupsOutput{}, nil
}

type oneClient struct{ db *pitrTable }

func (c oneClient) DynamoDB(context.Context, string, string) (DynamoDB, error) { return c.db, nil }

// The event handler decides on PITR alone: a tier that also requires AWS
// Backup changes nothing it does (it reads no backup state, and a table
// whose PITR meets the tier is left alone whatever its backups).
func TestHandlerIgnoresBackupRequirement(t *testing.T) {
	cfg, err := config.Parse("p.yaml", []byte("tiers:\n  - name: critical\n    match: { tags: { env: prod } }\n    min_recovery_days: 35\n    backup: { min_retention_days: 365 }\n"))
	if err != nil {
		t.Fatal(err)
	}
	items, _ := Decode(strings.NewReader(createTable))
	for _, enabled := range []bool{true, false} {
		db := &pitrTable{enabled: enabled}
		h := New(Deps{Clients: oneClient{db}}, Options{Policy: cfg, Wait: time.Second, Backoff: func(int) time.Duration { return time.Millisecond }})
		o := h.Handle(t.Context(), items[0].Event)
		switch {
		case enabled && (o.Result != ResultAlreadyCompliant || db.updates != 0):
			t.Errorf("PITR on, no backup plan known: result %s (%s), %d updates; want already_compliant and none", o.Result, o.Message, db.updates)
		case !enabled && (o.Result != ResultApplied || db.updates != 1):
			t.Errorf("PITR off: result %s (%s), %d updates; want applied with one update", o.Result, o.Message, db.updates)
		}
		if o.Tier != "critical" {
			t.Errorf("tier %q", o.Tier)
		}
	}
}
