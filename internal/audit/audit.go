// Package audit runs one audit: it discovers targets, collects table facts,
// evaluates them against the policy and tallies the KPIs. Commands that act
// on tables (enable, drill) start from its result, so they never re-derive a
// verdict their own way.
//
// Every table in scope ends up in the result exactly once: among the tables
// with a verdict, or — when the run ended before it was read (Ctrl-C, a
// deadline) — in Report.Errors by name. An interrupted run says so in
// Report.Run.Status and in Report.Errors, and its coverage is incomplete.
//
// Run holds every table in memory (Result.Entries). RunStreamed holds none:
// each evaluated table goes to an on-disk Spill, sorted runs k-way merged
// into one stream ordered by (account, region, name), which the report
// writers, the history and the alerts read one row at a time (Result.EachRow,
// report.Audit.EachTable). Memory then keeps only the KPIs, counted one table
// at a time (policy.Tally), and the errors, however many tables there are.
package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/pricing"
	"github.com/pitrguard/pitrguard/internal/report"
)

// Params configure an audit.
type Params struct {
	Scope    inventory.Scope
	Policy   *config.Config
	Prices   *pricing.Table
	Now      time.Time
	Progress inventory.Progress
	// Only, if set, restricts the audit to matching tables.
	Only func(account, region, name string) bool
	// TableWorkers bounds tables described at once per account-region.
	TableWorkers int
	// Clients builds the service clients (zero value: the AWS SDK's; tests
	// pass in-memory fakes).
	Clients inventory.Clients
	// ConfigAggregator, if set, takes table facts from this AWS Config
	// aggregator and reads live only what Config cannot say (see
	// inventory/configsource.go); MaxStaleness bounds the age of an item used.
	ConfigAggregator string
	MaxStaleness     time.Duration
	// Backup joins AWS Backup coverage to the verdict of tables whose tier
	// requires it (the audit command; enable and drill act on PITR alone and
	// leave it false, so they read no AWS Backup). BackupPointBudget bounds
	// the ListRecoveryPointsByResource calls per account-region (0: none).
	Backup            bool
	BackupPointBudget int
}

// Provider is what an audit needs from awsx.Provider.
type Provider interface {
	inventory.Provider
	Stats() *awsx.Stats
}

var _ Provider = (*awsx.Provider)(nil)

// Run statuses (report.RunInfo.Status, and the history's run status).
const (
	StatusCompleted   = "completed"
	StatusInterrupted = "interrupted"
)

// Entry is one table's facts and evaluation.
type Entry struct {
	Table  *model.Table
	Eval   policy.Result
	Result report.TableResult
}

// Result is an audit's outcome.
type Result struct {
	Report *report.Audit
	// Entries holds every table, sorted like the report, after Run. After
	// RunStreamed it is nil: the tables are in the spill (EachRow).
	Entries []Entry
	// Interrupted is true when the context ended before the audit finished.
	Interrupted bool
	// TimedOut is true when it ended because of its deadline.
	TimedOut bool

	spill *Spill // RunStreamed's tables; nil after Run
}

// EachRow calls fn for every table in report order, one at a time, and
// stops at fn's first error: from the spill after RunStreamed, from Entries
// after Run. The history and the alerts read the tables through it.
func (r *Result) EachRow(fn func(*Row) error) error {
	if r.spill != nil {
		return r.spill.Each(fn)
	}
	for i := range r.Entries {
		row := RowOf(r.Entries[i])
		if err := fn(&row); err != nil {
			return err
		}
	}
	return nil
}

// SpillStats says what the spill of a streamed audit did (zero after Run).
func (r *Result) SpillStats() SpillStats {
	if r.spill == nil {
		return SpillStats{}
	}
	return r.spill.Stats()
}

// Close releases the result: it removes the spill of a streamed audit (a
// no-op after Run). Report.Stream cannot be read after it.
func (r *Result) Close() error {
	if r.spill == nil {
		return nil
	}
	return r.spill.Close()
}

// Run performs the audit and holds every table in memory (Result.Entries,
// Report.Tables): for the commands that act on the tables they select
// (enable, drill, remediation). The audit command streams (RunStreamed).
func Run(ctx context.Context, p Provider, prm Params) *Result {
	var (
		mu      sync.Mutex
		entries []Entry
	)
	res, _ := perform(ctx, p, prm, func(e Entry) error {
		mu.Lock()
		entries = append(entries, e)
		mu.Unlock()
		return nil
	})
	sortEntries(entries)
	res.Entries = entries
	res.Report.Tables = make([]report.TableResult, len(entries))
	for i := range entries {
		res.Report.Tables[i] = entries[i].Result
	}
	return res
}

