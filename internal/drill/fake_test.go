package drill

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const (
	acct   = "111111111111"
	region = "eu-west-1"
)

func arnOf(name string) string { return "arn:aws:dynamodb:" + region + ":" + acct + ":table/" + name }

type fakeTable struct {
	desc  ddbtypes.TableDescription
	items []map[string]ddbtypes.AttributeValue
	tags  map[string]string
}

// fakeDB is an in-memory DynamoDB for one account-region. Errors queued in
// errs["Op"] or errs["Op table"] are returned (and consumed) before the call
// takes effect; after["Op"] are returned after it took effect (a lost answer).
type fakeDB struct {
	mu     sync.Mutex
	tables map[string]*fakeTable
	errs   map[string][]error
	after  map[string][]error
	calls  []string
	// creating makes a restored table CREATING for that many DescribeTable calls.
	creating int
}

func newFake() *fakeDB {
	return &fakeDB{tables: map[string]*fakeTable{}, errs: map[string][]error{}, after: map[string][]error{}}
}

// addSource adds a table with PITR data: key "id" and n items.
func (f *fakeDB) addSource(name string, n int) {
	t := &fakeTable{tags: map[string]string{}, desc: ddbtypes.TableDescription{
		TableName: aws.String(name), TableArn: aws.String(arnOf(name)), TableStatus: ddbtypes.TableStatusActive,
		KeySchema:        []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		ItemCount:        aws.Int64(int64(n)),
		CreationDateTime: aws.Time(time.Now().Add(-24 * time.Hour)),
	}}
	for i := range n {
		t.items = append(t.items, map[string]ddbtypes.AttributeValue{
			"id": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprint(i)}, "v": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(i * 7)}})
	}
	f.tables[name] = t
}

// addTable adds an arbitrary table, e.g. a same-named table created long ago.
func (f *fakeDB) addTable(name string, created time.Time, restoreOf string, tags map[string]string) {
	d := ddbtypes.TableDescription{TableName: aws.String(name), TableArn: aws.String(arnOf(name)), TableStatus: ddbtypes.TableStatusActive,
		KeySchema:        []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		CreationDateTime: aws.Time(created), ItemCount: aws.Int64(0)}
	if restoreOf != "" {
		d.RestoreSummary = &ddbtypes.RestoreSummary{SourceTableArn: aws.String(arnOf(restoreOf)), RestoreDateTime: aws.Time(created), RestoreInProgress: aws.Bool(false)}
	}
	if tags == nil {
		tags = map[string]string{}
	}
	f.tables[name] = &fakeTable{desc: d, tags: tags}
}

func (f *fakeDB) call(op, table string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op+" "+table)
	for _, k := range []string{op + " " + table, op} {
		if q := f.errs[k]; len(q) > 0 {
			f.errs[k] = q[1:]
			return q[0]
		}
	}
	return nil
}

func (f *fakeDB) afterErr(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if q := f.after[op]; len(q) > 0 {
		f.after[op] = q[1:]
		return q[0]
	}
	return nil
}

func (f *fakeDB) called(op, table string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op+" "+table || (table == "" && strings.HasPrefix(c, op+" ")) {
			n++
		}
	}
	return n
}

func (f *fakeDB) get(name string) (*fakeTable, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tables[name]
	if t == nil {
		return nil, &ddbtypes.ResourceNotFoundException{Message: aws.String("Requested resource not found: Table: " + name + " not found")}
	}
	return t, nil
}

func nameOfARN(a string) string { return a[strings.LastIndex(a, "/")+1:] }

func (f *fakeDB) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	name := aws.ToString(in.TableName)
	if err := f.call("DescribeTable", name); err != nil {
		return nil, err
	}
	t, err := f.get(name)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d := t.desc
	if d.RestoreSummary != nil && f.creating > 0 && strings.HasPrefix(name, Prefix) {
		f.creating--
		d.TableStatus = ddbtypes.TableStatusCreating
	}
	return &dynamodb.DescribeTableOutput{Table: &d}, nil
}

