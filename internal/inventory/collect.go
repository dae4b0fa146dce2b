package inventory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"golang.org/x/sync/errgroup"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/model"
)

// TableReader is the read-only part of the DynamoDB API the audit uses.
type TableReader interface {
	ListTables(context.Context, *dynamodb.ListTablesInput, ...func(*dynamodb.Options)) (*dynamodb.ListTablesOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeContinuousBackups(context.Context, *dynamodb.DescribeContinuousBackupsInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error)
	ListTagsOfResource(context.Context, *dynamodb.ListTagsOfResourceInput, ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error)
}

// TagReader is the Resource Groups Tagging API call used to read tags in bulk.
type TagReader interface {
	GetResources(context.Context, *resourcegroupstaggingapi.GetResourcesInput, ...func(*resourcegroupstaggingapi.Options)) (*resourcegroupstaggingapi.GetResourcesOutput, error)
}

// AccountLister is the Organizations call Discover uses.
type AccountLister interface {
	ListAccounts(context.Context, *organizations.ListAccountsInput, ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error)
}

// RegionLister is the EC2 call that lists an account's enabled regions.
type RegionLister interface {
	DescribeRegions(context.Context, *ec2.DescribeRegionsInput, ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
}

// Clients build the service clients inventory reads through. A nil field
// means the AWS SDK's own client; tests put in-memory fakes there.
type Clients struct {
	DynamoDB      func(aws.Config) TableReader
	Tagging       func(aws.Config) TagReader
	Organizations func(aws.Config) AccountLister
	EC2           func(aws.Config) RegionLister
	Config        func(aws.Config) ConfigSelector
	// Backup builds the AWS Backup client (backup.go).
	Backup func(aws.Config) BackupReader
}

// ConfigService is the AWS Config client (for QueryConfig).
func (c Clients) ConfigService(cfg aws.Config) ConfigSelector {
	if c.Config != nil {
		return c.Config(cfg)
	}
	return configservice.NewFromConfig(cfg)
}

func (c Clients) dynamodb(cfg aws.Config) TableReader {
	if c.DynamoDB != nil {
		return c.DynamoDB(cfg)
	}
	return dynamodb.NewFromConfig(cfg)
}

func (c Clients) tagging(cfg aws.Config) TagReader {
	if c.Tagging != nil {
		return c.Tagging(cfg)
	}
	return resourcegroupstaggingapi.NewFromConfig(cfg)
}

func (c Clients) organizations(cfg aws.Config) AccountLister {
	if c.Organizations != nil {
		return c.Organizations(cfg)
	}
	return organizations.NewFromConfig(cfg)
}

func (c Clients) ec2(cfg aws.Config) RegionLister {
	if c.EC2 != nil {
		return c.EC2(cfg)
	}
	return ec2.NewFromConfig(cfg)
}

// Provider is what inventory needs from awsx.Provider: the caller, its own
// configuration, and a configuration per account.
type Provider interface {
	Caller() awsx.Caller
	Base() aws.Config
	Account(ctx context.Context, account string) (aws.Config, error)
}

var _ Provider = (*awsx.Provider)(nil)

// RecentTableWindow is how long after its creation a table may still be
// missing from the Resource Groups Tagging API, which is eventually
// consistent. Such a table's absence is not proof that it has no tags, so
// its tags are read with ListTagsOfResource (issue 9 #4).
const RecentTableWindow = time.Hour

// clockSkew is how far in the future of pitrguard's clock a creation time may
// be and still count as recent. A table "created" further ahead than that says
// the clock in use is not the wall clock (a replayed or fixed clock), and its
// age cannot be judged; it is treated like an old table.
const clockSkew = 5 * time.Minute

// Options tune collection.
type Options struct {
	// Concurrency bounds the account-regions scanned at once.
	Concurrency int
	// TableWorkers bounds the tables described at once within one account-region.
	TableWorkers int
	// Progress, if set, is told about finished tables and targets.
	Progress Progress
	// Only, if set, keeps just the tables it returns true for (before any
	// per-table call is made).
	Only func(account, region, name string) bool
	// Clients builds the service clients (zero value: the SDK's).
	Clients Clients
	// Now is the clock for RecentTableWindow (nil: time.Now).
	Now func() time.Time
	// Prefill, if set, is asked once per listed account-region, with the
	// names ListTables returned (after Only), which tables another source
	// (AWS Config) already decides. Those go to sink as they are; only the
	// others are read live. Its errors are added to Collect's.
	Prefill func(t model.Target, names []string) Prefilled
	// Done, if set, is called once an account-region's tables have all gone
	// to sink, so that state kept per account-region (AWS Backup's) can be
	// dropped: memory stays flat however many account-regions there are.
	Done func(t model.Target)
}

// Prefilled is Options.Prefill's answer for one account-region.
type Prefilled struct {
	Known      map[string]*model.Table // by table name
	LiveReason map[string]string       // by table name: why it is read live
	Errors     []model.ScanError
}

// Progress receives collection progress.
type Progress interface {
	AddTotal(tables int)
	TableDone()
}

// Collector reads table facts through a Provider.
type Collector struct {
	p    Provider
	opts Options
}

// NewCollector returns a Collector.
func NewCollector(p Provider, opts Options) *Collector {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.TableWorkers <= 0 {
		opts.TableWorkers = 8
	}
	return &Collector{p: p, opts: opts}
}

// listed is one account-region between listing and describing. It holds
// the names (and Config's answers) until its tables are described, and its
// bulk tags only while they are; release drops all of it, so memory holds
// the facts of the account-regions being read, not of the whole estate.
type listed struct {
	target model.Target
	cfg    aws.Config
	names  []string
	pre    Prefilled
	// tags are the account-region's tags read in bulk when its turn comes,
	// by ARN; nil when the tagging API failed.
	tags map[string]map[string]string
}

// release drops what the account-region held once its tables are read.
func (l *listed) release() { l.names, l.pre, l.tags = nil, Prefilled{}, nil }

// Collect scans targets and calls sink once per table (from several
// goroutines; sink must be safe for concurrent use). Targets that cannot be
// listed are returned as errors, and so is every listed table that was not
// read because ctx ended (interrupted, or the command's deadline): each table
// in scope is either passed to sink or named in the errors, never dropped. Work on the account-regions with the most
// tables starts first, because the per-account-region limit of
// DescribeContinuousBackups makes the largest one the critical path.
func (c *Collector) Collect(ctx context.Context, targets []model.Target, sink func(*model.Table)) []model.ScanError {
	var (
		mu   sync.Mutex
		errs []model.ScanError
		work []*listed
	)
	addErr := func(e model.ScanError) { mu.Lock(); errs = append(errs, e); mu.Unlock() }

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Concurrency)
	for _, t := range targets {
		g.Go(func() error {
			l, err := c.list(gctx, t)
			if err != nil {
				addErr(c.listError(gctx, t, err))
				return nil
			}
			if c.opts.Progress != nil {
				c.opts.Progress.AddTotal(len(l.names))
			}
			mu.Lock()
			work = append(work, l)
			errs = append(errs, l.pre.Errors...)
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()

	sort.Slice(work, func(i, j int) bool {
		if len(work[i].names) != len(work[j].names) {
			return len(work[i].names) > len(work[j].names)
		}
		return model.Compare(work[i].target.Account, work[i].target.Region, "", work[j].target.Account, work[j].target.Region, "") < 0
	})
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Concurrency)
	for _, l := range work {
		g.Go(func() error {
			for _, e := range c.describeAll(gctx, l, sink) {
				addErr(e)
			}
			l.release()
			if c.opts.Done != nil {
				c.opts.Done(l.target)
			}
			return nil
		})
	}
	_ = g.Wait()
	SortErrors(errs)
	return errs
}

// listError explains a failed ListTables. In a region that is not enabled,
// AWS answers with an authentication error, so that case is told apart with
// ec2:DescribeRegions (one extra call, only when something already failed).
func (c *Collector) listError(ctx context.Context, t model.Target, err error) model.ScanError {
	reason, code, msg := awsx.Classify(err)
	e := model.ScanError{Account: t.Account, Region: t.Region, Code: code, Reason: reason, Message: "cannot list tables: " + msg}
	switch code {
	case "UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure", "OptInRequired", "InvalidSignatureException":
		if cfg, aerr := c.p.Account(ctx, t.Account); aerr == nil && regionDisabled(ctx, c.opts.Clients.ec2(cfg), c.p.Caller().Partition, t.Region) {
			e.Code, e.Reason = "RegionDisabled", model.ReasonRegionDisabled
			e.Message = "region " + t.Region + " is not enabled in account " + t.Account + " (enable it in the account settings, or leave it out of --regions)"
		}
	}
	return e
}

func (c *Collector) list(ctx context.Context, t model.Target) (*listed, error) {
	cfg, err := c.p.Account(ctx, t.Account)
	if err != nil {
		return nil, err
	}
	cfg = awsx.ForRegion(cfg, t.Region)
	l := &listed{target: t, cfg: cfg}
	db := c.opts.Clients.dynamodb(cfg)
	pg := dynamodb.NewListTablesPaginator(db, &dynamodb.ListTablesInput{}, func(o *dynamodb.ListTablesPaginatorOptions) {
		o.StopOnDuplicateToken = true
	})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, n := range out.TableNames {
			if c.opts.Only == nil || c.opts.Only(t.Account, t.Region, n) {
				l.names = append(l.names, n)
			}
		}
	}
	if c.opts.Prefill != nil && len(l.names) > 0 {
		l.pre = c.opts.Prefill(t, l.names)
	}
	return l, nil
}

// bulkTags reads the tags of every tagged table in one account-region with the
// Resource Groups Tagging API (one call per 100 tables). Untagged tables are
// absent from its answer, as in AWS. It returns nil when the API fails, and
// the caller falls back to ListTagsOfResource per table.
func bulkTags(ctx context.Context, c TagReader) map[string]map[string]string {
	tags := map[string]map[string]string{}
	pg := resourcegroupstaggingapi.NewGetResourcesPaginator(c, &resourcegroupstaggingapi.GetResourcesInput{
		ResourceTypeFilters: []string{"dynamodb:table"},
		ResourcesPerPage:    aws.Int32(100),
	})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return nil
		}
		for _, m := range out.ResourceTagMappingList {
			t := map[string]string{}
			for _, kv := range m.Tags {
				t[aws.ToString(kv.Key)] = aws.ToString(kv.Value)
			}
			tags[aws.ToString(m.ResourceARN)] = t
		}
	}
	return tags
}

