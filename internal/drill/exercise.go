package drill

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/restore"
)

// drillRun is the state of one drill.
type drillRun struct {
	it        Item
	o         Options
	db        API
	r         *Result
	sourceARN string
	// requested is when the restore was requested, for ownership (to the
	// second, as AWS dates tables); sent is the same instant for timing
	// (monotonic clock).
	requested time.Time
	sent      time.Time
}

func (x *drillRun) check(name string, ok bool, format string, args ...any) {
	x.r.Checks = append(x.r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

func one(ctx context.Context, it Item, o Options, d Deps) (r Result) {
	// o.Now names and dates the drill; durations use the monotonic clock.
	start := o.Now().UTC()
	began := time.Now()
	r = Result{Account: it.Account, Region: it.Region, Table: it.Table, SizeBytes: it.SizeBytes, StartedAt: start,
		ScratchTable: ScratchName(it.Table, start, d.Nonce()), Cleanup: "not_needed", Checks: []Check{}}
	x := &drillRun{it: it, o: o, r: &r, sourceARN: it.ARN}
	defer func() {
		r.Result = "passed"
		for _, c := range r.Checks {
			if !c.OK {
				r.Result = "failed"
			}
		}
		r.TotalSeconds = model.RoundCents(time.Since(began).Seconds())
	}()
	db, err := d.Clients(ctx, it.Account, it.Region)
	if err != nil {
		_, code, msg := awsx.Classify(err)
		x.check("restore", false, "cannot enter account %s: %s: %s", it.Account, code, msg)
		return r
	}
	x.db = db
	src, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(it.Table)})
	if err != nil {
		_, code, msg := awsx.Classify(err)
		x.check("restore", false, "read the source: %s: %s", code, msg)
		return r
	}
	if a := aws.ToString(src.Table.TableArn); a != "" {
		x.sourceARN = a
	}
	if !x.restore(ctx) {
		return r
	}
	// From here a scratch table of ours exists: delete it whatever happens next.
	defer func() {
		r.Cleanup, r.CleanupDetail = cleanup(context.WithoutCancel(ctx), db, r.ScratchTable, o.Poll)
	}()
	x.exercise(ctx, src.Table)
	return r
}

// restore requests the restore and reports whether a scratch table of this
// drill exists afterwards (and must be validated, then deleted).
func (x *drillRun) restore(ctx context.Context) bool {
	in := &dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String(x.it.Table), TargetTableName: aws.String(x.r.ScratchTable)}
	if x.o.At != nil {
		in.RestoreDateTime = x.o.At
		at := x.o.At.UTC()
		x.r.RestorePoint = &at
	} else {
		in.UseLatestRestorableTime = aws.Bool(true)
	}
	// AWS dates the table in (at best) milliseconds: compare from the second.
	x.sent = time.Now()
	x.requested = x.sent.Truncate(time.Second)
	_, err := x.db.RestoreTableToPointInTime(ctx, in)
	if err == nil {
		return true
	}
	var exists *ddbtypes.TableAlreadyExistsException
	var inUse *ddbtypes.TableInUseException
	bg := context.WithoutCancel(ctx)
	if errors.As(err, &exists) || errors.As(err, &inUse) {
		// The first attempt may have created the table and lost its answer,
		// so the SDK's retry was told the name is taken: if the table is ours,
		// carry on with it; otherwise never touch it.
		owned, why := x.owned(bg, 1)
		if owned {
			return true
		}
		x.check("restore", false, "%v; %s is not this drill's table (%s): left untouched", restoreError(err, x.it.Table), x.r.ScratchTable, why)
		return false
	}
	x.check("restore", false, "%v", restoreError(err, x.it.Table))
	// Interrupted, connection lost, or a 5xx: the request may have reached
	// AWS and created the scratch table. If a table of that name is ours, tag
	// it and clean it up; a table that is not ours is never touched.
	owned, why := x.owned(bg, 3)
	switch {
	case owned:
		_ = x.tag(bg)
		x.r.Cleanup, x.r.CleanupDetail = cleanup(bg, x.db, x.r.ScratchTable, x.o.Poll)
	case why != "" && why != notFound:
		x.r.CleanupDetail = fmt.Sprintf("a table named %s exists but is not this drill's (%s): left untouched", x.r.ScratchTable, why)
	}
	return false
}

const notFound = "no such table"

// owned reads the scratch table (polling up to tries times while it is not
// visible yet) and decides whether this drill created it.
func (x *drillRun) owned(ctx context.Context, tries int) (bool, string) {
	for try := 1; ; try++ {
		out, err := x.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(x.r.ScratchTable)})
		var nf *ddbtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
			if try >= tries {
				return false, notFound
			}
		case err != nil:
			_, code, msg := awsx.Classify(err)
			return false, fmt.Sprintf("cannot read it: %s: %s", code, msg)
		default:
			return Owned(out.Table, x.sourceARN, x.requested)
		}
		select {
		case <-ctx.Done():
			return false, notFound
		case <-time.After(x.o.Poll):
		}
	}
}

// Owned decides whether a table is a restore of sourceARN requested at
// requested: its RestoreSummary must name the source and its CreationDateTime
// must be at or after the request. The reason says why not.
func Owned(d *ddbtypes.TableDescription, sourceARN string, requested time.Time) (bool, string) {
	if d == nil {
		return false, notFound
	}
	rs := d.RestoreSummary
	if rs == nil || aws.ToString(rs.SourceTableArn) == "" {
		return false, "it is not a restore (no RestoreSummary)"
	}
	if got := aws.ToString(rs.SourceTableArn); got != sourceARN {
		return false, fmt.Sprintf("it is a restore of %s, not of %s", got, sourceARN)
	}
	if d.CreationDateTime == nil {
		return false, "its creation time is unknown"
	}
	if d.CreationDateTime.Before(requested) {
		return false, fmt.Sprintf("it was created at %s, before this drill's request at %s",
			d.CreationDateTime.UTC().Format(time.RFC3339), requested.UTC().Format(time.RFC3339))
	}
	return true, ""
}

