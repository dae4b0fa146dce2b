// Package drill proves that tables can be restored and measures how long it
// takes (MTTR). Run selects the tables (through package selection, on the
// audit's entries), asks for confirmation, then restores each one into a
// scratch table, waits for it, validates it against the source, and deletes
// the scratch table.
//
// Ownership is the safety rule of this package: a table is the drill's own
// only if its name is the scratch name this run chose (prefix, source name,
// time and a random per-run suffix), its RestoreSummary names the source
// table and its CreationDateTime is at or after the restore request. Only an
// owned table is tagged pitrguard:drill=true, and only a table with the
// prefix, the tag and a RestoreSummary is ever deleted — by the drill itself
// or by Cleanup.
//
// The AWS calls go through the narrow API interface, declared here, so that
// unit tests use in-memory fakes; the moto end-to-end tests in internal/cli
// are the integration layer.
package drill

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"golang.org/x/sync/errgroup"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/selection"
)

// Scratch tables are named with this prefix and carry TagKey=true.
const (
	Prefix    = "pitrguard-drill-"
	TagKey    = "pitrguard:drill"
	TagSource = "pitrguard:drill-source"
)

// API is the part of the DynamoDB API a drill uses. DeleteTable is only
// called on a table that passed the ownership checks.
type API interface {
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	RestoreTableToPointInTime(context.Context, *dynamodb.RestoreTableToPointInTimeInput, ...func(*dynamodb.Options)) (*dynamodb.RestoreTableToPointInTimeOutput, error)
	TagResource(context.Context, *dynamodb.TagResourceInput, ...func(*dynamodb.Options)) (*dynamodb.TagResourceOutput, error)
	ListTagsOfResource(context.Context, *dynamodb.ListTagsOfResourceInput, ...func(*dynamodb.Options)) (*dynamodb.ListTagsOfResourceOutput, error)
	DeleteTable(context.Context, *dynamodb.DeleteTableInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	ListTables(context.Context, *dynamodb.ListTablesInput, ...func(*dynamodb.Options)) (*dynamodb.ListTablesOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Clients returns the DynamoDB API of an account-region.
type Clients func(ctx context.Context, account, region string) (API, error)

// Item is a table to drill.
type Item struct {
	Account, Region, Table, ARN string
	SizeBytes                   int64
	Tier                        string
	CostUSD                     float64
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
	Cleanup        string     `json:"cleanup"` // deleted, failed, not_needed
	CleanupDetail  string     `json:"cleanup_detail,omitempty"`
	SizeBytes      int64      `json:"size_bytes"`
	StartedAt      time.Time  `json:"started_at"`
}

// Skipped is a selected table that was not drilled, and why.
type Skipped struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Table   string `json:"table"`
	Reason  string `json:"reason"`
}

// Report is the JSON document of `pitrguard drill`.
type Report struct {
	SchemaVersion int               `json:"schema_version"`
	Drills        []Result          `json:"drills"`
	Skipped       []Skipped         `json:"skipped"`
	Summary       Summary           `json:"summary"`
	Errors        []model.ScanError `json:"errors"`
	// CoverageComplete is false when some account or region could not be
	// scanned: tables there were neither selected nor drilled.
	CoverageComplete bool `json:"coverage_complete"`
	// Unmatched lists selector values that matched no table (exit 5).
	Unmatched []string `json:"unmatched"`
	// NotDue counts tables left out by --due.
	NotDue int `json:"not_due"`
	// Interrupted is true when the drills were cut short.
	Interrupted bool `json:"interrupted"`
}

// Options tune drills.
type Options struct {
	Select selection.Criteria
	Max    int        // at most this many drills (0: no limit)
	At     *time.Time // restore point; nil = latest restorable time
	Wait   time.Duration
	Poll   time.Duration
	// Sample is the number of items read back and compared with the source.
	Sample          int
	CountTolerance  float64 // allowed relative difference in item count
	SampleTolerance float64 // allowed share of sampled items that differ
	// Parallel bounds drills in flight (AWS allows 50 concurrent restores per account).
	Parallel int
	Now      func() time.Time
}

// Deps are what Run needs from outside.
type Deps struct {
	// Audit returns the audited tables to select from.
	Audit func(ctx context.Context) *audit.Result
	// Clients gives the DynamoDB API per account-region.
	Clients Clients
	// RestoreCost estimates the cost of restoring bytes in a region.
	RestoreCost func(region string, bytes int64) float64
	// Confirm is asked once the drills are known and before any is started;
	// an error stops Run with nothing restored. Nil proceeds.
	Confirm func(ctx context.Context, items []Item, skipped []Skipped, costUSD float64) error
	// Begin is called after confirmation, before the first restore (to open
	// the run the evidence belongs to); an error stops Run.
	Begin func(ctx context.Context, items []Item) error
	// Done is told about each finished drill (progress, evidence); it may be
	// called from several goroutines at once.
	Done func(Result)
	// Nonce returns the random part of scratch names; nil uses crypto/rand.
	Nonce func() string
}

// ErrInterrupted is returned when the context ends before any drill started.
var ErrInterrupted = errors.New("interrupted while selecting tables: nothing was restored")

// Run selects the tables, confirms, drills them and summarises.
func Run(ctx context.Context, o Options, d Deps) (*Report, error) {
	o, d = defaults(o, d)
	ar := d.Audit(ctx)
	if ar.Interrupted {
		return nil, ErrInterrupted
	}
	sel := selection.Select(ctx, ar.Entries, o.Select)
	rep := &Report{SchemaVersion: 1, Drills: []Result{}, Errors: append(ar.Report.Errors, sel.Errors...),
		CoverageComplete: ar.Report.Summary.CoverageComplete, Unmatched: sel.Unmatched, NotDue: sel.NotDue}
	if rep.Unmatched == nil {
		rep.Unmatched = []string{}
	}
	var items []Item
	items, rep.Skipped = plan(sel.Entries, o, d)
	if len(items) > 0 && d.Confirm != nil {
		cost := 0.0
		for _, it := range items {
			cost += it.CostUSD
		}
		if err := d.Confirm(ctx, items, rep.Skipped, model.RoundCents(cost)); err != nil {
			return rep, err
		}
	}
	if len(items) > 0 && d.Begin != nil {
		if err := d.Begin(ctx, items); err != nil {
			return rep, err
		}
	}
	rep.Drills = Drill(ctx, items, o, d)
	rep.Summary = Summarize(rep.Drills)
	rep.Interrupted = ctx.Err() != nil
	return rep, nil
}

func defaults(o Options, d Deps) (Options, Deps) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.Wait <= 0 {
		o.Wait = 6 * time.Hour
	}
	if d.Nonce == nil {
		d.Nonce = randomNonce
	}
	if d.RestoreCost == nil {
		d.RestoreCost = func(string, int64) float64 { return 0 }
	}
	o.Select.ExcludePrefix = Prefix // never drill a scratch table
	return o, d
}

// plan turns selected tables into drills, skipping those that cannot be
// restored, and applies Max.
func plan(entries []audit.Entry, o Options, d Deps) ([]Item, []Skipped) {
	var items []Item
	skipped := []Skipped{}
	for _, e := range entries {
		t := e.Table
		why := ""
		switch {
		case !t.PITR.Known:
			why = "PITR status unknown (" + string(e.Eval.Verdict) + "); audit it first"
		case !t.PITR.Enabled:
			why = "PITR is off: there is nothing to restore (enable it with `pitrguard enable`)"
		case t.Status != "ACTIVE":
			why = "table is " + t.Status
		case o.Max > 0 && len(items) == o.Max:
			why = fmt.Sprintf("over --max %d", o.Max)
		}
		if why != "" {
			skipped = append(skipped, Skipped{t.Account, t.Region, t.Name, why})
			continue
		}
		size := t.RestoreBytes()
		items = append(items, Item{Account: t.Account, Region: t.Region, Table: t.Name, ARN: t.ARN, SizeBytes: size,
			Tier: e.Eval.Tier.Name, CostUSD: d.RestoreCost(t.Region, size)})
	}
	return items, skipped
}

// Drill runs the drills of items, at most o.Parallel at once, and returns
// the results in item order. Goroutines are bounded before they start; an
// item not started when ctx ends is reported failed with cleanup not_needed.
func Drill(ctx context.Context, items []Item, o Options, d Deps) []Result {
	o, d = defaults(o, d)
	out := make([]Result, len(items))
	g := errgroup.Group{}
	g.SetLimit(o.Parallel)
	for i, it := range items {
		if ctx.Err() != nil {
			out[i] = notStarted(it)
			continue
		}
		g.Go(func() error {
			if ctx.Err() != nil {
				out[i] = notStarted(it)
				return nil
			}
			out[i] = one(ctx, it, o, d)
			if d.Done != nil {
				d.Done(out[i])
			}
			return nil
		})
	}
	_ = g.Wait()
	return out
}

func notStarted(it Item) Result {
	return Result{Account: it.Account, Region: it.Region, Table: it.Table, Result: "failed", Cleanup: "not_needed",
		Checks: []Check{{Name: "restore", OK: false, Detail: "interrupted before the drill started"}}}
}

// ScratchName is the scratch table for table at t in one run (nonce: the
// run's random suffix). The source name is shortened so that the whole name
// fits DynamoDB's 255 characters.
func ScratchName(table string, t time.Time, nonce string) string {
	suffix := "-" + t.UTC().Format("20060102t150405") + "-" + nonce
	if room := 255 - len(Prefix) - len(suffix); len(table) > room {
		table = table[:room]
	}
	return Prefix + table + suffix
}

// randomNonce is 8 hex characters from crypto/rand: two drills of the same
// table in the same second (two cron jobs, two operators) never collide.
func randomNonce() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