// describeAll reads every listed table of one account-region and returns an
// error for each table it could not read because ctx ended.
func (c *Collector) describeAll(ctx context.Context, l *listed, sink func(*model.Table)) []model.ScanError {
	db := c.opts.Clients.dynamodb(l.cfg)
	if len(l.names) > len(l.pre.Known) { // only when some table is read live
		// Read when the account-region's turn comes, not when it is listed:
		// that would hold every account-region's tags at once.
		l.tags = bulkTags(ctx, c.opts.Clients.tagging(l.cfg))
	}
	next := atomic.Int64{}
	done := make([]bool, len(l.names)) // each index is written by one worker only
	var wg sync.WaitGroup
	for range min(c.opts.TableWorkers, len(l.names)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(l.names) || ctx.Err() != nil {
					return
				}
				t, ok := l.pre.Known[l.names[i]]
				if !ok {
					t = c.describe(ctx, db, l, l.names[i])
				}
				if ctx.Err() != nil {
					return // ended mid-table: reported as not read, rather than as a guess
				}
				done[i] = true
				sink(t)
				if c.opts.Progress != nil {
					c.opts.Progress.TableDone()
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() == nil {
		return nil
	}
	reason, code, _ := awsx.Classify(ctx.Err())
	var errs []model.ScanError
	for i, name := range l.names {
		if !done[i] {
			errs = append(errs, model.ScanError{Account: l.target.Account, Region: l.target.Region, Table: name, Code: code, Reason: reason,
				Message: "not read: the run ended (" + ctx.Err().Error() + ") before this table's PITR status was known"})
		}
	}
	return errs
}

func (c *Collector) describe(ctx context.Context, db TableReader, l *listed, name string) *model.Table {
	t := newTable(c.p.Caller().Partition, l.target.Account, l.target.Region, name)
	t.SourceReason = l.pre.LiveReason[name]
	if !describeInto(ctx, db, t) {
		return t // vanished between ListTables and DescribeTable: nothing else to read
	}
	readPITR(ctx, db, t)
	c.readTags(ctx, db, l, t, func(op string, err error) { noteReadError(t, op, err) })
	return t
}

// newTable is the empty record of one table read live, named by its ARN.
func newTable(partition, account, region, name string) *model.Table {
	t := &model.Table{Account: account, Region: region, Name: name, Tags: map[string]string{}, Replicas: []model.Replica{},
		Source: model.SourceLive}
	t.ARN = arn.ARN{Partition: partition, Service: "dynamodb", Region: region, AccountID: account, Resource: "table/" + name}.String()
	return t
}

// noteReadError records a failed read of t, classified.
func noteReadError(t *model.Table, op string, err error) {
	reason, code, msg := awsx.Classify(err)
	t.ReadErrors = append(t.ReadErrors, model.ReadError{Op: op, Code: code, Reason: reason, Message: msg})
}

// describeInto reads DescribeTable into t. It returns false only when the
// table does not exist (then nothing else about it can be read).
func describeInto(ctx context.Context, db TableReader, t *model.Table) bool {
	dt, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
	if err != nil {
		noteReadError(t, "DescribeTable", err)
		var nf *ddbtypes.ResourceNotFoundException
		return !errors.As(err, &nf)
	}
	fillDescription(t, dt.Table)
	return true
}

// readPITR reads DescribeContinuousBackups into t.
func readPITR(ctx context.Context, db TableReader, t *model.Table) {
	cb, err := db.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(t.Name)})
	if err != nil {
		noteReadError(t, "DescribeContinuousBackups", err)
		return
	}
	t.PITR = PITROf(cb.ContinuousBackupsDescription)
}

