package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/remediate"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/selection"
	"github.com/pitrguard/pitrguard/internal/store"
)

// EnableOptions are the flags of `pitrguard enable`.
type EnableOptions struct {
	Target        TargetOptions
	Select        SelectOptions
	Apply         bool
	Yes           bool
	RecoveryDays  int
	AllowDecrease bool
	AllowPartial  bool
	Wait          time.Duration
	Output        string
	PlanFile      string
	Format        string

	regionsSet   bool
	recoverySet  bool
	criteria     selection.Criteria
	scope        inventory.Scope
	saved        *remediate.Plan
	quiet, store bool
}

func newEnableCmd(f *Factory, g *GlobalOptions) *cobra.Command { return newEnableCmdF(f, g, nil) }

// newEnableCmdF builds `enable`; runF, if set, receives the validated options
// instead of running (argv-to-options tests).
func newEnableCmdF(f *Factory, g *GlobalOptions, runF func(*EnableOptions) error) *cobra.Command {
	opts := &EnableOptions{}
	cmd := &cobra.Command{
		Use:     "enable",
		GroupID: "act",
		Short:   "Plan, then apply, PITR with the right recovery window on non-compliant tables",
		Long: `Enable audits the selected tables and plans one action per non-compliant,
non-exempt table: enable_pitr when PITR is off, raise_recovery_period when the
window is below the tier's minimum. Without --apply it only plans (and
changes nothing); review the plan, then apply it.

The window set is --recovery-days, else the tier's min_recovery_days, else 35.
pitrguard never disables PITR and never lowers a window unless
--allow-decrease is given (history beyond the new window is then lost for good).
A new table on which AWS is still enabling backups is retried for --wait, then
reported pending. Every change is read back: only a confirmed ENABLED with the
right window counts as applied. Each action is journaled in the history
database ('pitrguard history journal'), so --apply cannot be combined with
--no-store: a change without a journal is refused (exit 2).

On a terminal --apply lists the tables (the first 20 and a count) and asks
first; without one it needs --yes. A selector (--table, --tier, --owner) that
matches no table says so and exits 5; an account or region that could not be
scanned is listed and exits 1 unless --allow-partial.`,
		Example: `  # Plan for the whole organization, and save the plan for review
  pitrguard enable --org --regions us-east-1,eu-west-1 --output plan.json

  # Apply exactly that plan (each table is re-checked first)
  pitrguard enable --plan-file plan.json --apply

  # Production tables only, without a prompt (CI)
  pitrguard enable --org --tier critical --apply --yes --format json

  # One table by ARN, with a 14-day window
  pitrguard enable --table arn:aws:dynamodb:eu-west-1:111111111111:table/orders --recovery-days 14 --apply`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.regionsSet = cmd.Flags().Changed("regions")
			opts.recoverySet = cmd.Flags().Changed("recovery-days")
			opts.quiet, opts.store = g.Quiet, !g.NoStore
			homeRegion(g, &opts.Target, &opts.regionsSet)
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return enableRun(cmd.Context(), f, g, opts)
		},
	}
	addEnableFlags(cmd, opts)
	return cmd
}

func (o *EnableOptions) validate() error {
	if err := checkFormat(o.Format, "table", "json"); err != nil {
		return err
	}
	if o.recoverySet && (o.RecoveryDays < config.MinRecoveryDays || o.RecoveryDays > config.MaxRecoveryDays) {
		return FlagErrorf("--recovery-days must be between 1 and 35 (DynamoDB's limits), got %d", o.RecoveryDays)
	}
	if o.AllowDecrease && !o.recoverySet {
		return FlagErrorf("--allow-decrease only makes sense with --recovery-days")
	}
	if o.Apply && !o.store {
		return FlagErrorf("--apply journals every change in the history database; drop --no-store (or plan without --apply and keep the plan with --output)")
	}
	if err := checkOutputPath("output", o.Output); err != nil {
		return err
	}
	if err := o.loadSaved(); err != nil {
		return err
	}
	c, err := o.Select.criteria(&o.Target, o.regionsSet)
	if err != nil {
		return err
	}
	o.criteria = c
	o.scope, err = o.Target.validate()
	return err
}

func addEnableFlags(cmd *cobra.Command, opts *EnableOptions) {
	addTargetFlags(cmd, &opts.Target)
	addSelectFlags(cmd, &opts.Select, "only")
	fl := cmd.Flags()
	fl.BoolVar(&opts.Apply, "apply", false, "make the changes (without it, only plan)")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation (required with --apply when there is no terminal)")
	fl.IntVar(&opts.RecoveryDays, "recovery-days", 0, "window to set, 1–35 (default: the tier's min_recovery_days, else 35)")
	fl.BoolVar(&opts.AllowDecrease, "allow-decrease", false, "allow --recovery-days below a table's current window (history beyond it is lost for good)")
	fl.BoolVar(&opts.AllowPartial, "allow-partial", false, "exit 0 even when some accounts or regions could not be scanned")
	durationFlag(fl, &opts.Wait, "wait", 10*time.Minute, "how long to retry a new table on which AWS is still enabling backups, before reporting it pending")
	outputFlag(cmd, &opts.Output, "the plan as JSON")
	deprecatedAlias(fl, &opts.Output, "out", "output")
	fl.StringVar(&opts.PlanFile, "plan-file", "", "use this plan (from --output) instead of auditing; with --apply, apply exactly it")
	formatFlag(cmd, &opts.Format, "table", "json")
}

