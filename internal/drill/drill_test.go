package drill

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/pitrguard/pitrguard/internal/model"
)

var at = time.Date(2026, 11, 24, 14, 3, 27, 0, time.UTC)

func TestScratchName(t *testing.T) {
	if got := ScratchName("orders", at, "0a1b2c3d"); got != "pitrguard-drill-orders-20261124t140327-0a1b2c3d" {
		t.Errorf("got %s", got)
	}
	long := ScratchName(strings.Repeat("x", 255), at, "0a1b2c3d")
	if len(long) != 255 || !strings.HasPrefix(long, Prefix) || !strings.HasSuffix(long, "-20261124t140327-0a1b2c3d") {
		t.Errorf("long name: %d %s", len(long), long)
	}
	src, when, ok := ParseScratchName(long)
	if !ok || !when.Equal(at) || !strings.HasPrefix(strings.Repeat("x", 255), src) || len(src) == 0 {
		t.Errorf("parse %s: %q %v %v", long, src, when, ok)
	}
	if _, _, ok := ParseScratchName(Prefix + "not-ours"); ok {
		t.Error("parsed a name ScratchName never writes")
	}
}

// TestScratchNamesUniquePerRun: two drills of the same table in the same
// second (two cron jobs) get different scratch names (issue 9 #2).
func TestScratchNamesUniquePerRun(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		n := ScratchName("orders", at, randomNonce())
		if seen[n] {
			t.Fatalf("scratch name %s chosen twice", n)
		}
		seen[n] = true
	}
}

func TestPercentileAndSummary(t *testing.T) {
	xs := []float64{10, 1, 5, 3, 8, 2, 9, 4, 7, 6}
	if Percentile(xs, 50) != 5 || Percentile(xs, 90) != 9 || Percentile(nil, 50) != 0 || Percentile([]float64{3}, 90) != 3 {
		t.Errorf("percentiles: %v %v", Percentile(xs, 50), Percentile(xs, 90))
	}
	rs := []Result{
		{Result: "passed", RestoreSeconds: 60, SizeBytes: 100, Cleanup: "deleted"},
		{Result: "passed", RestoreSeconds: 600, SizeBytes: 20 << 30, Cleanup: "deleted"},
		{Result: "failed", RestoreSeconds: 0, Cleanup: "failed"},
	}
	s := Summarize(rs)
	if s.Drills != 3 || s.Passed != 2 || s.Failed != 1 || s.LeftBehind != 1 || s.MTTRMedian != 60 || s.MTTRP90 != 600 {
		t.Errorf("summary %+v", s)
	}
	if s.BySizeBucket["<1GiB"].Drills != 1 || s.BySizeBucket["10-100GiB"].MTTRMedian != 600 {
		t.Errorf("buckets %+v", s.BySizeBucket)
	}
	for b, want := range map[int64]string{0: "<1GiB", 5 << 30: "1-10GiB", 50 << 30: "10-100GiB", 500 << 30: ">=100GiB"} {
		if Bucket(b) != want {
			t.Errorf("Bucket(%d) = %s", b, Bucket(b))
		}
	}
}

const nonce = "feedf00d"

// drillOne drills "orders" once against db with a fixed nonce and clock.
func drillOne(t *testing.T, db *fakeDB) (Result, string) {
	t.Helper()
	now := time.Now().UTC()
	o := Options{Now: func() time.Time { return now }, Wait: time.Second, Poll: time.Millisecond, Sample: 3, Parallel: 1}
	d := Deps{Clients: func(context.Context, string, string) (API, error) { return db, nil }, Nonce: func() string { return nonce }}
	rs := Drill(t.Context(), []Item{{Account: acct, Region: region, Table: "orders", ARN: arnOf("orders")}}, o, d)
	return rs[0], ScratchName("orders", now, nonce)
}

func internalError() error {
	return &smithy.GenericAPIError{Code: "InternalServerError", Message: "Internal server error"}
}