// exercise tags, waits for, times and validates the scratch table.
func (x *drillRun) exercise(ctx context.Context, src *ddbtypes.TableDescription) {
	// Tag at once, so that even a drill cut short leaves a table that
	// `pitrguard drill cleanup` recognises; retried after ACTIVE if AWS
	// refuses to tag a table that is still being created.
	tagged := x.tag(ctx) == nil
	if err := waitActive(ctx, x.db, x.r.ScratchTable, x.o.Wait, x.o.Poll); err != nil {
		if !tagged {
			_ = x.tag(context.WithoutCancel(ctx)) // so that cleanup can remove it
		}
		x.check("restore", false, "scratch table not ACTIVE: %v", err)
		return
	}
	x.r.RestoreSeconds = model.RoundCents(time.Since(x.sent).Seconds())
	if !tagged {
		if err := x.tag(ctx); err != nil {
			_, code, msg := awsx.Classify(err)
			x.check("tag", false, "cannot tag the scratch table %s=true: %s: %s", TagKey, code, msg)
		}
	}
	scratch, err := x.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(x.r.ScratchTable)})
	if err != nil {
		_, code, msg := awsx.Classify(err)
		x.check("restore", false, "read the scratch table: %s: %s", code, msg)
		return
	}
	if rs := scratch.Table.RestoreSummary; x.r.RestorePoint == nil && rs != nil && rs.RestoreDateTime != nil {
		rp := rs.RestoreDateTime.UTC()
		x.r.RestorePoint = &rp
	}
	x.check("restore", true, "ACTIVE %.1fs after the request", x.r.RestoreSeconds)
	validate(ctx, x.db, src, scratch.Table, x.o, x.check)
}

// tag marks the scratch table as the drill's.
func (x *drillRun) tag(ctx context.Context) error {
	ref, err := model.ParseTableARN(x.sourceARN)
	if err != nil {
		return err
	}
	ref.Name = x.r.ScratchTable
	_, err = x.db.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: aws.String(ref.ARN()), Tags: []ddbtypes.Tag{
		{Key: aws.String(TagKey), Value: aws.String("true")}, {Key: aws.String(TagSource), Value: aws.String(x.sourceARN)}}})
	return err
}

// waitActive polls DescribeTable until the table is ACTIVE, limit passes or
// ctx ends. The interval grows to at most a minute.
func waitActive(ctx context.Context, db API, name string, limit, poll time.Duration) error {
	start := time.Now()
	interval := poll
	for {
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		var nf *ddbtypes.ResourceNotFoundException
		switch {
		case err == nil && out.Table.TableStatus == ddbtypes.TableStatusActive:
			return nil
		case err == nil, errors.As(err, &nf): // not ACTIVE, or not visible yet
		default:
			_, code, msg := awsx.Classify(err)
			return fmt.Errorf("wait for %s: %s: %s", name, code, msg)
		}
		if time.Since(start)+interval > limit {
			return fmt.Errorf("%s is not ACTIVE after %s", name, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
		interval = min(interval*2, time.Minute)
	}
}

func restoreError(err error, table string) error {
	var pitrOff *ddbtypes.PointInTimeRecoveryUnavailableException
	var badTime *ddbtypes.InvalidRestoreTimeException
	var notFound *ddbtypes.TableNotFoundException
	var limit *ddbtypes.LimitExceededException
	_, code, msg := awsx.Classify(err)
	switch {
	case errors.As(err, &pitrOff):
		return fmt.Errorf("%s: %s — PITR is not enabled on %s, so it cannot be restored", code, msg, table)
	case errors.As(err, &badTime):
		return fmt.Errorf("%s: %s — the restore point is outside the restorable window; drop --to to use the latest restorable time", code, msg)
	case errors.As(err, &notFound):
		return fmt.Errorf("%s: %s — the source table %s no longer exists in this region", code, msg, table)
	case errors.As(err, &limit):
		return fmt.Errorf("%s: %s — too many table operations are running in this account; drill again later or lower --parallel", code, msg)
	}
	return fmt.Errorf("RestoreTableToPointInTime: %s: %s", code, msg)
}

// validate compares the scratch table with the source.
func validate(ctx context.Context, db API, src, scratch *ddbtypes.TableDescription, o Options, check func(string, bool, string, ...any)) {
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
		_, code, msg := awsx.Classify(err)
		check("item_count", false, "scan the scratch table: %s: %s", code, msg)
	} else {
		diff := math.Abs(float64(n-want)) / math.Max(1, float64(want))
		check("item_count", diff <= o.CountTolerance, "restored %d items, source reports %d (tolerance %.1f%%)", n, want, o.CountTolerance*100)
	}
	if o.Sample > 0 {
		sample(ctx, db, src, scratch, want, o, check)
	}
}

// sample reads items from the scratch table and the same keys from the source.
func sample(ctx context.Context, db API, src, scratch *ddbtypes.TableDescription, want int64, o Options, check func(string, bool, string, ...any)) {
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: scratch.TableName, Limit: aws.Int32(int32(min(o.Sample, math.MaxInt32)))})
	if err != nil {
		_, code, msg := awsx.Classify(err)
		check("sample", false, "read sample items from the scratch table: %s: %s", code, msg)
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
			_, code, msg := awsx.Classify(err)
			check("sample", false, "read the source item: %s: %s", code, msg)
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

func count(ctx context.Context, db API, table string) (int64, error) {
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
