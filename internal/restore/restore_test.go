package restore

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Issue 9 #5: backup index details with any optional field missing never
// panic, whatever the override flags.
func TestIndexOverridesOptionalFields(t *testing.T) {
	gsis := []ddbtypes.GlobalSecondaryIndexInfo{
		{}, // nothing at all
		{IndexName: aws.String("on-demand")},
		{IndexName: aws.String("half"), ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{}},
		{IndexName: aws.String("full"), ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)}},
	}
	lsis := []ddbtypes.LocalSecondaryIndexInfo{{}, {IndexName: aws.String("by-lsk")}}
	sources := []*ddbtypes.SourceTableFeatureDetails{nil, {}, {GlobalSecondaryIndexes: gsis}, {LocalSecondaryIndexes: lsis}, {GlobalSecondaryIndexes: gsis, LocalSecondaryIndexes: lsis}}
	flags := []Params{{}, {WithoutIdx: true}, {Indexes: []string{"full"}}, {Indexes: []string{"on-demand", "by-lsk"}}, {Indexes: []string{""}}}
	for si, src := range sources {
		for fi, p := range flags {
			p.BackupARN, p.BackupSource = "arn:backup", src
			gsi, lsi := indexOverrides(p)
			if p.WithoutIdx && (len(gsi) != 0 || len(lsi) != 0) {
				t.Errorf("source %d flags %d: --without-indexes kept %v %v", si, fi, gsi, lsi)
			}
			for _, g := range gsi {
				if g.ProvisionedThroughput != nil && aws.ToInt64(g.ProvisionedThroughput.ReadCapacityUnits) == 0 {
					t.Errorf("source %d flags %d: zero throughput passed on for %s", si, fi, aws.ToString(g.IndexName))
				}
			}
		}
	}
}

// sparse answers every read with the smallest output the API model allows
// (every optional member absent).
type sparse struct{ *fakeDB }

func (sparse) DescribeContinuousBackups(context.Context, *dynamodb.DescribeContinuousBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	return &dynamodb.DescribeContinuousBackupsOutput{}, nil
}

func (sparse) DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error) {
	return &dynamodb.DescribeTimeToLiveOutput{}, nil
}

func (sparse) GetResourcePolicy(context.Context, *dynamodb.GetResourcePolicyInput, ...func(*dynamodb.Options)) (*dynamodb.GetResourcePolicyOutput, error) {
	return &dynamodb.GetResourcePolicyOutput{}, nil
}

func (sparse) DescribeContributorInsights(context.Context, *dynamodb.DescribeContributorInsightsInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeContributorInsightsOutput, error) {
	return &dynamodb.DescribeContributorInsightsOutput{}, nil
}

// No answer with optional members absent panics: reading the source and
// reconciling onto a target described only by its name.
func TestSparseAnswers(t *testing.T) {
	f := newFake()
	db := sparse{f}
	for _, d := range []*ddbtypes.TableDescription{{}, {TableName: aws.String("orders")}, {TableName: aws.String("orders"), StreamSpecification: &ddbtypes.StreamSpecification{}, TableClassSummary: &ddbtypes.TableClassSummary{}, BillingModeSummary: &ddbtypes.BillingModeSummary{}}} {
		s := ReadLive(t.Context(), db, f, d)
		if s.PITR == nil || s.PITR.Enabled || !s.TTLKnown || s.TTLAttribute != "" || !s.PolicyKnown {
			t.Errorf("sparse settings: %+v", s)
		}
		s.PITR.Enabled, s.PITR.Days, s.TTLAttribute, s.ResourcePolicy = true, 7, "exp", `{"a":1}`
		items, _ := (&Reconciler{DB: db}).Reconcile(t.Context(), s, "orders", f.arn("orders"), Target{Name: "r", ARN: f.arn("r"), Desc: d}, time.Time{})
		if len(items) != 9 {
			t.Errorf("%d items", len(items))
		}
	}
}