// TestDrillNeverTouchesATableItDidNotCreate: the restore fails (5xx) and a
// table of the scratch name already exists — created long before the
// request, even as a restore of the same source. It is neither tagged nor
// deleted (issue 9 #2).
func TestDrillNeverTouchesATableItDidNotCreate(t *testing.T) {
	for name, restoreOf := range map[string]string{"restore of the source": "orders", "other source": "users", "not a restore": ""} {
		t.Run(name, func(t *testing.T) {
			db := newFake()
			db.addSource("orders", 3)
			now := time.Now().UTC()
			scratch := ScratchName("orders", now, nonce)
			db.addTable(scratch, now.AddDate(-3, 0, 0), restoreOf, nil)
			db.errs["RestoreTableToPointInTime"] = []error{internalError()}
			o := Options{Now: func() time.Time { return now }, Wait: time.Second, Poll: time.Millisecond}
			d := Deps{Clients: func(context.Context, string, string) (API, error) { return db, nil }, Nonce: func() string { return nonce }}
			r := Drill(t.Context(), []Item{{Account: acct, Region: region, Table: "orders", ARN: arnOf("orders")}}, o, d)[0]
			if n := db.called("TagResource", scratch) + db.called("DeleteTable", scratch); n != 0 {
				t.Errorf("tagged or deleted a table the drill did not create: %v", db.calls)
			}
			if _, err := db.get(scratch); err != nil {
				t.Error("the foreign table is gone")
			}
			if r.Result != "failed" || r.Cleanup != "not_needed" || !strings.Contains(r.CleanupDetail, "not this drill's") {
				t.Errorf("result %+v", r)
			}
		})
	}
}

// TestDrillAlreadyExistsForeignTable: TableAlreadyExists for a table that is
// not the drill's is never touched.
func TestDrillAlreadyExistsForeignTable(t *testing.T) {
	db := newFake()
	db.addSource("orders", 3)
	now := time.Now().UTC()
	scratch := ScratchName("orders", now, nonce)
	db.addTable(scratch, now.Add(-time.Hour), "orders", map[string]string{TagKey: "true"})
	o := Options{Now: func() time.Time { return now }, Wait: time.Second, Poll: time.Millisecond}
	d := Deps{Clients: func(context.Context, string, string) (API, error) { return db, nil }, Nonce: func() string { return nonce }}
	r := Drill(t.Context(), []Item{{Account: acct, Region: region, Table: "orders", ARN: arnOf("orders")}}, o, d)[0]
	if db.called("DeleteTable", scratch) != 0 || db.called("TagResource", scratch) != 0 || r.Result != "failed" {
		t.Errorf("result %+v calls %v", r, db.calls)
	}
	if !strings.Contains(r.Checks[0].Detail, "TableAlreadyExistsException") || !strings.Contains(r.Checks[0].Detail, "before this drill's request") {
		t.Errorf("detail %q", r.Checks[0].Detail)
	}
}

// TestDrillLostResponseRetryAlreadyExists: the first restore attempt creates
// the table but its answer is lost; the SDK's retry gets TableAlreadyExists.
// The drill must recognise its own table, tag it, validate it and delete it
// (issue 9 #2: it used to return untagged with cleanup not_needed).
func TestDrillLostResponseRetryAlreadyExists(t *testing.T) {
	db := newFake()
	db.addSource("orders", 3)
	db.after["RestoreTableToPointInTime"] = []error{&ddbtypes.TableAlreadyExistsException{Message: aws.String("Table already exists")}}
	r, scratch := drillOne(t, db)
	if r.Result != "passed" || r.Cleanup != "deleted" {
		t.Errorf("result %+v", r)
	}
	if db.called("TagResource", scratch) == 0 || db.called("DeleteTable", scratch) != 1 {
		t.Errorf("calls %v", db.calls)
	}
	if _, err := db.get(scratch); err == nil {
		t.Error("scratch table leaked")
	}
}

// TestDrillRestoreErrorOwnTableCleanedUp: the restore created the table but
// the call ended in a 5xx: the table is the drill's, so it is tagged and deleted.
func TestDrillRestoreErrorOwnTableCleanedUp(t *testing.T) {
	db := newFake()
	db.addSource("orders", 3)
	db.after["RestoreTableToPointInTime"] = []error{internalError()}
	r, scratch := drillOne(t, db)
	if r.Result != "failed" || r.Cleanup != "deleted" || db.called("TagResource", scratch) != 1 {
		t.Errorf("result %+v calls %v", r, db.calls)
	}
	if _, err := db.get(scratch); err == nil {
		t.Error("scratch table leaked")
	}
}

// TestCleanupFindsUntaggedOwnTable: a drill that lost its restore answer and
// could not tag its table leaves it untagged; `drill cleanup` recognises it
// by its name, source and creation time, tags it and deletes it. Tables that
// only look like it are left alone.
func TestCleanupFindsUntaggedOwnTable(t *testing.T) {
	db := newFake()
	db.addSource("orders", 1)
	ours := ScratchName("orders", at, nonce)
	db.addTable(ours, at.Add(3*time.Second), "orders", nil)
	early := ScratchName("orders", at.Add(time.Hour), "00000001")
	db.addTable(early, at, "orders", nil) // created before the time in its name
	other := ScratchName("orders", at, "00000002")
	db.addTable(other, at.Add(time.Second), "users", nil) // a restore of another table
	plain := Prefix + "not-ours"
	db.addTable(plain, at, "", map[string]string{TagKey: "true"}) // tagged, but not a restore
	left, err := Cleanup(t.Context(), db, acct, region, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range left {
		got[l.Table] = l.Result
	}
	want := map[string]string{ours: "deleted", early: "skipped", other: "skipped", plain: "skipped"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s (%+v)", k, got[k], v, left)
		}
	}
	if db.called("TagResource", ours) != 1 || db.called("DeleteTable", "") != 1 {
		t.Errorf("calls %v", db.calls)
	}
}