func (f *fakeDB) RestoreTableToPointInTime(_ context.Context, in *dynamodb.RestoreTableToPointInTimeInput, _ ...func(*dynamodb.Options)) (*dynamodb.RestoreTableToPointInTimeOutput, error) {
	target := aws.ToString(in.TargetTableName)
	if err := f.call("RestoreTableToPointInTime", target); err != nil {
		return nil, err
	}
	src, err := f.get(aws.ToString(in.SourceTableName))
	if err != nil {
		return nil, &ddbtypes.TableNotFoundException{Message: aws.String("Table not found")}
	}
	if _, err := f.get(target); err == nil {
		return nil, &ddbtypes.TableAlreadyExistsException{Message: aws.String("Table already exists: " + target)}
	}
	f.mu.Lock()
	now := time.Now()
	d := src.desc
	d.TableName, d.TableArn, d.CreationDateTime = aws.String(target), aws.String(arnOf(target)), aws.Time(now)
	d.RestoreSummary = &ddbtypes.RestoreSummary{SourceTableArn: src.desc.TableArn, RestoreDateTime: aws.Time(now.Add(-time.Minute)), RestoreInProgress: aws.Bool(false)}
	f.tables[target] = &fakeTable{desc: d, items: src.items, tags: map[string]string{}}
	f.mu.Unlock()
	if err := f.afterErr("RestoreTableToPointInTime"); err != nil {
		return nil, err
	}
	return &dynamodb.RestoreTableToPointInTimeOutput{TableDescription: &d}, nil
}

func (f *fakeDB) TagResource(_ context.Context, in *dynamodb.TagResourceInput, _ ...func(*dynamodb.Options)) (*dynamodb.TagResourceOutput, error) {
	name := nameOfARN(aws.ToString(in.ResourceArn))
	if err := f.call("TagResource", name); err != nil {
		return nil, err
	}
	t, err := f.get(name)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, kv := range in.Tags {
		t.tags[aws.ToString(kv.Key)] = aws.ToString(kv.Value)
	}
	return &dynamodb.TagResourceOutput{}, nil
}

func (f *fakeDB) ListTagsOfResource(_ context.Context, in *dynamodb.ListTagsOfResourceInput, _ ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error) {
	name := nameOfARN(aws.ToString(in.ResourceArn))
	if err := f.call("ListTagsOfResource", name); err != nil {
		return nil, err
	}
	t, err := f.get(name)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &dynamodb.ListTagsOfResourceOutput{}
	for k, v := range t.tags {
		out.Tags = append(out.Tags, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out, nil
}

func (f *fakeDB) DeleteTable(_ context.Context, in *dynamodb.DeleteTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error) {
	name := aws.ToString(in.TableName)
	if err := f.call("DeleteTable", name); err != nil {
		return nil, err
	}
	if _, err := f.get(name); err != nil {
		return nil, err
	}
	f.mu.Lock()
	delete(f.tables, name)
	f.mu.Unlock()
	return &dynamodb.DeleteTableOutput{}, nil
}

func (f *fakeDB) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	name := aws.ToString(in.TableName)
	if err := f.call("Scan", name); err != nil {
		return nil, err
	}
	t, err := f.get(name)
	if err != nil {
		return nil, err
	}
	if in.Select == ddbtypes.SelectCount {
		return &dynamodb.ScanOutput{Count: int32(len(t.items))}, nil
	}
	items := t.items
	if in.Limit != nil && int(*in.Limit) < len(items) {
		items = items[:*in.Limit]
	}
	return &dynamodb.ScanOutput{Items: items, Count: int32(len(items))}, nil
}

func (f *fakeDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	name := aws.ToString(in.TableName)
	if err := f.call("GetItem", name); err != nil {
		return nil, err
	}
	t, err := f.get(name)
	if err != nil {
		return nil, err
	}
	want := in.Key["id"].(*ddbtypes.AttributeValueMemberS).Value
	for _, it := range t.items {
		if it["id"].(*ddbtypes.AttributeValueMemberS).Value == want {
			return &dynamodb.GetItemOutput{Item: it}, nil
		}
	}
	return &dynamodb.GetItemOutput{}, nil
}

func (f *fakeDB) ListTables(_ context.Context, _ *dynamodb.ListTablesInput, _ ...func(*dynamodb.Options)) (*dynamodb.ListTablesOutput, error) {
	if err := f.call("ListTables", ""); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &dynamodb.ListTablesOutput{}
	for n := range f.tables {
		out.TableNames = append(out.TableNames, n)
	}
	return out, nil
}

var _ API = (*fakeDB)(nil)
