// Package drill proves that tables can be restored and measures how long it
// takes (MTTR): it restores each table into a scratch table, waits for it,
// validates it against the source, and always deletes the scratch table — but
// only a table that carries pitrguard's drill tag and name prefix.
package drill

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/restore"
)

// Scratch tables are named with this prefix and carry TagKey=true.
const (
	Prefix    = "pitrguard-drill-"
	TagKey    = "pitrguard:drill"
	TagSource = "pitrguard:drill-source"
)

// Item is a table to drill.
type Item struct {
	Account, Region, Table, ARN string
	SizeBytes                   int64
	Tier                        string
}

// Check is one validation.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Result is one drill. Field names are part of the JSON contract.
type Result struct {
	Account        string     `json:"account"`
	Region         string     `json:"region"`
	Table          string     `json:"table"`
	ScratchTable   string     `json:"scratch_table"`
	RestorePoint   *time.Time `json:"restore_point"`
	RestoreSeconds float64    `json:"restore_seconds"`
	TotalSeconds   float64    `json:"total_seconds"`
	Result         string     `json:"result"` // passed, failed
	Checks         []Check    `json:"checks"`
	Cleanup        string     `json:"cleanup"` // deleted, failed
	CleanupDetail  string     `json:"cleanup_detail,omitempty"`
	SizeBytes      int64      `json:"size_bytes"`
	StartedAt      time.Time  `json:"started_at"`
}

// Options tune drills.
type Options struct {
	At              *time.Time // restore point; nil = latest restorable time
	Wait, Poll      time.Duration
	Sample          int     // items read back and compared with the source
	CountTolerance  float64 // allowed relative difference in item count
	SampleTolerance float64 // allowed share of sampled items that differ
	Concurrency     int
	Now             func() time.Time
	// Done is told about each finished drill (progress, evidence).
	Done func(Result)
}

// Clients returns a DynamoDB client for an account-region.
type Clients func(ctx context.Context, account, region string) (*dynamodb.Client, error)

// ScratchName is the scratch table for table at t (at most 255 characters).
func ScratchName(table string, t time.Time) string {
	suffix := "-" + t.UTC().Format("20060102t150405")
	if room := 255 - len(Prefix) - len(suffix); len(table) > room {
		table = table[:room]
	}
	return Prefix + table + suffix
}

// Run drills every item, at most o.Concurrency at once (AWS allows 50
// concurrent restores per account), and returns the results in item order.
func Run(ctx context.Context, items []Item, clients Clients, o Options) []Result {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	out := make([]Result, len(items))
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i] = Result{Account: it.Account, Region: it.Region, Table: it.Table, Result: "failed", Cleanup: "not_needed",
					Checks: []Check{{Name: "restore", OK: false, Detail: "interrupted before the drill started"}}}
				return
			}
			defer func() { <-sem }()
			out[i] = one(ctx, it, clients, o)
			if o.Done != nil {
				o.Done(out[i])
			}
		})
	}
	wg.Wait()
	return out
}

