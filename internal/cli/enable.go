package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/remediate"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

// EnableOptions are the flags of `pitrguard enable`.
type EnableOptions struct {
	Target        TargetOptions
	Tiers         []string
	Tables        []string
	Owner         string
	Apply         bool
	Yes           bool
	RecoveryDays  int
	AllowDecrease bool
	Wait          time.Duration
	Out           string
	PlanFile      string
	Format        string

	regionsSet bool
	tableRefs  []tableRef
}

type tableRef struct{ account, region, name string } // account/region empty for a bare name

func newEnableCmd(f *Factory, g *GlobalOptions) *cobra.Command {
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
database ('pitrguard history journal').`,
		Example: `  # Plan for the whole organization, and save the plan for review
  pitrguard enable --org --regions us-east-1,eu-west-1 --out plan.json

  # Apply exactly that plan (each table is re-checked first)
  pitrguard enable --plan-file plan.json --apply

  # Production tables only, without a prompt (CI)
  pitrguard enable --org --tier critical --apply --yes --format json

  # One table by ARN, with a 14-day window
  pitrguard enable --table arn:aws:dynamodb:eu-west-1:111111111111:table/orders --recovery-days 14 --apply`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.regionsSet = cmd.Flags().Changed("regions")
			opts.homeRegion(g)
			if err := opts.validate(); err != nil {
				return err
			}
			return enableRun(cmd.Context(), f, g, opts)
		},
	}
	addTargetFlags(cmd, &opts.Target)
	fl := cmd.Flags()
	fl.StringSliceVar(&opts.Tiers, "tier", nil, "only tables of this tier (repeatable)")
	fl.StringArrayVar(&opts.Tables, "table", nil, "only this table, by name or ARN (repeatable)")
	fl.StringVar(&opts.Owner, "owner", "", "only tables whose owner tag has this value")
	fl.BoolVar(&opts.Apply, "apply", false, "make the changes (without it, only plan)")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation (required with --apply when there is no terminal)")
	fl.IntVar(&opts.RecoveryDays, "recovery-days", 0, "window to set, 1–35 (default: the tier's min_recovery_days, else 35)")
	fl.BoolVar(&opts.AllowDecrease, "allow-decrease", false, "allow --recovery-days below a table's current window (history beyond it is lost for good)")
	fl.DurationVar(&opts.Wait, "wait", 10*time.Minute, "how long to retry a new table on which AWS is still enabling backups, before reporting it pending")
	fl.StringVar(&opts.Out, "out", "", "write the plan as JSON to this file")
	fl.StringVar(&opts.PlanFile, "plan-file", "", "use this plan (from --out) instead of auditing; with --apply, apply exactly it")
	fl.StringVarP(&opts.Format, "format", "f", "table", "output format: table or json")
	return cmd
}

// homeRegion scopes the scan to the global --region when --regions is not
// given: `drill --table T --region us-east-1` means that region, not all.
func (o *EnableOptions) homeRegion(g *GlobalOptions) {
	if !o.regionsSet && g.Region != "" {
		o.Target.Regions = []string{g.Region}
		o.regionsSet = true
	}
}

func (o *EnableOptions) validate() error {
	if o.Format != "table" && o.Format != "json" {
		return FlagErrorf("--format %q is not supported; use table or json", o.Format)
	}
	if o.RecoveryDays != 0 && (o.RecoveryDays < config.MinRecoveryDays || o.RecoveryDays > config.MaxRecoveryDays) {
		return FlagErrorf("--recovery-days must be between 1 and 35 (DynamoDB's limits), got %d", o.RecoveryDays)
	}
	if o.AllowDecrease && o.RecoveryDays == 0 {
		return FlagErrorf("--allow-decrease only makes sense with --recovery-days")
	}
	if o.Wait < 0 {
		return FlagErrorf("--wait must not be negative")
	}
	if o.PlanFile != "" && (len(o.Tiers) > 0 || len(o.Tables) > 0 || o.Owner != "" || o.RecoveryDays != 0 || o.Out != "") {
		return FlagErrorf("--plan-file applies a saved plan as it is; it cannot be combined with --tier, --table, --owner, --recovery-days or --out")
	}
	o.tableRefs = nil
	for _, t := range o.Tables {
		if strings.HasPrefix(t, "arn:") {
			a, err := arn.Parse(t)
			if err != nil || a.Service != "dynamodb" || !strings.HasPrefix(a.Resource, "table/") || !config.IsAccountID(a.AccountID) {
				return FlagErrorf("--table %q is not a DynamoDB table ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME)", t)
			}
			o.tableRefs = append(o.tableRefs, tableRef{a.AccountID, a.Region, strings.TrimPrefix(a.Resource, "table/")})
			continue
		}
		if !tableNameRE.MatchString(t) {
			return FlagErrorf("--table %q is not a table name (up to 255 of a-z A-Z 0-9 _ . -) or ARN", t)
		}
		o.tableRefs = append(o.tableRefs, tableRef{name: t})
	}
	// Tables given only by ARN name their own accounts and regions.
	if len(o.tableRefs) > 0 && !slices.ContainsFunc(o.tableRefs, func(r tableRef) bool { return r.account == "" }) {
		for _, r := range o.tableRefs {
			o.Target.Accounts = append(o.Target.Accounts, r.account)
			if !o.regionsSet {
				o.Target.Regions = append(slices.DeleteFunc(o.Target.Regions, func(s string) bool { return s == "all" }), r.region)
			}
		}
	}
	_, err := o.Target.validate()
	return err
}

func (o *EnableOptions) only(account, region, name string) bool {
	if len(o.tableRefs) == 0 {
		return true
	}
	return slices.ContainsFunc(o.tableRefs, func(r tableRef) bool {
		return r.name == name && (r.account == "" || (r.account == account && r.region == region))
	})
}

func enableRun(ctx context.Context, f *Factory, g *GlobalOptions, opts *EnableOptions) error {
	if opts.Apply && !opts.Yes && !f.IO.CanPrompt() {
		return FlagErrorf("--apply needs --yes when there is no terminal to confirm on")
	}
	var plan *remediate.Plan
	if opts.PlanFile != "" {
		p, err := remediate.LoadPlan(opts.PlanFile)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
		plan = p
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
	if plan == nil {
		if plan, err = planFromAudit(ctx, f, g, opts, p); err != nil {
			return err
		}
		plan.Caller = p.Caller().ARN
	}
	for _, s := range plan.Skipped {
		fmt.Fprintf(f.IO.ErrOut, "skipped %s/%s/%s: %s\n", s.Account, s.Region, s.Table, s.Reason)
	}
	if opts.Out != "" {
		if err := writeOutput(f, opts.Out, func(w io.Writer) error { return report.WriteJSON(w, plan) }); err != nil {
			return err
		}
		fmt.Fprintf(f.IO.ErrOut, "Wrote the plan to %s; apply it with: pitrguard enable --plan-file %s --apply\n", opts.Out, opts.Out)
	}
	if !opts.Apply || len(plan.Actions) == 0 {
		if opts.Apply {
			plan.Mode = "apply"
		}
		if err := writePlan(f, opts.Format, plan); err != nil {
			return err
		}
		if !g.Quiet && opts.Format == "table" {
			if len(plan.Actions) == 0 {
				fmt.Fprintln(f.IO.ErrOut, "Nothing to do: every selected table is compliant or exempt.")
			} else if !opts.Apply {
				fmt.Fprintf(f.IO.ErrOut, "\nPlan: %d change(s) in %d account(s), +$%.2f/month. Nothing was changed; add --apply to make them.\n",
					len(plan.Actions), len(plan.Accounts()), plan.Summary.MonthlyCostUSD)
			}
		}
		return nil
	}
	if !opts.Yes {
		ok, err := confirm(f, plan)
		if err != nil {
			return err
		}
		if !ok {
			return &ExitError{Code: ExitFailure, Err: fmt.Errorf("aborted: nothing was changed")}
		}
	}
	var runID int64
	if db != nil {
		if runID, err = db.BeginRun(ctx, "enable", p.Caller().ARN, store.Argv(append([]string{"pitrguard"}, f.args...)), f.Now()); err != nil {
			return err
		}
	}
	var prog progress = noProgress{}
	if f.IO.IsStderrTTY() && !g.Quiet {
		bar := newBar(f.IO.ErrOut, "enable")
		bar.AddTotal(len(plan.Actions))
		prog = bar
	}
	caller := p.Caller().ARN
	remediate.Apply(ctx, plan, func(ctx context.Context, account, region string) (remediate.TableWriter, error) {
		cfg, err := p.Account(ctx, account)
		if err != nil {
			return nil, err
		}
		return dynamodb.NewFromConfig(awsx.ForRegion(cfg, region)), nil
	}, remediate.ApplyOptions{
		// The real clock: it bounds --wait (f.Now only dates records).
		Wait: opts.Wait, Concurrency: opts.Target.Concurrency, Now: time.Now,
		Done: func(remediate.Action) { prog.TableDone() },
		Journal: func(e remediate.JournalEntry) {
			if db == nil {
				return
			}
			before, _ := json.Marshal(e.Before)
			after, _ := json.Marshal(e.After)
			if err := db.AddJournal(context.WithoutCancel(ctx), store.JournalEntry{RunID: runID, At: e.At, Caller: caller,
				Account: e.Action.Account, Region: e.Action.Region, Table: e.Action.Table, Action: e.Action.Action,
				Before: before, After: after, Result: e.Action.Result, Error: e.Action.Error}); err != nil {
				fmt.Fprintf(f.IO.ErrOut, "warning: could not journal %s: %v\n", e.Action.Table, err)
			}
		},
	})
	prog.Done()
	if db != nil {
		status := "completed"
		if ctx.Err() != nil {
			status = "interrupted"
		}
		_ = db.FinishRun(context.WithoutCancel(ctx), runID, status, true, plan.Summary, plan.Skipped, f.Now())
	}
	if err := writePlan(f, opts.Format, plan); err != nil {
		return err
	}
	s := plan.Summary
	if !g.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "\nApplied %d, already compliant %d, pending %d, failed %d, not started %d.\n",
			s.Applied, s.AlreadyCompliant, s.Pending, s.Failed, s.NotStarted)
	}
	switch {
	case ctx.Err() != nil:
		return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted: %d change(s) made, %d not started (see the report)", s.Applied, s.NotStarted)}
	case s.Failed > 0:
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d change(s) failed; the report says why and what to do", s.Failed)}
	case s.Pending > 0:
		return &ExitError{Code: ExitPending, Err: fmt.Errorf("%d change(s) pending; run the same command again later", s.Pending)}
	}
	return nil
}

func planFromAudit(ctx context.Context, f *Factory, g *GlobalOptions, opts *EnableOptions, p *awsx.Provider) (*remediate.Plan, error) {
	scope, _ := opts.Target.validate()
	cfg, err := loadConfig(opts.Target.ConfigFile)
	if err != nil {
		return nil, err
	}
	if err := checkTiers(cfg, opts.Tiers); err != nil {
		return nil, err
	}
	prices, err := loadPrices(opts.Target.PriceFile)
	if err != nil {
		return nil, err
	}
	var prog progress = noProgress{}
	if f.IO.IsStderrTTY() && !g.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "Auditing %s to plan ...\n", describeScope(scope))
		prog = newBar(f.IO.ErrOut, "audit")
	}
	res := audit.Run(ctx, p, audit.Params{Scope: scope, Policy: cfg, Prices: prices, Now: f.Now(), Progress: prog, Only: opts.only})
	prog.Done()
	if res.Interrupted {
		return nil, &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted while auditing: nothing was changed")}
	}
	plan := remediate.NewPlan(res.Entries, remediate.Options{RecoveryDays: opts.RecoveryDays, AllowDecrease: opts.AllowDecrease,
		Tiers: opts.Tiers, Owner: opts.Owner}, f.Now())
	plan.Policy = cfg.Source
	for _, e := range res.Report.Errors {
		if e.Table == "" {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s/%s could not be scanned (%s): its tables are not in the plan", e.Account, e.Region, e.Code))
		}
	}
	for _, w := range plan.Warnings {
		fmt.Fprintln(f.IO.ErrOut, "warning:", w)
	}
	for _, r := range opts.tableRefs {
		if !slices.ContainsFunc(res.Entries, func(e audit.Entry) bool {
			return e.Table.Name == r.name && (r.account == "" || (e.Table.Account == r.account && e.Table.Region == r.region))
		}) {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("--table %s was not found in the scanned accounts and regions", r.name))
			fmt.Fprintf(f.IO.ErrOut, "warning: --table %s was not found in the scanned accounts and regions\n", r.name)
		}
	}
	return plan, nil
}

func checkTiers(cfg *config.Config, tiers []string) error {
	known := []string{cfg.DefaultTier}
	for _, t := range cfg.Tiers {
		known = append(known, t.Name)
	}
	for _, t := range tiers {
		if !slices.ContainsFunc(known, func(k string) bool { return strings.EqualFold(k, t) }) {
			return FlagErrorf("--tier %q is not a tier of the policy (%s); tiers are: %s", t, cfg.Source, strings.Join(known, ", "))
		}
	}
	return nil
}

func confirm(f *Factory, plan *remediate.Plan) (bool, error) {
	counts := map[string]int{}
	for _, a := range plan.Actions {
		counts[a.Action]++
	}
	fmt.Fprintf(f.IO.ErrOut, "\nAbout to change %d table(s): %d enable_pitr, %d raise_recovery_period\n", len(plan.Actions), counts[remediate.EnablePITR], counts[remediate.RaiseRecoveryPeriod])
	fmt.Fprintf(f.IO.ErrOut, "Accounts: %s\nAdded cost: $%.2f/month\n", strings.Join(plan.Accounts(), ", "), plan.Summary.MonthlyCostUSD)
	for _, a := range plan.Actions {
		if a.Decrease {
			fmt.Fprintf(f.IO.ErrOut, "WARNING: %s/%s/%s: %s\n", a.Account, a.Region, a.Table, a.Warning)
		}
	}
	fmt.Fprint(f.IO.ErrOut, "Type yes to apply: ")
	line, err := bufio.NewReader(f.IO.In).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	return strings.TrimSpace(strings.ToLower(line)) == "yes", nil
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
