package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/drill"
	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/restore"
	"github.com/pitrguard/pitrguard/internal/store"
)

// DrillOptions are the flags of `pitrguard drill`.
type DrillOptions struct {
	Enable          EnableOptions // reuses --table/--tier/targeting parsing
	Due             bool
	Every           string
	Max             int
	At              string
	TZ              string
	Wait            time.Duration
	Poll            time.Duration
	Sample          int
	CountTolerance  float64
	SampleTolerance float64
	Yes             bool
	Format          string

	every time.Duration
	at    *time.Time
}

// DrillReport is the JSON document of `pitrguard drill`.
type DrillReport struct {
	SchemaVersion int            `json:"schema_version"`
	Drills        []drill.Result `json:"drills"`
	Skipped       []SkippedTable `json:"skipped"`
	Summary       drill.Summary  `json:"summary"`
}

// SkippedTable is a selected table that was not drilled.
type SkippedTable struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Table   string `json:"table"`
	Reason  string `json:"reason"`
}

func newDrillCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	o := &DrillOptions{}
	cmd := &cobra.Command{
		Use:     "drill",
		GroupID: "act",
		Short:   "Prove tables can be restored: restore, validate, time (MTTR), clean up",
		Long: `Drill restores each selected table to its latest restorable time (or --at)
into a scratch table named pitrguard-drill-<table>-<time> and tagged
pitrguard:drill=true, waits for it, validates it against the source (key
schema, index set, item count, a sample of items read back by key), times it
(request → ACTIVE is the restore time, MTTR), and always deletes the scratch
table afterwards — also on failure, timeout and Ctrl-C, and only tables with
the drill tag and name prefix. Every drill is recorded as evidence
('pitrguard history drills'). 'pitrguard drill cleanup' removes leftovers.

On a terminal it shows the selection and estimated cost and asks first.
Without one, --yes is required — except when every table is named with
--table, which is taken as the explicit choice.`,
		Example: `  # Drill one table
  pitrguard drill --table orders --regions eu-west-1

  # The quarterly drill: every critical table not drilled in 90 days, at most 20
  pitrguard drill --org --tier critical --due --every 90d --max 20 --yes

  # Allow 1% of sampled items to differ on a busy table
  pitrguard drill --table arn:aws:dynamodb:eu-west-1:111111111111:table/events --sample-tolerance 0.01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Enable.regionsSet = cmd.Flags().Changed("regions")
			o.Enable.homeRegion(g)
			if err := o.validate(f); err != nil {
				return err
			}
			return drillRun(cmd.Context(), f, g, o)
		},
	}
	addTargetFlags(cmd, &o.Enable.Target)
	_ = cmd.Flags().Set("concurrency", "4")
	cmd.Flags().Lookup("concurrency").DefValue = "4"
	cmd.Flags().Lookup("concurrency").Usage = "drills at once (AWS allows 50 concurrent restores per account)"
	fl := cmd.Flags()
	fl.StringArrayVar(&o.Enable.Tables, "table", nil, "drill this table, by name or ARN (repeatable)")
	fl.StringSliceVar(&o.Enable.Tiers, "tier", nil, "only tables of this tier (repeatable)")
	fl.BoolVar(&o.Due, "due", false, "only tables whose last passed drill is older than --every (or that never passed one)")
	fl.StringVar(&o.Every, "every", "90d", "drill interval for --due, e.g. 90d, 30d, 12h")
	fl.IntVar(&o.Max, "max", 0, "drill at most this many tables (0: no limit)")
	fl.StringVar(&o.At, "at", "", "restore point instead of the latest restorable time (same forms as restore --to)")
	fl.StringVar(&o.TZ, "tz", "UTC", "time zone of --at when it has no offset")
	fl.DurationVar(&o.Wait, "wait", 6*time.Hour, "how long to wait for each scratch table to become ACTIVE")
	fl.DurationVar(&o.Poll, "poll", 5*time.Second, "first interval between status checks")
	_ = fl.MarkHidden("poll")
	fl.IntVar(&o.Sample, "sample", 20, "items read from the scratch table and compared with the source")
	fl.Float64Var(&o.CountTolerance, "count-tolerance", 0, "allowed relative item-count difference, e.g. 0.01 for 1% (default exact)")
	fl.Float64Var(&o.SampleTolerance, "sample-tolerance", 0, "allowed share of sampled items that differ from the source (default none)")
	fl.BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation (required when there is no terminal)")
	fl.StringVarP(&o.Format, "format", "f", "table", "output format: table or json")
	cmd.AddCommand(newDrillCleanupCmd(f, g))
	return cmd
}

func (o *DrillOptions) validate(f *Factory) error {
	if o.Format != "table" && o.Format != "json" {
		return FlagErrorf("--format %q is not supported; use table or json", o.Format)
	}
	d, err := parseEvery(o.Every)
	if err != nil {
		return FlagErrorf("--every: %v", err)
	}
	o.every = d
	if o.Max < 0 || o.Sample < 0 || o.CountTolerance < 0 || o.SampleTolerance < 0 || o.SampleTolerance > 1 {
		return FlagErrorf("--max, --sample and the tolerances must not be negative (--sample-tolerance at most 1)")
	}
	if o.Enable.Target.Concurrency > 50 {
		return FlagErrorf("--concurrency %d is above AWS's 50 concurrent restores per account", o.Enable.Target.Concurrency)
	}
	if o.At != "" {
		loc, err := time.LoadLocation(o.TZ)
		if err != nil {
			return FlagErrorf("--tz %q is not a time zone", o.TZ)
		}
		at, err := restore.ParseTime(o.At, loc, f.Now())
		if err != nil {
			return FlagErrorf("--at: %v", err)
		}
		o.at = &at
	}
	if o.Wait <= 0 || o.Poll <= 0 {
		return FlagErrorf("--wait must be positive")
	}
	o.Enable.Format = "json"
	return o.Enable.validate()
}

// parseEvery reads durations with a day unit (90d) as well as Go's (12h).
func parseEvery(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("%q is not a number of days like 90d", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration like 90d or 12h", s)
	}
	return d, nil
}

func drillRun(ctx context.Context, f *Factory, g *GlobalOptions, o *DrillOptions) error {
	// Without a terminal, a broad selection needs --yes. Tables named one by
	// one with --table (and nothing else widening the selection) are the
	// user's explicit choice: the selection and cost are printed and the drill
	// proceeds, as the acceptance command (no --yes) expects.
	explicit := len(o.Enable.Tables) > 0 && len(o.Enable.Tiers) == 0 && !o.Due && !o.Enable.Target.Org && len(o.Enable.Target.Accounts) == 0
	if !o.Yes && !f.IO.CanPrompt() && !explicit {
		return FlagErrorf("drill needs --yes when there is no terminal to confirm on (it creates scratch tables, which cost money); only tables named with --table are drilled without it")
	}
	scope, _ := o.Enable.Target.validate()
	cfg, err := loadConfig(o.Enable.Target.ConfigFile)
	if err != nil {
		return err
	}
	if err := checkTiers(cfg, o.Enable.Tiers); err != nil {
		return err
	}
	prices, err := loadPrices(o.Enable.Target.PriceFile)
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
	p, err := f.awsProvider(ctx, g, &o.Enable.Target)
	if err != nil {
		return err
	}
	res := audit.Run(ctx, p, audit.Params{Scope: scope, Policy: cfg, Prices: prices, Now: f.Now(), Only: o.Enable.only})
	if res.Interrupted {
		return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted while selecting tables: nothing was restored")}
	}
	var items []drill.Item
	skipped := []SkippedTable{}
	cost := 0.0
	for _, e := range res.Entries {
		t := e.Table
		if len(o.Enable.Tiers) > 0 && !slices.ContainsFunc(o.Enable.Tiers, func(x string) bool { return strings.EqualFold(x, e.Eval.Tier.Name) }) {
			continue
		}
		if strings.HasPrefix(t.Name, drill.Prefix) {
			continue // never drill a scratch table
		}
		skip := func(why string) { skipped = append(skipped, SkippedTable{t.Account, t.Region, t.Name, why}) }
		switch {
		case !t.PITR.Known:
			skip("PITR status unknown (" + string(e.Eval.Verdict) + "); audit it first")
			continue
		case !t.PITR.Enabled:
			skip("PITR is off: there is nothing to restore (enable it with `pitrguard enable`)")
			continue
		case t.Status != "ACTIVE":
			skip("table is " + t.Status)
			continue
		}
		if o.Due {
			last, err := db.LastPassedDrill(ctx, t.Account, t.Region, t.Name)
			if err == nil && f.Now().Sub(last) < o.every {
				continue
			}
		}
		if o.Max > 0 && len(items) == o.Max {
			skip(fmt.Sprintf("over --max %d", o.Max))
			continue
		}
		items = append(items, drill.Item{Account: t.Account, Region: t.Region, Table: t.Name, ARN: t.ARN, SizeBytes: t.RestoreBytes(), Tier: e.Eval.Tier.Name})
		c, _ := prices.RestoreCost(t.Region, t.RestoreBytes())
		cost += c
	}
	for _, s := range skipped {
		fmt.Fprintf(f.IO.ErrOut, "skipped %s/%s/%s: %s\n", s.Account, s.Region, s.Table, s.Reason)
	}
	if len(items) == 0 {
		rep := &DrillReport{SchemaVersion: 1, Drills: []drill.Result{}, Skipped: skipped, Summary: drill.Summarize(nil)}
		fmt.Fprintln(f.IO.ErrOut, "Nothing to drill.")
		return writeDrills(f, o.Format, rep)
	}
	fmt.Fprintf(f.IO.ErrOut, "Drill %d table(s): ", len(items))
	for i, it := range items {
		if i > 0 {
			fmt.Fprint(f.IO.ErrOut, ", ")
		}
		if i == 10 {
			fmt.Fprintf(f.IO.ErrOut, "… (%d more)", len(items)-10)
			break
		}
		fmt.Fprintf(f.IO.ErrOut, "%s/%s/%s", it.Account, it.Region, it.Table)
	}
	fmt.Fprintf(f.IO.ErrOut, "\nEstimated restore cost: $%.2f (plus the scratch tables' storage while they exist).\n", cost)
	if !o.Yes && f.IO.CanPrompt() {
		fmt.Fprint(f.IO.ErrOut, "Type yes to start: ")
		if !readYes(f) {
			return &ExitError{Code: ExitFailure, Err: fmt.Errorf("aborted: nothing was restored")}
		}
	}
	var runID int64
	if db != nil {
		if runID, err = db.BeginRun(ctx, "drill", p.Caller().ARN, store.Argv(append([]string{"pitrguard"}, f.args...)), f.Now()); err != nil {
			return err
		}
	}
	var prog progress = noProgress{}
	if f.IO.IsStderrTTY() && !g.Quiet {
		bar := newBar(f.IO.ErrOut, "drill")
		bar.AddTotal(len(items))
		prog = bar
	}
	results := drill.Run(ctx, items, func(ctx context.Context, account, region string) (*dynamodb.Client, error) {
		cfg, err := p.Account(ctx, account)
		if err != nil {
			return nil, err
		}
		return dynamodb.NewFromConfig(awsx.ForRegion(cfg, region)), nil
	}, drill.Options{At: o.at, Wait: o.Wait, Poll: o.Poll, Sample: o.Sample, CountTolerance: o.CountTolerance,
		SampleTolerance: o.SampleTolerance, Concurrency: o.Enable.Target.Concurrency, Now: f.Now,
		Done: func(r drill.Result) {
			prog.TableDone()
			if db == nil {
				return
			}
			ev, _ := json.Marshal(r)
			if err := db.AddDrill(context.WithoutCancel(ctx), store.Drill{RunID: runID, StartedAt: r.StartedAt, Account: r.Account, Region: r.Region,
				Table: r.Table, ScratchTable: r.ScratchTable, RestorePoint: r.RestorePoint, RestoreSeconds: r.RestoreSeconds,
				TotalSeconds: r.TotalSeconds, SizeBytes: r.SizeBytes, Result: r.Result, Cleanup: r.Cleanup, Evidence: ev}); err != nil {
				fmt.Fprintf(f.IO.ErrOut, "warning: could not record the drill of %s: %v\n", r.Table, err)
			}
		}})
	prog.Done()
	rep := &DrillReport{SchemaVersion: 1, Drills: results, Skipped: skipped, Summary: drill.Summarize(results)}
	if db != nil {
		status := "completed"
		if ctx.Err() != nil {
			status = "interrupted"
		}
		_ = db.FinishRun(context.WithoutCancel(ctx), runID, status, true, rep.Summary, skipped, f.Now())
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
	return nil
}

func writeDrills(f *Factory, format string, r *DrillReport) error {
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

func newDrillCleanupCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	t := &TargetOptions{}
	var format string
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Delete scratch tables that drills left behind",
		Long: `Cleanup finds tables named pitrguard-drill-* in the selected accounts and
regions and deletes those that carry pitrguard:drill=true. A table with the
prefix but without the tag is listed and left alone.`,
		Example: `  pitrguard drill cleanup --regions eu-west-1
  pitrguard drill cleanup --org`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			scope, err := t.validate()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			p, err := f.awsProvider(ctx, g, t)
			if err != nil {
				return err
			}
			targets, errs := inventory.Discover(ctx, p, scope)
			all := []drill.Leftover{}
			for _, tg := range targets {
				cfg, err := p.Account(ctx, tg.Account)
				if err != nil {
					continue
				}
				left, err := drill.Cleanup(ctx, dynamodb.NewFromConfig(awsx.ForRegion(cfg, tg.Region)), tg.Account, tg.Region, drill.Options{Poll: time.Second})
				all = append(all, left...)
				if err != nil {
					fmt.Fprintf(f.IO.ErrOut, "warning: %s/%s: %v\n", tg.Account, tg.Region, err)
				}
			}
			for _, e := range errs {
				fmt.Fprintf(f.IO.ErrOut, "warning: %s/%s could not be scanned: %s\n", e.Account, e.Region, e.Message)
			}
			failed := 0
			for _, l := range all {
				if l.Result == "failed" {
					failed++
				}
			}
			if format == "json" {
				if err := report.WriteJSON(f.IO.Out, map[string]any{"schema_version": 1, "leftovers": all}); err != nil {
					return err
				}
			} else {
				rows := make([][]string, 0, len(all))
				for _, l := range all {
					rows = append(rows, []string{l.Account, l.Region, l.Table, l.Result, l.Detail})
				}
				if len(rows) == 0 {
					fmt.Fprintln(f.IO.ErrOut, "No scratch tables found.")
				} else if err := report.Table(f.IO.Out, report.Style{Aligned: f.IO.IsStdoutTTY()}, []string{"ACCOUNT", "REGION", "TABLE", "RESULT", "DETAIL"}, rows); err != nil {
					return err
				}
			}
			if failed > 0 {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d scratch table(s) could not be deleted", failed)}
			}
			return nil
		},
	}
	addTargetFlags(cmd, t)
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	return cmd
}
