package inventory_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"

	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/inventory/inventorytest"
	"github.com/pitrguard/pitrguard/internal/model"
)

const acct = "111111111111"

var testNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func collect(t *testing.T, ctx context.Context, f *inventorytest.Fake, targets ...model.Target) (map[string]*model.Table, []model.ScanError) {
	t.Helper()
	var mu sync.Mutex
	got := map[string]*model.Table{}
	c := inventory.NewCollector(inventorytest.Provider{Self: acct}, inventory.Options{Clients: f.Clients(), Now: func() time.Time { return testNow }, TableWorkers: 2})
	errs := c.Collect(ctx, targets, func(tb *model.Table) {
		mu.Lock()
		got[tb.Name] = tb
		mu.Unlock()
	})
	return got, errs
}

func old() time.Time { return testNow.Add(-30 * 24 * time.Hour) }

func TestCollectFacts(t *testing.T) {
	f := inventorytest.New()
	f.Add(acct, "us-east-1", "orders", &inventorytest.Table{PITR: true, Days: 0, Created: old(), Tags: map[string]string{"env": "prod"}, Bulk: true})
	f.Add(acct, "us-east-1", "cart", &inventorytest.Table{Created: old()})
	f.Add(acct, "us-east-1", "users", &inventorytest.Table{PITR: true, Days: 7, Created: old(), Tags: map[string]string{"owner": "ops"}, Bulk: true})
	got, errs := collect(t, t.Context(), f, model.Target{Account: acct, Region: "us-east-1"})
	if len(errs) != 0 || len(got) != 3 {
		t.Fatalf("tables %d errors %+v", len(got), errs)
	}
	o := got["orders"]
	if !o.PITR.Known || !o.PITR.Enabled || o.PITR.RecoveryPeriodDays != 35 || o.Tags["env"] != "prod" || !o.TagsKnown || o.Status != "ACTIVE" {
		t.Errorf("orders: %+v (0 days must read as 35)", o)
	}
	if c := got["cart"]; c.PITR.Enabled || !c.PITR.Known || !c.TagsKnown || len(c.Tags) != 0 {
		t.Errorf("cart: %+v", c)
	}
	// Two DynamoDB calls per table, tags in Bulk: no ListTagsOfResource for an
	// old untagged table.
	if f.Count("ListTagsOfResource") != 0 || f.Count("DescribeTable") != 3 || f.Count("DescribeContinuousBackups") != 3 || f.Count("GetResources") != 1 {
		t.Errorf("calls: ListTags %d DescribeTable %d DCB %d GetResources %d", f.Count("ListTagsOfResource"), f.Count("DescribeTable"), f.Count("DescribeContinuousBackups"), f.Count("GetResources"))
	}
	if f.Count("ListTables") != 2 {
		t.Errorf("ListTables = %d, want 2 pages", f.Count("ListTables"))
	}
}

// TestCollectConfirmsRecentUntaggedTables is issue 9 #4 (second half): the
// tagging API is eventually consistent, so a table created minutes ago and
// missing from it may have tags; only such tables get a ListTagsOfResource.
func TestCollectConfirmsRecentUntaggedTables(t *testing.T) {
	f := inventorytest.New()
	f.Add(acct, "us-east-1", "fresh", &inventorytest.Table{PITR: true, Days: 7, Created: testNow.Add(-10 * time.Minute), Tags: map[string]string{"env": "prod"}})
	f.Add(acct, "us-east-1", "fresh-untagged", &inventorytest.Table{Created: testNow.Add(-50 * time.Minute)})
	f.Add(acct, "us-east-1", "old-untagged", &inventorytest.Table{Created: testNow.Add(-2 * time.Hour)})
	f.Add(acct, "us-east-1", "tagged", &inventorytest.Table{Created: testNow.Add(-time.Minute), Tags: map[string]string{"a": "b"}, Bulk: true})
	got, errs := collect(t, t.Context(), f, model.Target{Account: acct, Region: "us-east-1"})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if fr := got["fresh"]; fr.Tags["env"] != "prod" || !fr.TagsKnown {
		t.Errorf("fresh: tags %v known %v; want env=prod confirmed with ListTagsOfResource", fr.Tags, fr.TagsKnown)
	}
	if n := f.Count("ListTagsOfResource"); n != 2 {
		t.Errorf("ListTagsOfResource = %d, want 2 (the two tables created in the last hour and missing from the tagging API)", n)
	}
	for _, n := range []string{"fresh-untagged", "old-untagged", "tagged"} {
		if !got[n].TagsKnown {
			t.Errorf("%s: tags unknown", n)
		}
	}
}

