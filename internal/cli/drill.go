package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/drill"
	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/pricing"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/restore"
	"github.com/pitrguard/pitrguard/internal/selection"
	"github.com/pitrguard/pitrguard/internal/store"
)

// DrillOptions are the flags of `pitrguard drill`.
type DrillOptions struct {
	Target          TargetOptions
	Select          SelectOptions
	Due             bool
	Every           time.Duration
	Max             int
	To              string
	TZ              string
	Wait            time.Duration
	Poll            time.Duration
	Sample          int
	CountTolerance  float64
	SampleTolerance float64
	Parallel        int
	Yes             bool
	AllowPartial    bool
	Format          string

	regionsSet  bool
	oldParallel bool // --concurrency (deprecated) meant parallel drills
	at          *time.Time
	criteria    selection.Criteria
	scope       inventory.Scope
}

// DrillReport is the JSON document of `pitrguard drill`.
type DrillReport = drill.Report

func newDrillCmd(f *Factory, g *GlobalOptions) *cobra.Command { return newDrillCmdF(f, g, nil) }

// newDrillCmdF builds `drill`; runF, if set, receives the validated options
// instead of running (argv-to-options tests).
func newDrillCmdF(f *Factory, g *GlobalOptions, runF func(*DrillOptions) error) *cobra.Command {
	o := &DrillOptions{}
	cmd := &cobra.Command{
		Use:     "drill",
		GroupID: "act",
		Short:   "Prove tables can be restored: restore, validate, time (MTTR), clean up",
		Long: `Drill restores each selected table to its latest restorable time (or --to)
into a scratch table named pitrguard-drill-<table>-<time>-<random> and tagged
pitrguard:drill=true, waits for it, validates it against the source (key
schema, index set, item count, a sample of items read back by key), times it
(request → ACTIVE is the restore time, MTTR), and always deletes the scratch
table afterwards — also on failure, timeout and Ctrl-C. A table is the
drill's only if it is a restore of the source created at or after the
request; no other table is ever tagged or deleted. Every drill is recorded as
evidence ('pitrguard history drills'). 'pitrguard drill cleanup' removes leftovers.

On a terminal it shows the selection and estimated cost and asks first.
Without one, --yes is required — except when every table is named with
--table, which is taken as the explicit choice. A selector that matches no
table says so and exits 5; an account or region that could not be scanned is
listed and exits 1 unless --allow-partial.`,
		Example: `  # Drill one table
  pitrguard drill --table orders --regions eu-west-1

  # The quarterly drill: every critical table not drilled in 90 days, at most 20
  pitrguard drill --org --tier critical --due --every 90d --max 20 --yes

  # Allow 1% of sampled items to differ on a busy table
  pitrguard drill --table arn:aws:dynamodb:eu-west-1:111111111111:table/events --sample-tolerance 0.01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.regionsSet = cmd.Flags().Changed("regions")
			o.oldParallel = cmd.Flags().Changed("concurrency") && !cmd.Flags().Changed("parallel")
			homeRegion(g, &o.Target, &o.regionsSet)
			if err := o.validate(f); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return drillRun(cmd.Context(), f, g, o)
		},
	}
	addDrillFlags(cmd, o)
	cmd.AddCommand(newDrillCleanupCmdF(f, g, nil))
	return cmd
}

func addDrillFlags(cmd *cobra.Command, o *DrillOptions) {
	addTargetFlags(cmd, &o.Target)
	// --concurrency used to be the drills at once; it is now --parallel.
	_ = cmd.Flags().MarkDeprecated("concurrency", "use --parallel for drills at once")
	addSelectFlags(cmd, &o.Select, "drill")
	fl := cmd.Flags()
	fl.IntVar(&o.Parallel, "parallel", 4, "drills at once (AWS allows 50 concurrent restores per account)")
	fl.BoolVar(&o.Due, "due", false, "only tables whose last passed drill is older than --every (or that never passed one)")
	durationFlag(fl, &o.Every, "every", 90*24*time.Hour, "drill interval for --due")
	fl.IntVar(&o.Max, "max", 0, "drill at most this many tables (0: no limit)")
	fl.StringVar(&o.To, "to", "", "restore point instead of the latest restorable time (same forms as restore --to)")
	deprecatedAlias(fl, &o.To, "at", "to")
	fl.StringVar(&o.TZ, "tz", "UTC", "time zone of --to when it has no offset")
	durationFlag(fl, &o.Wait, "wait", 6*time.Hour, "how long to wait for each scratch table to become ACTIVE")
	durationFlag(fl, &o.Poll, "poll", 5*time.Second, "first interval between status checks")
	_ = fl.MarkHidden("poll")
	fl.IntVar(&o.Sample, "sample", 20, "items read from the scratch table and compared with the source")
	fl.Float64Var(&o.CountTolerance, "count-tolerance", 0, "allowed relative item-count difference, e.g. 0.01 for 1% (default exact)")
	fl.Float64Var(&o.SampleTolerance, "sample-tolerance", 0, "allowed share of sampled items that differ from the source (default none)")
	fl.BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation (required when there is no terminal)")
	fl.BoolVar(&o.AllowPartial, "allow-partial", false, "exit 0 even when some accounts or regions could not be scanned")
	formatFlag(cmd, &o.Format, "table", "json")
}

// homeRegion scopes the scan to the global --region when --regions is not given.
func homeRegion(g *GlobalOptions, t *TargetOptions, regionsSet *bool) {
	if !*regionsSet && g.Region != "" {
		t.Regions = []string{g.Region}
		*regionsSet = true
	}
}

func (o *DrillOptions) validate(f *Factory) error {
	if err := checkFormat(o.Format, "table", "json"); err != nil {
		return err
	}
	if o.oldParallel {
		o.Parallel, o.Target.Concurrency = o.Target.Concurrency, 16
	}
	if o.Max < 0 || o.Sample < 0 || o.CountTolerance < 0 || o.SampleTolerance < 0 || o.SampleTolerance > 1 {
		return FlagErrorf("--max, --sample and the tolerances must not be negative (--sample-tolerance at most 1)")
	}
	if o.Parallel < 1 || o.Parallel > 50 {
		return FlagErrorf("--parallel must be between 1 and 50 (AWS allows 50 concurrent restores per account), got %d", o.Parallel)
	}
	if o.To != "" {
		loc, err := time.LoadLocation(o.TZ)
		if err != nil {
			return FlagErrorf("--tz %q is not a time zone", o.TZ)
		}
		at, err := restore.ParseTime(o.To, loc, f.Now())
		if err != nil {
			return FlagErrorf("--to: %v", err)
		}
		o.at = &at
	}
	c, err := o.Select.criteria(&o.Target, o.regionsSet)
	if err != nil {
		return err
	}
	o.criteria = c
	o.scope, err = o.Target.validate()
	return err
}

// explicit: every table is named with --table and nothing widens the selection.
func (o *DrillOptions) explicit() bool {
	return len(o.Select.Tables) > 0 && len(o.Select.Tiers) == 0 && o.Select.Owner == "" && !o.Due && !o.Target.Org && len(o.Target.Accounts) == 0
}

func drillRun(ctx context.Context, f *Factory, g *GlobalOptions, o *DrillOptions) error {
	// Without a terminal, a broad selection needs --yes; tables named one by
	// one with --table are the user's explicit choice.
	if !o.Yes && !f.IO.CanPrompt() && !o.explicit() {
		return FlagErrorf("drill needs --yes when there is no terminal to confirm on (it creates scratch tables, which cost money); only tables named with --table are drilled without it")
	}
	cfg, prices, err := selectionInputs(&o.Target, o.Select.Tiers)
	if err != nil {
		return err
	}
	db, err := f.openStore(ctx, g)
	if err != nil {
		return err
	}
	defer closeStore(db)
	if o.Due && db == nil {
		return FlagErrorf("--due reads drill history from the database; drop --no-store")
	}
	p, err := f.awsProvider(ctx, g, &o.Target)
	if err != nil {
		return err
	}
	if o.Due {
		o.criteria.Due = &selection.Due{Every: o.Every, Now: f.Now(), Last: lastPassed(db)}
	}
	var prog progress = noProgress{}
	if f.IO.IsStderrTTY() && !g.Quiet {
		prog = newBar(f.IO.ErrOut, "drill")
	}
	var runID int64
	rep, err := drill.Run(ctx, drill.Options{Select: o.criteria, Max: o.Max, At: o.at, Wait: o.Wait, Poll: o.Poll, Sample: o.Sample,
		CountTolerance: o.CountTolerance, SampleTolerance: o.SampleTolerance, Parallel: o.Parallel, Now: f.Now,
	}, drillDeps(ctx, f, o, p, db, prices, prog, &runID, audit.Params{Scope: o.scope, Policy: cfg, Prices: prices, Now: f.Now(), Only: o.criteria.Only}))
	prog.Done()
	if err != nil {
		if rep == nil {
			return &ExitError{Code: ExitInterrupted, Err: err}
		}
		return err
	}
	if runID != 0 {
		_ = db.FinishRun(context.WithoutCancel(ctx), runID, runStatus(ctx), rep.CoverageComplete, rep.Summary, rep.Errors, f.Now())
	}
	return drillReport(ctx, f, o, rep)
}

// drillDeps wires the drill to AWS, the terminal and the history database.
func drillDeps(ctx context.Context, f *Factory, o *DrillOptions, p *awsx.Provider, db store.Store, prices *pricing.Table,
	prog progress, runID *int64, prm audit.Params) drill.Deps {
	return drill.Deps{
		Audit:       auditFunc(p, prm, nil),
		Clients:     func(ctx context.Context, a, r string) (drill.API, error) { return ddbClient(ctx, p, a, r) },
		RestoreCost: func(region string, b int64) float64 { c, _ := prices.RestoreCost(region, b); return c },
		Confirm: func(_ context.Context, items []drill.Item, sk []drill.Skipped, cost float64) error {
			return confirmDrill(f, o, items, sk, cost)
		},
		Begin: func(ctx context.Context, items []drill.Item) (err error) {
			prog.AddTotal(len(items))
			if db != nil {
				*runID, err = db.BeginRun(ctx, "drill", p.Caller().ARN, store.Argv(append([]string{"pitrguard"}, f.args...)), f.Now())
			}
			return err
		},
		Done: func(r drill.Result) { prog.TableDone(); recordDrill(ctx, f, db, *runID, r) },
	}
}

func lastPassed(db store.Store) func(ctx context.Context, account, region, table string) (time.Time, bool, error) {
	return func(ctx context.Context, account, region, table string) (time.Time, bool, error) {
		last, err := db.LastPassedDrill(ctx, account, region, table)
		if err == store.ErrNotFound {
			return time.Time{}, false, nil
		}
		return last, err == nil, err
	}
}

func recordDrill(ctx context.Context, f *Factory, db store.Store, runID int64, r drill.Result) {
	if db == nil {
		return
	}
	ev, _ := json.Marshal(r)
	if err := db.AddDrill(context.WithoutCancel(ctx), store.Drill{RunID: runID, StartedAt: r.StartedAt, Account: r.Account, Region: r.Region,
		Table: r.Table, ScratchTable: r.ScratchTable, RestorePoint: r.RestorePoint, RestoreSeconds: r.RestoreSeconds,
		TotalSeconds: r.TotalSeconds, SizeBytes: r.SizeBytes, Result: r.Result, Cleanup: r.Cleanup, Evidence: ev}); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "warning: could not record the drill of %s: %v\n", r.Table, err)
	}
}

// confirmDrill shows the selection and its cost, and asks on a terminal.
func confirmDrill(f *Factory, o *DrillOptions, items []drill.Item, skipped []drill.Skipped, cost float64) error {
	w := f.IO.ErrOut
	for _, s := range skipped {
		fmt.Fprintf(w, "skipped %s/%s/%s: %s\n", s.Account, s.Region, s.Table, s.Reason)
	}
	lines := make([]string, len(items))
	for i, it := range items {
		lines[i] = it.Account + "/" + it.Region + "/" + it.Table
	}
	fmt.Fprintf(w, "Drill %d table(s):\n", len(items))
	writeList(w, lines)
	fmt.Fprintf(w, "Estimated restore cost: $%.2f (plus the scratch tables' storage while they exist).\n", cost)
	if !o.Yes && f.IO.CanPrompt() && !askYes(f, "Type yes to start: ") {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("aborted: nothing was restored")}
	}
	return nil
}

// drillReport writes the report and decides the exit code.
func drillReport(ctx context.Context, f *Factory, o *DrillOptions, rep *drill.Report) error {
	if len(rep.Drills) == 0 {
		for _, s := range rep.Skipped {
			fmt.Fprintf(f.IO.ErrOut, "skipped %s/%s/%s: %s\n", s.Account, s.Region, s.Table, s.Reason)
		}
		fmt.Fprintf(f.IO.ErrOut, "Nothing to drill (%d table(s) not due).\n", rep.NotDue)
	}
	if err := writeDrills(f, o.Format, rep); err != nil {
		return err
	}
	s := rep.Summary
	switch {
	case ctx.Err() != nil:
		return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted: scratch tables were cleaned up (see the cleanup column)")}
	case s.Failed > 0 || s.LeftBehind > 0:
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d drill(s) failed, %d scratch table(s) left behind (run `pitrguard drill cleanup`)", s.Failed, s.LeftBehind)}
	}
	return outcome{coverage: rep.CoverageComplete, allowPartial: o.AllowPartial, errors: scopeErrors(rep.Errors),
		unmatched: rep.Unmatched, matched: len(rep.Drills)+len(rep.Skipped)+rep.NotDue > 0}.exit(f)
}

func writeDrills(f *Factory, format string, r *drill.Report) error {
	if format == "json" {
		return report.WriteJSON(f.IO.Out, r)
	}
	rows := make([][]string, 0, len(r.Drills))
	for _, d := range r.Drills {
		var failed []string
		for _, c := range d.Checks {
			if !c.OK {
				failed = append(failed, c.Name+": "+c.Detail)
			}
		}
		note := strings.Join(failed, "; ")
		if note == "" {
			note = "-"
		}
		rows = append(rows, []string{d.Account, d.Region, d.Table, strings.ToUpper(d.Result), fmt.Sprintf("%.1f", d.RestoreSeconds),
			fmt.Sprintf("%.1f", d.TotalSeconds), d.Cleanup, note})
	}
	tty := f.IO.IsStdoutTTY()
	if err := report.Table(f.IO.Out, report.Style{Aligned: tty}, []string{"ACCOUNT", "REGION", "TABLE", "RESULT", "RESTORE_S", "TOTAL_S", "CLEANUP", "FAILED CHECKS"}, rows); err != nil {
		return err
	}
	s := r.Summary
	fmt.Fprintf(f.IO.ErrOut, "\nDrills: %d passed, %d failed; MTTR median %.1fs, p90 %.1fs\n", s.Passed, s.Failed, s.MTTRMedian, s.MTTRP90)
	return nil
}

// DrillCleanupOptions are the flags of `pitrguard drill cleanup`.
type DrillCleanupOptions struct {
	Target       TargetOptions
	Format       string
	AllowPartial bool
	Poll         time.Duration

	scope inventory.Scope
}

func newDrillCleanupCmdF(f *Factory, g *GlobalOptions, runF func(*DrillCleanupOptions) error) *cobra.Command {
	o := &DrillCleanupOptions{}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Delete scratch tables that drills left behind",
		Long: `Cleanup finds tables named pitrguard-drill-* in the selected accounts and
regions and deletes the drill's own: restores that carry pitrguard:drill=true,
or untagged restores of the table their name gives, created at or after the
time in their name (a drill that lost its restore answer). Any other table
with the prefix is listed as skipped and left alone. An account or region
that could not be searched is listed and exits 1 unless --allow-partial.`,
		Example: `  pitrguard drill cleanup --regions eu-west-1
  pitrguard drill cleanup --org --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			regionsSet := cmd.Flags().Changed("regions")
			homeRegion(g, &o.Target, &regionsSet)
			if err := checkFormat(o.Format, "table", "json"); err != nil {
				return err
			}
			scope, err := o.Target.validate()
			if err != nil {
				return err
			}
			o.scope = scope
			if runF != nil {
				return runF(o)
			}
			return drillCleanupRun(cmd.Context(), f, g, o)
		},
	}
	addTargetFlags(cmd, &o.Target)
	formatFlag(cmd, &o.Format, "table", "json")
	cmd.Flags().BoolVar(&o.AllowPartial, "allow-partial", false, "exit 0 even when some accounts or regions could not be searched")
	durationFlag(cmd.Flags(), &o.Poll, "poll", time.Second, "first interval between status checks")
	_ = cmd.Flags().MarkHidden("poll")
	return cmd
}