func one(ctx context.Context, it Item, clients Clients, o Options) (r Result) {
	// o.Now names and dates the drill; durations use the monotonic clock.
	start := o.Now().UTC()
	began := time.Now()
	r = Result{Account: it.Account, Region: it.Region, Table: it.Table, SizeBytes: it.SizeBytes, StartedAt: start,
		ScratchTable: ScratchName(it.Table, start), Cleanup: "not_needed", Checks: []Check{}}
	check := func(name string, ok bool, format string, args ...any) {
		r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	defer func() {
		r.Result = "passed"
		for _, c := range r.Checks {
			if !c.OK {
				r.Result = "failed"
			}
		}
		r.TotalSeconds = round(time.Since(began).Seconds())
	}()
	db, err := clients(ctx, it.Account, it.Region)
	if err != nil {
		_, code, msg := awsx.Classify(err)
		check("restore", false, "cannot enter account %s: %s: %s", it.Account, code, msg)
		return r
	}
	src, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(it.Table)})
	if err != nil {
		_, code, msg := awsx.Classify(err)
		check("restore", false, "read the source: %s: %s", code, msg)
		return r
	}

	in := &dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String(it.Table), TargetTableName: aws.String(r.ScratchTable)}
	if o.At != nil {
		in.RestoreDateTime = o.At
		at := o.At.UTC()
		r.RestorePoint = &at
	} else {
		in.UseLatestRestorableTime = aws.Bool(true)
	}
	requested := time.Now()
	if _, err := db.RestoreTableToPointInTime(ctx, in); err != nil {
		check("restore", false, "%v", restoreError(err, it.Table))
		var exists *ddbtypes.TableAlreadyExistsException
		var inUse *ddbtypes.TableInUseException
		if errors.As(err, &exists) || errors.As(err, &inUse) {
			return r // the name belongs to a table this drill did not create: never touch it
		}
		// Interrupted, connection lost, or a 5xx: the request may have reached
		// AWS and created the scratch table. If it exists, it is ours: tag it
		// and clean it up like any other.
		bg := context.WithoutCancel(ctx)
		if _, derr := db.DescribeTable(bg, &dynamodb.DescribeTableInput{TableName: aws.String(r.ScratchTable)}); derr == nil {
			_ = tag(bg, db, r.ScratchTable, it)
			r.Cleanup, r.CleanupDetail = cleanup(bg, db, r.ScratchTable, o)
		}
		return r
	}
	// From here a scratch table exists: delete it whatever happens next.
	defer func() {
		r.Cleanup, r.CleanupDetail = cleanup(context.WithoutCancel(ctx), db, r.ScratchTable, o)
	}()
	// Tag it at once, so that even a drill cut short leaves a table that
	// `pitrguard drill cleanup` recognises; retried after ACTIVE if AWS refuses
	// to tag a table that is still being created.
	tagged := tag(ctx, db, r.ScratchTable, it) == nil

	if _, err := restore.WaitActive(ctx, db, r.ScratchTable, o.Wait, o.Poll, nil); err != nil {
		if !tagged {
			// So that cleanup (which deletes only tagged tables) can remove it.
			_ = tag(context.WithoutCancel(ctx), db, r.ScratchTable, it)
		}
		check("restore", false, "scratch table not ACTIVE: %v", err)
		return r
	}
	r.RestoreSeconds = round(time.Since(requested).Seconds())
	if !tagged {
		if err := tag(ctx, db, r.ScratchTable, it); err != nil {
			check("tag", false, "cannot tag the scratch table %s=true: %v", TagKey, err)
		}
	}
	scratch, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.ScratchTable)})
	if err != nil {
		check("restore", false, "read the scratch table: %v", err)
		return r
	}
	if r.RestorePoint == nil && scratch.Table.RestoreSummary != nil && scratch.Table.RestoreSummary.RestoreDateTime != nil {
		rp := scratch.Table.RestoreSummary.RestoreDateTime.UTC()
		r.RestorePoint = &rp
	}
	check("restore", true, "ACTIVE %.1fs after the request", r.RestoreSeconds)
	validate(ctx, db, src.Table, scratch.Table, o, check)
	return r
}

func tag(ctx context.Context, db *dynamodb.Client, scratch string, it Item) error {
	arn := strings.Replace(it.ARN, "table/"+it.Table, "table/"+scratch, 1)
	_, err := db.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: aws.String(arn), Tags: []ddbtypes.Tag{
		{Key: aws.String(TagKey), Value: aws.String("true")}, {Key: aws.String(TagSource), Value: aws.String(it.ARN)}}})
	return err
}

func restoreError(err error, table string) error {
	var pitrOff *ddbtypes.PointInTimeRecoveryUnavailableException
	var badTime *ddbtypes.InvalidRestoreTimeException
	_, code, msg := awsx.Classify(err)
	switch {
	case errors.As(err, &pitrOff):
		return fmt.Errorf("%s: %s — PITR is not enabled on %s, so it cannot be restored", code, msg, table)
	case errors.As(err, &badTime):
		return fmt.Errorf("%s: %s — the restore point is outside the restorable window; drop --at to use the latest restorable time", code, msg)
	}
	return fmt.Errorf("RestoreTableToPointInTime: %s: %s", code, msg)
}