// readTags fills t.Tags from the bulk answer, asking ListTagsOfResource only
// when the bulk read failed, or when the table is missing from it but was
// created within RecentTableWindow (GetResources is eventually consistent, so
// absence then proves nothing). An untagged old table costs no extra call.
func (c *Collector) readTags(ctx context.Context, db TableReader, l *listed, t *model.Table, readErr func(string, error)) {
	if l.tags != nil {
		tags, ok := l.tags[t.ARN]
		if ok {
			t.Tags, t.TagsKnown = tags, true
			return
		}
		if !c.recent(t.CreatedAt) {
			t.TagsKnown = t.DescribeKnown // an old table absent from the bulk answer has no tags
			if t.TagsKnown {
				return
			}
		}
	}
	if !t.DescribeKnown && l.tags == nil {
		return // the table could not be described: do not spend a call on its tags
	}
	tags, err := ListTags(ctx, db, t.ARN)
	if err != nil {
		readErr("ListTagsOfResource", err)
		return
	}
	t.Tags, t.TagsKnown = tags, true
}

// recent reports whether a table created at created may still be missing from
// the tagging API (see RecentTableWindow).
func (c *Collector) recent(created *time.Time) bool {
	if created == nil {
		return false
	}
	age := c.opts.Now().Sub(*created)
	return age > -clockSkew && age < RecentTableWindow
}