func TestCollectTagsUnreadable(t *testing.T) {
	f := inventorytest.New()
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no", Fault: smithy.FaultClient}
	f.BulkErr = denied
	f.Add(acct, "us-east-1", "orders", &inventorytest.Table{PITR: true, Days: 7, Created: old(), Tags: map[string]string{"env": "prod"},
		Errs: map[string]error{"ListTagsOfResource": denied}})
	f.Add(acct, "us-east-1", "users", &inventorytest.Table{Created: old(), Tags: map[string]string{"env": "prod"}})
	got, _ := collect(t, t.Context(), f, model.Target{Account: acct, Region: "us-east-1"})
	o := got["orders"]
	if o.TagsKnown || len(o.ReadErrors) != 1 || o.ReadErrors[0].Op != "ListTagsOfResource" || o.ReadErrors[0].Reason != model.ReasonAccessDenied {
		t.Errorf("orders: known %v errors %+v", o.TagsKnown, o.ReadErrors)
	}
	if u := got["users"]; !u.TagsKnown || u.Tags["env"] != "prod" {
		t.Errorf("users: fallback to ListTagsOfResource: %+v", u)
	}
}

// TestCollectNamesTablesNotRead is issue 16 #1: a table whose
// DescribeContinuousBackups never answered vanished from the report when the
// run ended; now it is returned as an error by name.
func TestCollectNamesTablesNotRead(t *testing.T) {
	for name, mk := range map[string]func(context.Context) (context.Context, context.CancelFunc){
		"interrupted": func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		},
		"deadline": func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 100*time.Millisecond)
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := inventorytest.New()
			f.Add(acct, "us-east-1", "a-fine", &inventorytest.Table{PITR: true, Created: old()})
			f.Add(acct, "us-east-1", "b-stalls", &inventorytest.Table{PITR: true, Created: old(), Block: true})
			f.Add(acct, "us-east-1", "c-stalls", &inventorytest.Table{PITR: true, Created: old(), Block: true})
			f.Add(acct, "us-east-1", "d-never", &inventorytest.Table{PITR: true, Created: old()})
			ctx, cancel := mk(t.Context())
			defer cancel()
			got, errs := collect(t, ctx, f, model.Target{Account: acct, Region: "us-east-1"})
			var named []string
			for _, e := range errs {
				named = append(named, e.Table)
				want := model.ReasonInterrupted
				if name == "deadline" {
					want = model.ReasonTimeout
				}
				if e.Reason != want {
					t.Errorf("%s: reason %s, want %s", e.Table, e.Reason, want)
				}
			}
			for _, n := range []string{"a-fine", "b-stalls", "c-stalls", "d-never"} {
				_, read := got[n]
				if read == slices.Contains(named, n) {
					t.Errorf("%s: in tables %v, in errors %v; want exactly one", n, read, slices.Contains(named, n))
				}
			}
			if !slices.Contains(named, "b-stalls") {
				t.Errorf("the stalled table is not named: %+v", errs)
			}
		})
	}
}