// loadSaved reads --plan-file, which is applied as it is.
func (o *EnableOptions) loadSaved() error {
	if o.PlanFile == "" {
		return nil
	}
	if len(o.Select.Tiers) > 0 || len(o.Select.Tables) > 0 || o.Select.Owner != "" || o.recoverySet || o.Output != "" {
		return FlagErrorf("--plan-file applies a saved plan as it is; it cannot be combined with --tier, --table, --owner, --recovery-days or --output")
	}
	p, err := remediate.LoadPlan(o.PlanFile)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	o.saved = p
	return nil
}

func enableRun(ctx context.Context, f *Factory, g *GlobalOptions, opts *EnableOptions) error {
	if opts.Apply && !opts.Yes && !f.IO.CanPrompt() {
		return FlagErrorf("--apply needs --yes when there is no terminal to confirm on")
	}
	cfg, prices, err := selectionInputs(&opts.Target, opts.Select.Tiers)
	if err != nil {
		return err
	}
	db, err := f.openStore(ctx, g)
	if err != nil {
		return err
	}
	defer closeStore(db)
	p, err := f.awsProvider(ctx, g, &opts.Target)
	if err != nil {
		return err
	}
	var prog, auditProg progress = noProgress{}, noProgress{}
	if f.IO.IsStderrTTY() && !g.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "Auditing %s to plan ...\n", describeScope(opts.scope))
		prog, auditProg = newBar(f.IO.ErrOut, "enable"), newBar(f.IO.ErrOut, "audit")
	}
	var runID int64
	plan, err := remediate.Run(ctx, remediate.RunOptions{Select: opts.criteria, Saved: opts.saved, Apply: opts.Apply,
		Plan: remediate.Options{RecoveryDays: opts.RecoveryDays, AllowDecrease: opts.AllowDecrease},
		Wait: opts.Wait, Concurrency: opts.Target.Concurrency, Now: f.Now,
	}, remediate.RunDeps{
		Audit:   auditFunc(p, audit.Params{Scope: opts.scope, Policy: cfg, Prices: prices, Now: f.Now(), Only: opts.criteria.Only}, auditProg),
		Clients: func(ctx context.Context, a, r string) (remediate.TableWriter, error) { return ddbClient(ctx, p, a, r) },
		Caller:  p.Caller().ARN,
		Confirm: func(_ context.Context, plan *remediate.Plan) error { return confirmEnable(f, opts, plan) },
		Begin: func(ctx context.Context, plan *remediate.Plan) (err error) {
			prog.AddTotal(len(plan.Actions))
			runID, err = db.BeginRun(ctx, "enable", p.Caller().ARN, store.Argv(append([]string{"pitrguard"}, f.args...)), f.Now())
			return err
		},
		Journal: func(e remediate.JournalEntry) { journal(ctx, f, db, runID, p.Caller().ARN, e) },
		Done:    func(remediate.Action) { prog.TableDone() },
	})
	prog.Done()
	if plan == nil {
		return &ExitError{Code: ExitInterrupted, Err: err}
	}
	if err != nil {
		return err
	}
	if runID != 0 {
		_ = db.FinishRun(context.WithoutCancel(ctx), runID, runStatus(ctx), plan.CoverageComplete, plan.Summary, plan.Errors, f.Now())
	}
	return enableReport(ctx, f, opts, plan)
}

func runStatus(ctx context.Context) string {
	if ctx.Err() != nil {
		return "interrupted"
	}
	return "completed"
}

// journal records one applied action in the history database.
func journal(ctx context.Context, f *Factory, db store.Store, runID int64, caller string, e remediate.JournalEntry) {
	before, _ := json.Marshal(e.Before)
	after, _ := json.Marshal(e.After)
	if err := db.AddJournal(context.WithoutCancel(ctx), store.JournalEntry{RunID: runID, At: e.At, Caller: caller,
		Account: e.Action.Account, Region: e.Action.Region, Table: e.Action.Table, Action: e.Action.Action,
		Before: before, After: after, Result: e.Action.Result, Error: e.Action.Error}); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "warning: could not journal %s: %v\n", e.Action.Table, err)
	}
}