// TestDrillEveryDocumentedError injects each documented error of each call
// the drill makes. Whatever fails, the drill never panics, never deletes the
// source, reports failed, and leaves no scratch table behind unless it says so.
func TestDrillEveryDocumentedError(t *testing.T) {
	msg := aws.String("injected")
	errs := map[string][]error{
		"DescribeTable orders": {&ddbtypes.ResourceNotFoundException{Message: msg}, &ddbtypes.InternalServerError{Message: msg}},
		"RestoreTableToPointInTime": {&ddbtypes.PointInTimeRecoveryUnavailableException{Message: msg}, &ddbtypes.InvalidRestoreTimeException{Message: msg},
			&ddbtypes.TableAlreadyExistsException{Message: msg}, &ddbtypes.TableInUseException{Message: msg}, &ddbtypes.TableNotFoundException{Message: msg},
			&ddbtypes.LimitExceededException{Message: msg}, &ddbtypes.InternalServerError{Message: msg}, context.DeadlineExceeded},
		"TagResource":        {&ddbtypes.ResourceNotFoundException{Message: msg}, &ddbtypes.ResourceInUseException{Message: msg}, &ddbtypes.LimitExceededException{Message: msg}, &ddbtypes.InternalServerError{Message: msg}},
		"ListTagsOfResource": {&ddbtypes.ResourceNotFoundException{Message: msg}, &ddbtypes.InternalServerError{Message: msg}},
		"DeleteTable":        {&ddbtypes.ResourceInUseException{Message: msg}, &ddbtypes.LimitExceededException{Message: msg}, &ddbtypes.InternalServerError{Message: msg}, &ddbtypes.ResourceNotFoundException{Message: msg}},
		"Scan":               {&ddbtypes.ProvisionedThroughputExceededException{Message: msg}, &ddbtypes.RequestLimitExceeded{Message: msg}, &ddbtypes.ResourceNotFoundException{Message: msg}, &ddbtypes.InternalServerError{Message: msg}},
		"GetItem":            {&ddbtypes.ProvisionedThroughputExceededException{Message: msg}, &ddbtypes.RequestLimitExceeded{Message: msg}, &ddbtypes.ResourceNotFoundException{Message: msg}, &ddbtypes.InternalServerError{Message: msg}},
	}
	for op, list := range errs {
		for _, e := range list {
			t.Run(op+"/"+errName(e), func(t *testing.T) {
				db := newFake()
				db.addSource("orders", 3)
				db.errs[op] = []error{e}
				r, scratch := drillOne(t, db)
				if db.called("DeleteTable", "orders") != 0 || db.called("TagResource", "orders") != 0 {
					t.Fatalf("touched the source: %v", db.calls)
				}
				_, err := db.get(scratch)
				leaked := err == nil
				gone := errors.As(e, new(*ddbtypes.ResourceNotFoundException))
				switch {
				case op == "DeleteTable" && gone:
					if r.Cleanup != "deleted" {
						t.Errorf("a table already gone is deleted: %+v", r)
					}
				case op == "DeleteTable":
					if r.Cleanup != "failed" || !leaked || !strings.Contains(r.CleanupDetail, "drill cleanup") {
						t.Errorf("a failed delete must be reported: %+v", r)
					}
				case leaked:
					t.Errorf("scratch table left behind: %+v", r)
				}
				// Tagging is retried after ACTIVE, the drill reads no tags,
				// and a failed delete shows in the cleanup column: those drills
				// pass. Every other failure fails the drill.
				wantPass := op == "TagResource" || op == "ListTagsOfResource" || op == "DeleteTable"
				if (r.Result == "passed") != wantPass {
					t.Errorf("result %s, want passed=%v: %+v", r.Result, wantPass, r)
				}
				if op == "TagResource" && db.called("TagResource", scratch) != 2 {
					t.Errorf("tag not retried: %v", db.calls)
				}
			})
		}
	}
}

func errName(e error) string {
	var ae smithy.APIError
	if errors.As(e, &ae) {
		return ae.ErrorCode()
	}
	return e.Error()
}

