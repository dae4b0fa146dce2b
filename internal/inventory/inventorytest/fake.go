// Package inventorytest is an in-memory AWS estate behind inventory's narrow
// interfaces (DynamoDB, tagging, Organizations, EC2) and a fake Provider, for
// unit tests of inventory, audit and the commands built on them. The wire
// behaviour of the real SDK is covered by the moto end-to-end tests.
package inventorytest

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	tagtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/inventory"
)

// Table is one table in the in-memory DynamoDB.
type Table struct {
	Status  string
	PITR    bool
	Days    int32
	Created time.Time
	Tags    map[string]string
	Bulk    bool             // listed by the tagging API (tagged and indexed)
	Errs    map[string]error // per operation
	Block   bool             // DescribeContinuousBackups waits for ctx to end
}

// Fake is an in-memory account-region estate behind the narrow interfaces.
type Fake struct {
	mu       sync.Mutex
	Tables   map[string]map[string]*Table // "account/region" → name → table
	ListErr  map[string]error             // "account/region" → ListTables error
	BulkErr  error
	Accounts []orgtypes.Account
	Regions  []string
	calls    map[string]int
}

// New returns an empty estate.
func New() *Fake {
	return &Fake{Tables: map[string]map[string]*Table{}, ListErr: map[string]error{}, calls: map[string]int{}}
}

// Add puts a table in account/region (ACTIVE unless Status says otherwise).
func (f *Fake) Add(account, region, name string, t *Table) {
	k := account + "/" + region
	if f.Tables[k] == nil {
		f.Tables[k] = map[string]*Table{}
	}
	if t.Status == "" {
		t.Status = "ACTIVE"
	}
	f.Tables[k][name] = t
}

// Count returns how many calls of op were made.
func (f *Fake) Count(op string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls[op] }

func (f *Fake) hit(op string) { f.mu.Lock(); f.calls[op]++; f.mu.Unlock() }

// Provider hands out configurations whose AppID carries the account, so
// the fake clients know which account they serve.
type Provider struct {
	Self      string
	Partition string
	Denied    map[string]error
	Counters  *awsx.Stats
}

// Caller returns the fake caller.
func (p Provider) Caller() awsx.Caller {
	part := p.Partition
	if part == "" {
		part = "aws"
	}
	return awsx.Caller{Account: p.Self, ARN: "arn:" + part + ":iam::" + p.Self + ":user/test", Partition: part}
}

// Base returns the caller's configuration.
func (p Provider) Base() aws.Config { return aws.Config{Region: "us-east-1", AppID: p.Self} }

// Stats returns the counters (nil: none).
func (p Provider) Stats() *awsx.Stats { return p.Counters }

// Account returns a configuration for account a, or the error in Denied.
func (p Provider) Account(_ context.Context, a string) (aws.Config, error) {
	if err := p.Denied[a]; err != nil {
		return aws.Config{}, err
	}
	return aws.Config{Region: "us-east-1", AppID: a}, nil
}

// Clients returns inventory.Clients backed by the estate.
func (f *Fake) Clients() inventory.Clients {
	return inventory.Clients{
		DynamoDB:      func(c aws.Config) inventory.TableReader { return &ddb{f: f, key: c.AppID + "/" + c.Region} },
		Tagging:       func(c aws.Config) inventory.TagReader { return &tagging{f: f, account: c.AppID, region: c.Region} },
		Organizations: func(aws.Config) inventory.AccountLister { return orgs{f} },
		EC2:           func(aws.Config) inventory.RegionLister { return ec2fake{f} },
	}
}

type ddb struct {
	f   *Fake
	key string
}

var errNotFound = &ddbtypes.ResourceNotFoundException{Message: aws.String("Requested resource not found")}

func (d *ddb) table(op, name string) (*Table, error) {
	d.f.hit(op)
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	t := d.f.Tables[d.key][name]
	if t == nil {
		return nil, errNotFound
	}
	if err := t.Errs[op]; err != nil {
		return nil, err
	}
	return t, nil
}