// RunStreamed performs the audit like Run, but holds no table in memory:
// each evaluated table goes to an on-disk spill (see Spill) as soon as it is
// read, and memory keeps only the KPIs (counted one table at a time) and the
// errors. The tables are read back in report order, one at a time, through
// Result.EachRow and Report.EachTable (Report.Tables and Entries stay nil),
// so peak memory does not grow with the number of tables.
//
// The caller must Close the result, which removes the spill. On error (the
// spill could not be written) nothing is left behind and no result is
// returned; the audit stops as soon as the spill fails.
func RunStreamed(ctx context.Context, p Provider, prm Params, so SpillOptions) (*Result, error) {
	sp := NewSpill(so)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	res, err := perform(ctx, p, prm, func(e Entry) error {
		row := RowOf(e)
		if err := sp.Add(&row); err != nil {
			cancel(err) // no point reading tables that cannot be kept
			return err
		}
		return nil
	})
	if err == nil {
		err = sp.Finish()
	}
	if err != nil {
		sp.Close()
		return nil, err
	}
	res.spill = sp
	res.Report.Stream = func(fn func(*report.TableResult) error) error {
		return sp.Each(func(r *Row) error { return fn(&r.Result) })
	}
	return res, nil
}

// perform is the audit both Run and RunStreamed do: discover the targets,
// collect each table's facts, evaluate and price it, count it in the KPIs
// and hand it to keep (from several goroutines at once: keep must be safe
// for concurrent use). The Report it returns has every field but the
// tables, which are keep's to hold. Its error is keep's first.
func perform(ctx context.Context, p Provider, prm Params, keep func(Entry) error) (*Result, error) {
	start := time.Now()
	prm.Scope.Clients = prm.Clients
	targets, errs := inventory.Discover(ctx, p, prm.Scope)
	ev := policy.New(prm.Policy, prm.Now)
	tally := policy.NewTally()
	var (
		mu        sync.Mutex
		tableErrs []model.ScanError
		keepErr   error
	)
	opts := inventory.Options{
		Concurrency: prm.Scope.Concurrency, TableWorkers: prm.TableWorkers,
		Progress: prm.Progress, Only: prm.Only, Clients: prm.Clients,
		Now: func() time.Time { return prm.Now },
	}
	if prm.ConfigAggregator != "" && len(targets) > 0 {
		var cerr *model.ScanError
		opts.Prefill, cerr = configPrefill(ctx, p, prm, ev)
		if cerr != nil {
			errs = append(errs, *cerr)
		}
	}
	bk := newBackupStep(p, prm, ev) // nil, and no AWS Backup call, without a backup: policy
	if bk != nil {
		opts.Done = bk.col.Release
	}
	col := inventory.NewCollector(p, opts)
	errs = append(errs, col.Collect(ctx, targets, func(t *model.Table) {
		r := bk.apply(ctx, t, ev.Evaluate(t))
		cost, est := prm.Prices.PITRMonthly(t.Region, t.BillableBytes())
		if !t.DescribeKnown {
			est = true
		}
		e := Entry{Table: t, Eval: r, Result: report.NewTableResult(t, r, cost, est)}
		err := keep(e)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			keepErr = cmp.Or(keepErr, err)
			return
		}
		tally.Add(t, r, cost)
		// Table-level read errors are listed too, so every UNKNOWN has its
		// cause next to it in errors[]; they do not make coverage incomplete.
		for _, re := range t.ReadErrors {
			tableErrs = append(tableErrs, model.ScanError{Account: t.Account, Region: t.Region, Table: t.Name,
				Code: re.Code, Reason: re.Reason, Message: re.Op + ": " + re.Message})
		}
	})...)
	if keepErr != nil {
		return nil, keepErr
	}

	coverage := len(errs) == 0
	errs = append(errs, tableErrs...)
	interrupted := ctx.Err() != nil
	status := StatusCompleted
	if interrupted {
		coverage = false
		status = StatusInterrupted
		reason, code, _ := awsx.Classify(ctx.Err())
		errs = append(errs, model.ScanError{Code: code, Reason: reason,
			Message: "the audit was interrupted (" + ctx.Err().Error() + ") before it finished: coverage is incomplete; tables not read are listed by name"})
	}
	inventory.SortErrors(errs)

	accounts := map[string]bool{}
	for _, t := range targets {
		accounts[t.Account] = true
	}
	calls := map[string]int64{}
	var throttles int64
	for _, oc := range p.Stats().Snapshot() {
		calls[oc.Op] = oc.Calls
		throttles += oc.Throttles
	}
	if errs == nil {
		errs = []model.ScanError{}
	}
	return &Result{
		Report: &report.Audit{
			SchemaVersion: report.SchemaVersion,
			GeneratedAt:   prm.Now.UTC().Truncate(time.Second),
			Errors:        errs,
			Summary:       tally.Summary(coverage),
			Run: report.RunInfo{
				Status: status, Caller: p.Caller().ARN, Policy: prm.Policy.Source, Prices: prm.Prices.Source,
				Accounts: len(accounts), Targets: len(targets),
				DurationSeconds: time.Since(start).Seconds(), APICalls: calls, Throttles: throttles,
			},
		},
		Interrupted: interrupted,
		TimedOut:    errors.Is(ctx.Err(), context.DeadlineExceeded),
	}, nil
}

