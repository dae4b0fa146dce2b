package inventory

import (
	"context"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/model"
)

// ReadTable reads one table's facts the way the audit does — DescribeTable,
// DescribeContinuousBackups, ListTagsOfResource — for callers that act on a
// single table (the event handler). found is false when the table does not
// exist; what could not be read is in the table's ReadErrors.
func ReadTable(ctx context.Context, db TableReader, partition, account, region, name string) (t *model.Table, found bool) {
	t = newTable(partition, account, region, name)
	if !describeInto(ctx, db, t) {
		return t, false
	}
	if t.DescribeKnown && t.Status != string(ddbtypes.TableStatusActive) {
		return t, true // PITR cannot be read or set until ACTIVE; the caller waits
	}
	readPITR(ctx, db, t)
	tags, err := ListTags(ctx, db, t.ARN)
	if err != nil {
		noteReadError(t, "ListTagsOfResource", err)
	} else {
		t.Tags, t.TagsKnown = tags, true
	}
	return t, true
}
