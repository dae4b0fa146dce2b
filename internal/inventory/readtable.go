package inventory

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/model"
)

// ReadTable reads one table's facts the way the audit does — DescribeTable,
// DescribeContinuousBackups, ListTagsOfResource — for callers that act on a
// single table (the event handler). found is false when the table does not
// exist; what could not be read is in the table's ReadErrors.
func ReadTable(ctx context.Context, db TableReader, partition, account, region, name string) (t *model.Table, found bool) {
	t = &model.Table{Account: account, Region: region, Name: name, Tags: map[string]string{}, Replicas: []model.Replica{}}
	t.ARN = arn.ARN{Partition: partition, Service: "dynamodb", Region: region, AccountID: account, Resource: "table/" + name}.String()
	readErr := func(op string, err error) {
		reason, code, msg := awsx.Classify(err)
		t.ReadErrors = append(t.ReadErrors, model.ReadError{Op: op, Code: code, Reason: reason, Message: msg})
	}
	dt, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		readErr("DescribeTable", err)
		var nf *ddbtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return t, false
		}
	} else {
		fillDescription(t, dt.Table)
	}
	if t.DescribeKnown && t.Status != string(ddbtypes.TableStatusActive) {
		return t, true // PITR cannot be read or set until ACTIVE; the caller waits
	}
	cb, err := db.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(name)})
	if err != nil {
		readErr("DescribeContinuousBackups", err)
	} else {
		t.PITR = PITROf(cb.ContinuousBackupsDescription)
	}
	tags, err := ListTags(ctx, db, t.ARN)
	if err != nil {
		readErr("ListTagsOfResource", err)
	} else {
		t.Tags, t.TagsKnown = tags, true
	}
	return t, true
}