func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int {
		return model.Compare(a.Table.Account, a.Table.Region, a.Table.Name, b.Table.Account, b.Table.Region, b.Table.Name)
	})
}

// configPrefill queries the AWS Config aggregator once and returns the
// collector hook that decides from its items the tables it can (fresh item,
// PITR recorded, no minimum window to check), leaving the rest to be read
// live. If the query fails, every table is read live and the failure is an
// error of the run (coverage incomplete: the source asked for did not answer).
func configPrefill(ctx context.Context, p Provider, prm Params, ev *policy.Evaluator) (func(model.Target, []string) inventory.Prefilled, *model.ScanError) {
	rows, err := inventory.QueryConfig(ctx, prm.Clients.ConfigService(p.Base()), prm.ConfigAggregator)
	if err != nil {
		reason, code, msg := awsx.Classify(err)
		e := &model.ScanError{Account: p.Caller().Account, Code: code, Reason: reason,
			Message: "cannot query AWS Config aggregator " + prm.ConfigAggregator + " (config:SelectAggregateResourceConfig in " + p.Base().Region +
				"; check the aggregator's name and region): " + msg + "; every table was read live instead"}
		return func(_ model.Target, names []string) inventory.Prefilled {
			return inventory.Prefilled{LiveReason: reasons(names, inventory.LiveQueryFailed)}
		}, e
	}
	type key struct{ account, region string }
	idx := map[key]map[string]*inventory.ConfigRow{}
	for i := range rows {
		r := &rows[i]
		k := key{r.Account, r.Region}
		if idx[k] == nil {
			idx[k] = map[string]*inventory.ConfigRow{}
		}
		idx[k][r.Name] = r
	}
	partition := p.Caller().Partition
	needsWindow := func(t *model.Table) bool { return ev.TierOf(t).MinRecoveryDays > 0 }
	return func(t model.Target, names []string) inventory.Prefilled {
		byName := idx[key{t.Account, t.Region}]
		if len(byName) == 0 {
			return inventory.Prefilled{LiveReason: reasons(names, inventory.LiveNotRecorded), Errors: []model.ScanError{{
				Account: t.Account, Region: t.Region, Code: "ConfigNotRecorded", Reason: model.ReasonConfigNotRecorded,
				Message: fmt.Sprintf("AWS Config aggregator %s has no AWS::DynamoDB::Table item in this account-region, where ListTables found %d table(s): "+
					"no recorder, the recorder does not record DynamoDB tables, or the account-region is not in the aggregator; its tables were read live "+
					"(add a recorder for AWS::DynamoDB::Table, or audit without --source config)", prm.ConfigAggregator, len(names))}}}
		}
		pf := inventory.Prefilled{Known: map[string]*model.Table{}, LiveReason: map[string]string{}}
		for _, n := range names {
			d := inventory.Decide(byName[n], partition, prm.Now, prm.MaxStaleness, needsWindow)
			if d.Table != nil {
				pf.Known[n] = d.Table
			} else {
				pf.LiveReason[n] = d.LiveReason
			}
		}
		return pf
	}, nil
}

func reasons(names []string, reason string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = reason
	}
	return m
}