// TestDrillBoundsGoroutinesFirst: 64 items with Parallel 2 start at most 2
// goroutines at a time (issue 9 #14: one goroutine per item was started
// before bounding).
func TestDrillBoundsGoroutinesFirst(t *testing.T) {
	release := make(chan struct{})
	var inFlight, peak atomic.Int32
	base := runtime.NumGoroutine()
	var maxExtra atomic.Int32
	d := Deps{Nonce: func() string { return nonce }, Clients: func(ctx context.Context, _, _ string) (API, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		if n > peak.Load() {
			peak.Store(n)
		}
		if extra := int32(runtime.NumGoroutine() - base); extra > maxExtra.Load() {
			maxExtra.Store(extra)
		}
		<-release
		return nil, errors.New("no account")
	}}
	items := make([]Item, 64)
	for i := range items {
		items[i] = Item{Account: acct, Region: region, Table: "t", ARN: arnOf("t")}
	}
	done := make(chan []Result)
	go func() { done <- Drill(t.Context(), items, Options{Parallel: 2}, d) }()
	time.Sleep(50 * time.Millisecond)
	extra := runtime.NumGoroutine() - base
	close(release)
	rs := <-done
	if len(rs) != 64 || rs[63].Result != "failed" {
		t.Fatalf("results %d", len(rs))
	}
	if peak.Load() > 2 {
		t.Errorf("%d drills at once, want at most 2", peak.Load())
	}
	// The runner goroutine plus 2 workers; one per item would be 65.
	if extra > 6 || maxExtra.Load() > 6 {
		t.Errorf("%d (peak %d) goroutines while 2 drills run: goroutines are started before bounding", extra, maxExtra.Load())
	}
}

// TestDrillInterruptedBeforeStart: items not started when ctx ends are
// reported failed with nothing to clean up, and no AWS call is made for them.
func TestDrillInterruptedBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var calls atomic.Int32
	d := Deps{Clients: func(context.Context, string, string) (API, error) { calls.Add(1); return newFake(), nil }}
	rs := Drill(ctx, []Item{{Table: "a"}, {Table: "b"}}, Options{}, d)
	if calls.Load() != 0 || rs[0].Result != "failed" || rs[1].Cleanup != "not_needed" {
		t.Errorf("calls %d results %+v", calls.Load(), rs)
	}
}

// TestDrillPassesWithCreatingScratch: a scratch table CREATING for a few
// polls is waited for, validated (count, sample) and deleted.
func TestDrillPassesWithCreatingScratch(t *testing.T) {
	db := newFake()
	db.addSource("orders", 5)
	db.creating = 3
	r, scratch := drillOne(t, db)
	if r.Result != "passed" || r.Cleanup != "deleted" || r.RestorePoint == nil || r.RestoreSeconds > r.TotalSeconds {
		t.Fatalf("result %+v", r)
	}
	names := []string{}
	for _, c := range r.Checks {
		if !c.OK {
			t.Errorf("check %+v", c)
		}
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "restore,key_schema,indexes,item_count,sample" {
		t.Errorf("checks %v", names)
	}
	if db.called("GetItem", "orders") != 3 || db.called("Scan", "orders") != 0 {
		t.Errorf("sampling read the source wrongly: %v", db.calls)
	}
	if db.called("DeleteTable", scratch) != 1 {
		t.Errorf("calls %v", db.calls)
	}
}

// TestRunCleanupScanFailure: an account-region whose tables cannot be listed
// (or that cannot be entered) is an error and makes coverage incomplete; the
// others are still cleaned (issue 9 #9).
func TestRunCleanupScanFailure(t *testing.T) {
	ok, broken := newFake(), newFake()
	ok.addTable(ScratchName("orders", at, nonce), at.Add(time.Second), "orders", map[string]string{TagKey: "true"})
	broken.errs["ListTables"] = []error{&ddbtypes.InternalServerError{Message: aws.String("injected")}}
	rep := RunCleanup(t.Context(), time.Millisecond, CleanupDeps{
		Discover: func(context.Context) ([]model.Target, []model.ScanError) {
			return []model.Target{{Account: acct, Region: region}, {Account: acct, Region: "us-east-1"}, {Account: "333333333333", Region: region}}, nil
		},
		Clients: func(_ context.Context, a, r string) (API, error) {
			switch {
			case a == "333333333333":
				return nil, errors.New("assume role failed")
			case r == region:
				return ok, nil
			}
			return broken, nil
		},
	})
	if rep.CoverageComplete || len(rep.Errors) != 2 || len(rep.Leftovers) != 1 || rep.Leftovers[0].Result != "deleted" {
		t.Errorf("report %+v", rep)
	}
}