func TestDiscover(t *testing.T) {
	f := inventorytest.New()
	f.Accounts = []orgtypes.Account{
		{Id: aws.String("222222222222"), State: orgtypes.AccountStateActive},
		{Id: aws.String("333333333333"), State: orgtypes.AccountStateSuspended},
		{Id: aws.String("444444444444"), State: orgtypes.AccountStateActive},
	}
	f.Regions = []string{"us-west-2", "us-east-1", "cn-north-1", "us-gov-west-1"}
	p := inventorytest.Provider{Self: acct, Denied: map[string]error{"444444444444": &smithy.GenericAPIError{Code: "AccessDenied", Fault: smithy.FaultClient}}}
	targets, errs := inventory.Discover(t.Context(), p, inventory.Scope{Org: true, Concurrency: 2, Clients: f.Clients()})
	want := []model.Target{{Account: acct, Region: "us-east-1"}, {Account: acct, Region: "us-west-2"}, {Account: "222222222222", Region: "us-east-1"}, {Account: "222222222222", Region: "us-west-2"}}
	if !slices.Equal(targets, want) {
		t.Errorf("targets %v, want %v (ACTIVE accounts, the caller's partition only, sorted)", targets, want)
	}
	if len(errs) != 1 || errs[0].Account != "444444444444" || errs[0].Reason != model.ReasonAccessDenied {
		t.Errorf("errors %+v", errs)
	}
	// Named regions are taken as given, with no DescribeRegions call.
	before := f.Count("DescribeRegions")
	targets, _ = inventory.Discover(t.Context(), p, inventory.Scope{Regions: []string{"eu-west-1"}, Concurrency: 1, Clients: f.Clients()})
	if len(targets) != 1 || targets[0].Region != "eu-west-1" || f.Count("DescribeRegions") != before {
		t.Errorf("named regions: %v", targets)
	}
	// No organization: an error for the caller's account, the rest still scanned.
	f.Accounts = nil
	targets, errs = inventory.Discover(t.Context(), p, inventory.Scope{Org: true, Regions: []string{"us-east-1"}, Concurrency: 1, Clients: f.Clients()})
	if len(targets) != 1 || len(errs) != 1 || errs[0].Account != acct {
		t.Errorf("no org: targets %v errors %+v", targets, errs)
	}
}

func TestCollectListErrorIsTargetError(t *testing.T) {
	f := inventorytest.New()
	f.ListErr[acct+"/eu-west-1"] = &smithy.GenericAPIError{Code: "UnrecognizedClientException", Fault: smithy.FaultClient}
	f.Regions = []string{"us-east-1"}
	f.Add(acct, "us-east-1", "x", &inventorytest.Table{Created: old()})
	got, errs := collect(t, t.Context(), f, model.Target{Account: acct, Region: "us-east-1"}, model.Target{Account: acct, Region: "eu-west-1"})
	if len(got) != 1 || len(errs) != 1 || errs[0].Reason != model.ReasonRegionDisabled || errs[0].Table != "" {
		t.Errorf("tables %d errors %+v", len(got), errs)
	}
}