func (d *ddb) ListTables(_ context.Context, in *dynamodb.ListTablesInput, _ ...func(*dynamodb.Options)) (*dynamodb.ListTablesOutput, error) {
	d.f.hit("ListTables")
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	if err := d.f.ListErr[d.key]; err != nil {
		return nil, err
	}
	var names []string
	for n := range d.f.Tables[d.key] {
		if in.ExclusiveStartTableName == nil || n > *in.ExclusiveStartTableName {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := &dynamodb.ListTablesOutput{}
	if len(names) > 2 { // pages of 2, to exercise paging
		names = names[:2]
		out.LastEvaluatedTableName = aws.String(names[1])
	}
	out.TableNames = names
	return out, nil
}

func (d *ddb) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	name := aws.ToString(in.TableName)
	t, err := d.table("DescribeTable", name)
	if err != nil {
		return nil, err
	}
	created := t.Created
	return &dynamodb.DescribeTableOutput{Table: &ddbtypes.TableDescription{TableName: aws.String(name),
		TableStatus: ddbtypes.TableStatus(t.Status), CreationDateTime: &created, TableSizeBytes: aws.Int64(1000)}}, nil
}

func (d *ddb) DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error) {
	t, err := d.table("DescribeContinuousBackups", aws.ToString(in.TableName))
	if err != nil {
		return nil, err
	}
	if t.Block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	st := ddbtypes.PointInTimeRecoveryStatusDisabled
	if t.PITR {
		st = ddbtypes.PointInTimeRecoveryStatusEnabled
	}
	return &dynamodb.DescribeContinuousBackupsOutput{ContinuousBackupsDescription: &ddbtypes.ContinuousBackupsDescription{
		ContinuousBackupsStatus: ddbtypes.ContinuousBackupsStatusEnabled,
		PointInTimeRecoveryDescription: &ddbtypes.PointInTimeRecoveryDescription{PointInTimeRecoveryStatus: st,
			RecoveryPeriodInDays: aws.Int32(t.Days)}}}, nil
}

func (d *ddb) ListTagsOfResource(_ context.Context, in *dynamodb.ListTagsOfResourceInput, _ ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error) {
	a := aws.ToString(in.ResourceArn)
	t, err := d.table("ListTagsOfResource", a[strings.LastIndex(a, "/")+1:])
	if err != nil {
		return nil, err
	}
	out := &dynamodb.ListTagsOfResourceOutput{}
	for k, v := range t.Tags {
		out.Tags = append(out.Tags, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out, nil
}

type tagging struct {
	f               *Fake
	account, region string
}

func (g *tagging) GetResources(context.Context, *resourcegroupstaggingapi.GetResourcesInput, ...func(*resourcegroupstaggingapi.Options)) (*resourcegroupstaggingapi.GetResourcesOutput, error) {
	g.f.hit("GetResources")
	g.f.mu.Lock()
	defer g.f.mu.Unlock()
	if g.f.BulkErr != nil {
		return nil, g.f.BulkErr
	}
	out := &resourcegroupstaggingapi.GetResourcesOutput{}
	for name, t := range g.f.Tables[g.account+"/"+g.region] {
		if !t.Bulk || len(t.Tags) == 0 {
			continue
		}
		m := tagtypes.ResourceTagMapping{ResourceARN: aws.String("arn:aws:dynamodb:" + g.region + ":" + g.account + ":table/" + name)}
		for k, v := range t.Tags {
			m.Tags = append(m.Tags, tagtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		out.ResourceTagMappingList = append(out.ResourceTagMappingList, m)
	}
	return out, nil
}

type orgs struct{ f *Fake }

func (o orgs) ListAccounts(context.Context, *organizations.ListAccountsInput, ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error) {
	o.f.hit("ListAccounts")
	if o.f.Accounts == nil {
		return nil, errors.New("AWSOrganizationsNotInUseException")
	}
	return &organizations.ListAccountsOutput{Accounts: o.f.Accounts}, nil
}

type ec2fake struct{ f *Fake }

func (e ec2fake) DescribeRegions(context.Context, *ec2.DescribeRegionsInput, ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error) {
	e.f.hit("DescribeRegions")
	out := &ec2.DescribeRegionsOutput{}
	for _, r := range e.f.Regions {
		out.Regions = append(out.Regions, ec2types.Region{RegionName: aws.String(r)})
	}
	return out, nil
}