// TagLister is the one DynamoDB call ListTags makes.
type TagLister interface {
	ListTagsOfResource(context.Context, *dynamodb.ListTagsOfResourceInput, ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error)
}

// ListTags reads all of a table's tags with ListTagsOfResource (which has no
// paginator: it loops on NextToken, and refuses a token it has seen before).
func ListTags(ctx context.Context, db TagLister, tableARN string) (map[string]string, error) {
	tags := map[string]string{}
	in := &dynamodb.ListTagsOfResourceInput{ResourceArn: aws.String(tableARN)}
	seen := map[string]bool{}
	for {
		out, err := db.ListTagsOfResource(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, kv := range out.Tags {
			tags[aws.ToString(kv.Key)] = aws.ToString(kv.Value)
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			return tags, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("ListTagsOfResource returned the pagination token %q twice", next)
		}
		seen[next] = true
		in.NextToken = out.NextToken
	}
}

func fillDescription(t *model.Table, d *ddbtypes.TableDescription) {
	if d == nil {
		return
	}
	t.DescribeKnown = true
	t.Status = string(d.TableStatus)
	if a := aws.ToString(d.TableArn); a != "" {
		t.ARN = a
	}
	t.SizeBytes = aws.ToInt64(d.TableSizeBytes)
	t.ItemCount = aws.ToInt64(d.ItemCount)
	for _, lsi := range d.LocalSecondaryIndexes {
		t.LSISizeBytes += aws.ToInt64(lsi.IndexSizeBytes)
	}
	for _, gsi := range d.GlobalSecondaryIndexes {
		t.GSISizeBytes += aws.ToInt64(gsi.IndexSizeBytes)
	}
	t.BillingMode = string(ddbtypes.BillingModeProvisioned)
	if d.BillingModeSummary != nil && d.BillingModeSummary.BillingMode != "" {
		t.BillingMode = string(d.BillingModeSummary.BillingMode)
	}
	t.TableClass = string(ddbtypes.TableClassStandard)
	if d.TableClassSummary != nil && d.TableClassSummary.TableClass != "" {
		t.TableClass = string(d.TableClassSummary.TableClass)
	}
	t.DeletionProtection = aws.ToBool(d.DeletionProtectionEnabled)
	for _, r := range d.Replicas {
		t.Replicas = append(t.Replicas, model.Replica{Region: aws.ToString(r.RegionName), Status: string(r.ReplicaStatus)})
	}
	sort.Slice(t.Replicas, func(i, j int) bool { return t.Replicas[i].Region < t.Replicas[j].Region })
	if s := d.StreamSpecification; s != nil {
		t.Stream = &model.Stream{Enabled: aws.ToBool(s.StreamEnabled), ViewType: string(s.StreamViewType)}
	}
	if d.CreationDateTime != nil {
		ct := d.CreationDateTime.UTC()
		t.CreatedAt = &ct
	}
}

// PITROf reads PITR from DescribeContinuousBackups. Only
// PointInTimeRecoveryStatus means PITR: ContinuousBackupsStatus is always
// ENABLED and says nothing about it.
func PITROf(d *ddbtypes.ContinuousBackupsDescription) model.PITR {
	p := model.PITR{Known: true}
	if d == nil || d.PointInTimeRecoveryDescription == nil {
		return p // no description: PITR is off (the API default)
	}
	pd := d.PointInTimeRecoveryDescription
	p.Enabled = pd.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled
	if !p.Enabled {
		return p
	}
	p.RecoveryPeriodDays = model.RecoveryDays(aws.ToInt32(pd.RecoveryPeriodInDays))
	p.EarliestRestorable = utc(pd.EarliestRestorableDateTime)
	p.LatestRestorable = utc(pd.LatestRestorableDateTime)
	return p
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