// validate compares the scratch table with the source.
func validate(ctx context.Context, db *dynamodb.Client, src, scratch *ddbtypes.TableDescription, o Options, check func(string, bool, string, ...any)) {
	keys := func(d *ddbtypes.TableDescription) string {
		var s []string
		for _, k := range d.KeySchema {
			s = append(s, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		return strings.Join(s, ",")
	}
	check("key_schema", keys(src) == keys(scratch), "source %s, restored %s", keys(src), keys(scratch))
	si, ri := restore.IndexNames(src), restore.IndexNames(scratch)
	check("indexes", slices.Equal(si, ri), "source [%s], restored [%s]", strings.Join(si, " "), strings.Join(ri, " "))

	// Count the scratch table (ours to scan); the source's count comes from
	// DescribeTable (refreshed by AWS about every six hours), so the source
	// is never scanned.
	n, err := count(ctx, db, aws.ToString(scratch.TableName))
	want := aws.ToInt64(src.ItemCount)
	if err != nil {
		check("item_count", false, "scan the scratch table: %v", err)
	} else {
		diff := math.Abs(float64(n-want)) / math.Max(1, float64(want))
		check("item_count", diff <= o.CountTolerance, "restored %d items, source reports %d (tolerance %.1f%%)", n, want, o.CountTolerance*100)
	}

	if o.Sample <= 0 {
		return
	}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: scratch.TableName, Limit: aws.Int32(int32(o.Sample))})
	if err != nil {
		check("sample", false, "read sample items from the scratch table: %v", err)
		return
	}
	same, differ := 0, 0
	for _, item := range out.Items {
		key := map[string]ddbtypes.AttributeValue{}
		for _, k := range src.KeySchema {
			key[aws.ToString(k.AttributeName)] = item[aws.ToString(k.AttributeName)]
		}
		got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: src.TableName, Key: key})
		if err != nil {
			check("sample", false, "read the source item: %v", err)
			return
		}
		if reflect.DeepEqual(got.Item, item) {
			same++
		} else {
			differ++ // changed or deleted in the source since the restore point
		}
	}
	total := same + differ
	if total == 0 {
		check("sample", want == 0, "no items to sample")
		return
	}
	check("sample", float64(differ)/float64(total) <= o.SampleTolerance,
		"%d of %d sampled items equal the source (%d differ: changed since the restore point, or not restored)", same, total, differ)
}

func count(ctx context.Context, db *dynamodb.Client, table string) (int64, error) {
	var n int64
	in := &dynamodb.ScanInput{TableName: aws.String(table), Select: ddbtypes.SelectCount}
	for {
		out, err := db.Scan(ctx, in)
		if err != nil {
			return n, err
		}
		n += int64(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			return n, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// cleanup deletes the scratch table, but only if its name has the drill
// prefix and it carries the drill tag.
func cleanup(ctx context.Context, db *dynamodb.Client, name string, o Options) (string, string) {
	if !strings.HasPrefix(name, Prefix) {
		return "failed", "refused: " + name + " does not have the drill prefix"
	}
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var nf *ddbtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return "deleted", "already gone"
	}
	if err != nil {
		return "failed", "read the scratch table: " + err.Error()
	}
	ok, err := hasDrillTag(ctx, db, aws.ToString(d.Table.TableArn))
	if err != nil || !ok {
		return "failed", fmt.Sprintf("refused to delete %s: it does not carry %s=true (%v); check it and delete it by hand", name, TagKey, err)
	}
	if d.Table.TableStatus == ddbtypes.TableStatusCreating || d.Table.TableStatus == ddbtypes.TableStatusUpdating {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		_, err := restore.WaitActive(wctx, db, name, 10*time.Minute, o.Poll, nil)
		cancel()
		if err != nil {
			return "failed", fmt.Sprintf("%s is still %s; run `pitrguard drill cleanup` once it is ACTIVE", name, d.Table.TableStatus)
		}
	}
	if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
		_, code, msg := awsx.Classify(err)
		return "failed", fmt.Sprintf("DeleteTable %s: %s: %s; run `pitrguard drill cleanup`", name, code, msg)
	}
	return "deleted", ""
}

func hasDrillTag(ctx context.Context, db *dynamodb.Client, arn string) (bool, error) {
	in := &dynamodb.ListTagsOfResourceInput{ResourceArn: aws.String(arn)}
	for {
		out, err := db.ListTagsOfResource(ctx, in)
		if err != nil {
			return false, err
		}
		for _, t := range out.Tags {
			if aws.ToString(t.Key) == TagKey && aws.ToString(t.Value) == "true" {
				return true, nil
			}
		}
		if out.NextToken == nil {
			return false, nil
		}
		in.NextToken = out.NextToken
	}
}

// Leftover is a scratch table found by Cleanup.
type Leftover struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Table   string `json:"table"`
	Result  string `json:"result"` // deleted, failed, skipped (no tag)
	Detail  string `json:"detail"`
}