// A Prefill hook decides some tables: they reach sink untouched, with no
// per-table call; the others are read live with their reason. When every
// listed table of an account-region is decided, not even GetResources is
// called there; the hook's errors are Collect's.
func TestCollectPrefill(t *testing.T) {
	f := inventorytest.New()
	for _, n := range []string{"a", "b", "c"} {
		f.Add(acct, "us-east-1", n, &inventorytest.Table{PITR: true, Created: old(), Bulk: true})
	}
	f.Add(acct, "eu-west-1", "d", &inventorytest.Table{Created: old()})
	var asked []string
	var mu sync.Mutex
	prefill := func(tg model.Target, names []string) inventory.Prefilled {
		mu.Lock()
		asked = append(asked, tg.Region+":"+strings.Join(names, ","))
		mu.Unlock()
		pf := inventory.Prefilled{Known: map[string]*model.Table{}, LiveReason: map[string]string{}}
		for _, n := range names {
			if n == "c" {
				pf.LiveReason[n] = inventory.LiveStale
				continue
			}
			pf.Known[n] = &model.Table{Account: tg.Account, Region: tg.Region, Name: n, Source: model.SourceConfig, Status: "FROM-CONFIG"}
		}
		if tg.Region == "eu-west-1" {
			pf.Errors = []model.ScanError{{Account: tg.Account, Region: tg.Region, Code: "ConfigNotRecorded"}}
		}
		return pf
	}
	var got sync.Map
	c := inventory.NewCollector(inventorytest.Provider{Self: acct}, inventory.Options{Clients: f.Clients(), Now: func() time.Time { return testNow }, Prefill: prefill})
	errs := c.Collect(t.Context(), []model.Target{{Account: acct, Region: "us-east-1"}, {Account: acct, Region: "eu-west-1"}}, func(tb *model.Table) { got.Store(tb.Name, tb) })
	slices.Sort(asked)
	if !slices.Equal(asked, []string{"eu-west-1:d", "us-east-1:a,b,c"}) {
		t.Errorf("prefill asked %v", asked)
	}
	if len(errs) != 1 || errs[0].Code != "ConfigNotRecorded" {
		t.Errorf("errors %+v", errs)
	}
	for _, n := range []string{"a", "b", "d"} {
		v, ok := got.Load(n)
		if !ok || v.(*model.Table).Status != "FROM-CONFIG" {
			t.Errorf("%s: %+v", n, v)
		}
	}
	v, ok := got.Load("c")
	if tb, _ := v.(*model.Table); !ok || tb.Source != model.SourceLive || tb.SourceReason != inventory.LiveStale || !tb.PITR.Known || !tb.PITR.Enabled {
		t.Errorf("c: %+v", v)
	}
	if f.Count("DescribeTable") != 1 || f.Count("DescribeContinuousBackups") != 1 || f.Count("GetResources") != 1 {
		t.Errorf("calls: DescribeTable %d DCB %d GetResources %d, want 1 each (only c, only us-east-1)",
			f.Count("DescribeTable"), f.Count("DescribeContinuousBackups"), f.Count("GetResources"))
	}
}

// TestCollectDoneAfterEachAccountRegion: Options.Done is called once per
// account-region, after every one of its tables has gone to sink (so what
// is kept per account-region can be dropped then, not at the end of the run).
func TestCollectDoneAfterEachAccountRegion(t *testing.T) {
	f := inventorytest.New()
	for _, r := range []string{"us-east-1", "eu-west-1"} {
		for _, n := range []string{"a", "b", "c"} {
			f.Add(acct, r, n, &inventorytest.Table{PITR: true, Created: old(), Bulk: true})
		}
	}
	var mu sync.Mutex
	sunk := map[model.Target]int{}
	done := map[model.Target]int{}
	var early []string
	c := inventory.NewCollector(inventorytest.Provider{Self: acct}, inventory.Options{Clients: f.Clients(), Now: func() time.Time { return testNow }, TableWorkers: 2,
		Done: func(tg model.Target) {
			mu.Lock()
			defer mu.Unlock()
			done[tg]++
			if sunk[tg] != 3 {
				early = append(early, fmt.Sprintf("%s/%s after %d tables", tg.Account, tg.Region, sunk[tg]))
			}
		}})
	errs := c.Collect(t.Context(), []model.Target{{Account: acct, Region: "us-east-1"}, {Account: acct, Region: "eu-west-1"}}, func(tb *model.Table) {
		mu.Lock()
		sunk[model.Target{Account: tb.Account, Region: tb.Region}]++
		mu.Unlock()
	})
	if len(errs) != 0 || len(early) != 0 {
		t.Fatalf("errors %v; Done called before the tables: %v", errs, early)
	}
	if len(done) != 2 || done[model.Target{Account: acct, Region: "us-east-1"}] != 1 || done[model.Target{Account: acct, Region: "eu-west-1"}] != 1 {
		t.Errorf("Done calls: %v, want one per account-region", done)
	}
}
