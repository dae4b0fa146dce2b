// Package audit runs one audit: it discovers targets, collects table facts,
// evaluates them against the policy and tallies the KPIs. Commands that act
// on tables (enable, drill) start from its result, so they never re-derive a
// verdict their own way.
//
// Every table in scope ends up in the result exactly once: in Report.Tables
// with a verdict, or — when the run ended before it was read (Ctrl-C, a
// deadline) — in Report.Errors by name. An interrupted run says so in
// Report.Run.Status and in Report.Errors, and its coverage is incomplete.
package audit

import (
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
	Report  *report.Audit
	Entries []Entry // sorted like Report.Tables
	// Interrupted is true when the context ended before the audit finished.
	Interrupted bool
	// TimedOut is true when it ended because of its deadline.
	TimedOut bool
}

// Run performs the audit.
func Run(ctx context.Context, p Provider, prm Params) *Result {
	start := time.Now()
	prm.Scope.Clients = prm.Clients
	targets, errs := inventory.Discover(ctx, p, prm.Scope)
	ev := policy.New(prm.Policy, prm.Now)
	tally := policy.NewTally()
	var (
		mu      sync.Mutex
		entries []Entry
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
	col := inventory.NewCollector(p, opts)
	bk := newBackupStep(p, prm, ev) // nil, and no AWS Backup call, without a backup: policy
	errs = append(errs, col.Collect(ctx, targets, func(t *model.Table) {
		r := bk.apply(ctx, t, ev.Evaluate(t))
		cost, est := prm.Prices.PITRMonthly(t.Region, t.BillableBytes())
		if !t.DescribeKnown {
			est = true
		}
		e := Entry{Table: t, Eval: r, Result: report.NewTableResult(t, r, cost, est)}
		mu.Lock()
		entries = append(entries, e)
		tally.Add(t, r, cost)
		mu.Unlock()
	})...)

	// Table-level read errors are listed too, so every UNKNOWN has its cause
	// next to it in errors[]; they do not make coverage incomplete.
	coverage := len(errs) == 0
	for _, e := range entries {
		for _, re := range e.Table.ReadErrors {
			errs = append(errs, model.ScanError{Account: e.Table.Account, Region: e.Table.Region, Table: e.Table.Name,
				Code: re.Code, Reason: re.Reason, Message: re.Op + ": " + re.Message})
		}
	}
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
	results := make([]report.TableResult, len(entries))
	for i := range entries {
		results[i] = entries[i].Result
	}
	report.SortTables(results)
	sortEntries(entries)

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
			Tables:        results,
			Errors:        errs,
			Summary:       tally.Summary(coverage),
			Run: report.RunInfo{
				Status: status, Caller: p.Caller().ARN, Policy: prm.Policy.Source, Prices: prm.Prices.Source,
				Accounts: len(accounts), Targets: len(targets),
				DurationSeconds: time.Since(start).Seconds(), APICalls: calls, Throttles: throttles,
			},
		},
		Entries:     entries,
		Interrupted: interrupted,
		TimedOut:    errors.Is(ctx.Err(), context.DeadlineExceeded),
	}
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