// Cleanup finds scratch tables in an account-region and deletes those that
// carry the drill tag; tables with the prefix but without the tag are listed
// and left alone.
func Cleanup(ctx context.Context, db *dynamodb.Client, account, region string, o Options) ([]Leftover, error) {
	var out []Leftover
	pg := dynamodb.NewListTablesPaginator(db, &dynamodb.ListTablesInput{}, func(po *dynamodb.ListTablesPaginatorOptions) { po.StopOnDuplicateToken = true })
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return out, err
		}
		for _, name := range page.TableNames {
			if !strings.HasPrefix(name, Prefix) {
				continue
			}
			res, detail := cleanup(ctx, db, name, o)
			if res == "failed" && strings.HasPrefix(detail, "refused") {
				res = "skipped"
			}
			out = append(out, Leftover{Account: account, Region: region, Table: name, Result: res, Detail: detail})
		}
	}
	return out, nil
}

// Summary is the drills' KPIs.
type Summary struct {
	Drills       int                    `json:"drills"`
	Passed       int                    `json:"passed"`
	Failed       int                    `json:"failed"`
	LeftBehind   int                    `json:"scratch_tables_left"`
	MTTRMedian   float64                `json:"mttr_seconds_median"`
	MTTRP90      float64                `json:"mttr_seconds_p90"`
	BySizeBucket map[string]BucketStats `json:"by_size_bucket"`
}

// BucketStats are restore times for one size bucket.
type BucketStats struct {
	Drills     int     `json:"drills"`
	MTTRMedian float64 `json:"mttr_seconds_median"`
	MTTRP90    float64 `json:"mttr_seconds_p90"`
}

// Bucket names a table size range.
func Bucket(bytes int64) string {
	const gib = 1 << 30
	switch {
	case bytes < gib:
		return "<1GiB"
	case bytes < 10*gib:
		return "1-10GiB"
	case bytes < 100*gib:
		return "10-100GiB"
	}
	return ">=100GiB"
}

// Summarize computes passed/failed and MTTR (restore request → ACTIVE) of
// the passed drills, overall and by size bucket.
func Summarize(rs []Result) Summary {
	s := Summary{Drills: len(rs), BySizeBucket: map[string]BucketStats{}}
	var all []float64
	by := map[string][]float64{}
	for _, r := range rs {
		if r.Result == "passed" {
			s.Passed++
		} else {
			s.Failed++
		}
		if r.Cleanup == "failed" {
			s.LeftBehind++
		}
		if r.RestoreSeconds > 0 {
			all = append(all, r.RestoreSeconds)
			by[Bucket(r.SizeBytes)] = append(by[Bucket(r.SizeBytes)], r.RestoreSeconds)
		}
	}
	s.MTTRMedian, s.MTTRP90 = Percentile(all, 50), Percentile(all, 90)
	for b, xs := range by {
		s.BySizeBucket[b] = BucketStats{Drills: len(xs), MTTRMedian: Percentile(xs, 50), MTTRP90: Percentile(xs, 90)}
	}
	return s
}

// Percentile is the p-th percentile (nearest rank) of xs; 0 for none.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

func round(f float64) float64 { return math.Round(f*100) / 100 }
