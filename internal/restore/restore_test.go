package restore

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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