// enableReport writes the plan (file, stdout, summary) and decides the exit code.
func enableReport(ctx context.Context, f *Factory, opts *EnableOptions, plan *remediate.Plan) error {
	for _, s := range plan.Skipped {
		fmt.Fprintf(f.IO.ErrOut, "skipped %s/%s/%s: %s\n", s.Account, s.Region, s.Table, s.Reason)
	}
	for _, w := range plan.Warnings {
		fmt.Fprintln(f.IO.ErrOut, "warning:", w)
	}
	if opts.Output != "" {
		if err := writeOutput(f, opts.Output, func(w io.Writer) error { return report.WriteJSON(w, plan) }); err != nil {
			return err
		}
		fmt.Fprintf(f.IO.ErrOut, "Wrote the plan to %s; apply it with: pitrguard enable --plan-file %s --apply\n", opts.Output, opts.Output)
	}
	if err := writePlan(f, opts.Format, plan); err != nil {
		return err
	}
	enableSummary(f, opts, plan)
	s := plan.Summary
	switch {
	case ctx.Err() != nil:
		return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted: %d change(s) made, %d not started (see the report)", s.Applied, s.NotStarted)}
	case s.Failed > 0:
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d change(s) failed; the report says why and what to do", s.Failed)}
	}
	o := outcome{coverage: plan.CoverageComplete, allowPartial: opts.AllowPartial, errors: scopeErrors(plan.Errors),
		unmatched: plan.Unmatched, matched: len(plan.Actions)+len(plan.Skipped) > 0}
	if err := o.exit(f); err != nil {
		return err
	}
	if s.Pending > 0 {
		return &ExitError{Code: ExitPending, Err: fmt.Errorf("%d change(s) pending; run the same command again later", s.Pending)}
	}
	return nil
}

func enableSummary(f *Factory, opts *EnableOptions, plan *remediate.Plan) {
	if opts.quiet || opts.Format != "table" {
		return
	}
	s := plan.Summary
	switch {
	case len(plan.Actions) == 0:
		fmt.Fprintln(f.IO.ErrOut, "Nothing to do: every selected table is compliant or exempt.")
	case !opts.Apply:
		fmt.Fprintf(f.IO.ErrOut, "\nPlan: %d change(s) in %d account(s), +$%.2f/month. Nothing was changed; add --apply to make them.\n",
			len(plan.Actions), len(plan.Accounts()), s.MonthlyCostUSD)
	default:
		fmt.Fprintf(f.IO.ErrOut, "\nApplied %d, already compliant %d, pending %d, failed %d, not started %d.\n",
			s.Applied, s.AlreadyCompliant, s.Pending, s.Failed, s.NotStarted)
	}
}

// scopeErrors keeps the account-region errors (table-level read errors are
// already in the plan's skipped list).
func scopeErrors(errs []model.ScanError) []model.ScanError {
	var out []model.ScanError
	for _, e := range errs {
		if e.Table == "" {
			out = append(out, e)
		}
	}
	return out
}

// confirmEnable shows the tables about to change and asks (--yes skips it).
func confirmEnable(f *Factory, opts *EnableOptions, plan *remediate.Plan) error {
	if opts.Yes {
		return nil
	}
	counts := map[string]int{}
	lines := make([]string, 0, len(plan.Actions))
	for _, a := range plan.Actions {
		counts[a.Action]++
		from := "off"
		if a.FromDays != nil {
			from = strconv.Itoa(*a.FromDays) + "d"
		}
		lines = append(lines, fmt.Sprintf("%s/%s/%s  %s  %s → %dd", a.Account, a.Region, a.Table, a.Action, from, a.ToDays))
	}
	w := f.IO.ErrOut
	fmt.Fprintf(w, "\nAbout to change %d table(s): %d enable_pitr, %d raise_recovery_period\n", len(plan.Actions), counts[remediate.EnablePITR], counts[remediate.RaiseRecoveryPeriod])
	writeList(w, lines)
	fmt.Fprintf(w, "Accounts: %s\nAdded cost: $%.2f/month\n", strings.Join(plan.Accounts(), ", "), plan.Summary.MonthlyCostUSD)
	for _, a := range plan.Actions {
		if a.Decrease {
			fmt.Fprintf(w, "WARNING: %s/%s/%s: %s\n", a.Account, a.Region, a.Table, a.Warning)
		}
	}
	if !askYes(f, "Type yes to apply: ") {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("aborted: nothing was changed")}
	}
	return nil
}

func writePlan(f *Factory, format string, plan *remediate.Plan) error {
	if format == "json" {
		return report.WriteJSON(f.IO.Out, plan)
	}
	rows := make([][]string, 0, len(plan.Actions))
	for _, a := range plan.Actions {
		from := "-"
		if a.FromDays != nil {
			from = strconv.Itoa(*a.FromDays)
		}
		note := a.Error
		if note == "" {
			note = a.Warning
		}
		if note == "" {
			note = "-"
		}
		rows = append(rows, []string{a.Account, a.Region, a.Table, a.Tier, a.Action, from, strconv.Itoa(a.ToDays),
			fmt.Sprintf("%.2f", a.MonthlyCostUSD), a.Result, note})
	}
	tty := f.IO.IsStdoutTTY()
	return report.Table(f.IO.Out, report.Style{Aligned: tty}, []string{"ACCOUNT", "REGION", "TABLE", "TIER", "ACTION", "FROM", "TO", "+$/MO", "RESULT", "NOTE"}, rows)
}