func drillCleanupRun(ctx context.Context, f *Factory, g *GlobalOptions, o *DrillCleanupOptions) error {
	p, err := f.awsProvider(ctx, g, &o.Target)
	if err != nil {
		return err
	}
	rep := drill.RunCleanup(ctx, o.Poll, drill.CleanupDeps{
		Discover: func(ctx context.Context) ([]model.Target, []model.ScanError) {
			return inventory.Discover(ctx, p, o.scope)
		},
		Clients: func(ctx context.Context, a, r string) (drill.API, error) { return ddbClient(ctx, p, a, r) },
	})
	if err := writeLeftovers(f, o.Format, rep); err != nil {
		return err
	}
	failed := 0
	for _, l := range rep.Leftovers {
		if l.Result == "failed" {
			failed++
		}
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d scratch table(s) could not be deleted", failed)}
	}
	return outcome{coverage: rep.CoverageComplete, allowPartial: o.AllowPartial, errors: rep.Errors, matched: true}.exit(f)
}

func writeLeftovers(f *Factory, format string, rep *drill.CleanupReport) error {
	if format == "json" {
		return report.WriteJSON(f.IO.Out, rep)
	}
	rows := make([][]string, 0, len(rep.Leftovers))
	for _, l := range rep.Leftovers {
		rows = append(rows, []string{l.Account, l.Region, l.Table, l.Result, l.Detail})
	}
	if len(rows) == 0 {
		what := "No scratch tables found."
		if !rep.CoverageComplete {
			what = "No scratch tables found in the accounts and regions that could be searched (see errors)."
		}
		fmt.Fprintln(f.IO.ErrOut, what)
		return nil
	}
	return report.Table(f.IO.Out, report.Style{Aligned: f.IO.IsStdoutTTY()}, []string{"ACCOUNT", "REGION", "TABLE", "RESULT", "DETAIL"}, rows)
}
