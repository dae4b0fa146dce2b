package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/pricing"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

// AuditOptions are the flags of `pitrguard audit`.
type AuditOptions struct {
	Target       TargetOptions
	Format       string
	Output       string
	FailOn       []string
	AllowPartial bool
	TableWorkers int
	Shard        ShardOptions
	Notify       AuditNotifyOptions // audit_notify.go
	Wide         bool
	// Timeout, when > 0, bounds the whole audit (discovery, listing and every
	// table); tables not read by then are listed in errors (reason timeout).
	Timeout time.Duration
	// Source is "live" (default) or "config:AGGREGATOR" (the AWS Config
	// fast path); MaxStaleness bounds the age of a Config item it uses.
	Source       string
	MaxStaleness time.Duration
	// CostExplorer adds last month's actual DynamoDB spend (audit_spend.go).
	CostExplorer bool
	// BackupPointBudget bounds ListRecoveryPointsByResource per
	// account-region when a tier requires AWS Backup (issue 12).
	BackupPointBudget int
	Args              []string

	// regionsSet is true when --regions was given; without it the global
	// --region (homeRegion) scopes the audit to that one region.
	regionsSet bool
	homeRegion string
	// stalenessSet is true when --max-staleness was given.
	stalenessSet bool
}

func newAuditCmd(f *Factory, g *GlobalOptions, runF func(context.Context, *AuditOptions) error) *cobra.Command {
	opts := &AuditOptions{}
	cmd := &cobra.Command{
		Use:     "audit",
		GroupID: "audit",
		Short:   "Audit PITR on every DynamoDB table in the selected accounts and regions",
		Long: `Audit reads, for every DynamoDB table in the selected accounts and regions, its
point-in-time-recovery status and recovery window, size, deletion protection,
replicas and tags, and judges it against the policy:

  COMPLIANT      PITR meets the table's tier
  NON_COMPLIANT  pitr_disabled, or recovery_period_below_minimum
  EXEMPT         an exemption in the policy file applies (expired ones do not)
  UNKNOWN        PITR could not be read (access_denied, throttled, timeout,
                 not_found, ...), or the tags that decide the tier could not
                 be read and the tier would change the verdict (tags_unreadable)
  SKIPPED        PITR cannot be judged in the table's state (CREATING,
                 DELETING, ARCHIVED); an UPDATING table is judged

Regions: --regions names them (checked against the AWS SDK's region list),
or 'all' for every region enabled in each account; without --regions, the
global --region scopes the audit to that one region.

Every AWS call is bounded by --request-timeout per attempt (retried up to
--max-attempts), so an endpoint that stops answering cannot hang the audit;
its tables come out UNKNOWN (timeout). Every table in scope is listed, with
its verdict or, if the run was interrupted before it was read, in errors.

--source config:AGGREGATOR takes each table's status, PITR status and tags
from an AWS Config aggregator (SelectAggregateResourceConfig, 100 tables per
call) and reads live only what Config cannot say: the recovery window of a
PITR-enabled table whose tier sets min_recovery_days, tables without an item,
items without the PITR field, and items older than --max-staleness. Tables are
still listed with ListTables per account-region; one with tables but no Config
item at all is an error (no recorder) and the coverage is incomplete. Each
table's JSON says its source ("config" or "live") and its age.

--cost-explorer also reads the last full month's DynamoDB spend from Cost
Explorer (one GetCostAndUsage query, paged, grouped by usage type; served from
us-east-1 and organization-wide from the management account): the summary then
holds dynamodb_spend_usd, pitr_spend_usd, backup_spend_usd and
resilience_cost_share = (PITR + backup) / DynamoDB spend, beside the estimate
from table sizes. Without it, or when the query fails (an error of the run),
they are null.

AWS Backup: PITR keeps at most 35 days. A tier with a backup: block in the
policy also requires AWS Backup coverage: a plan whose selection assigns the
table (ARN patterns, tags, conditions; a table *name* selects nothing), in a
region that backs it up, kept min_retention_days, with a restorable recovery
point younger than max_age_hours (and, if asked, a locked vault and a copy to
another region or account). Failures are NON_COMPLIANT (no_backup_plan,
backup_opt_in_disabled, backup_retention_below_minimum, backup_stale,
backup_missing, backup_vault_unlocked, backup_copy_missing); a read that
failed is UNKNOWN (backup_unreadable). AWS Backup is read once per
account-region, only where such a table is; the recovery points of critical
tables are read within --backup-point-budget calls per account-region. Each
table's JSON has a "backup" block (null when its tier asks for none) and
rpo_exposure_hours. enable still acts on PITR alone.

Memory stays flat however many tables there are: each table goes to a
temporary spill in $TMPDIR as soon as it is judged (about 2 KB per table at
the peak; the files are deleted as they are created, so nothing is left
behind) and is read back in order by the report, the history and --notify.

It only reads: no call it makes changes anything. Each run is recorded in the
history database (see 'pitrguard history') unless --no-store is given.`,
		Example: `  # Your own account, every enabled region
  pitrguard audit

  # The whole organization, two regions, JSON for a pipeline
  pitrguard audit --org --regions us-east-1,eu-west-1 --format json --output audit.json

  # Explicit member accounts through a dedicated audit role with an external id
  pitrguard audit --accounts 111111111111,222222222222 --role-name PitrguardAudit --external-id ops-42

  # Fail a CI job when anything is non-compliant or could not be read
  pitrguard audit --org --fail-on non-compliant,unknown

  # Actual spend beside the estimate: the resilience share of DynamoDB spend
  pitrguard audit --org --regions all --cost-explorer

  # AWS Config fast path: one aggregator query, live reads only where needed
  pitrguard audit --org --regions all --source config:org-aggregator --max-staleness 6h

  # With a policy whose critical tier also requires AWS Backup (backup: block)
  pitrguard audit --org --config pitrguard.yaml --format json --backup-point-budget 50

  # Against a local emulator
  pitrguard audit --org --endpoint-url http://127.0.0.1:5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = append([]string{"pitrguard"}, f.args...)
			opts.regionsSet, opts.homeRegion = cmd.Flags().Changed("regions"), g.Region
			opts.stalenessSet = cmd.Flags().Changed("max-staleness")
			if err := opts.validate(); err != nil {
				return err
			}
			if err := opts.Shard.resolve(f.Getenv); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return auditRun(cmd.Context(), f, g, opts)
		},
	}
	addAWSFlags(cmd, g)
	addStoreFlags(cmd, g)
	addTargetFlags(cmd, &opts.Target)
	addShardFlags(cmd, &opts.Shard)
	formatFlag(cmd, &opts.Format, report.Formats...)
	outputFlag(cmd, &opts.Output, "the report")
	fl := cmd.Flags()
	fl.StringSliceVar(&opts.FailOn, "fail-on", nil, "exit 3 when tables have these verdicts: non-compliant, unknown (comma-separated)")
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions(slices.Sorted(maps.Keys(failOnValues)), cobra.ShellCompDirectiveNoFileComp))
	fl.BoolVar(&opts.AllowPartial, "allow-partial", false, "exit 0 even when some accounts or regions could not be scanned")
	fl.IntVar(&opts.TableWorkers, "table-workers", 8, "tables described at once within one account-region")
	addAuditNotifyFlags(cmd, &opts.Notify)
	durationFlag(fl, &opts.Timeout, "timeout", 0, "stop the audit after this long and report what was read; tables not read are listed in errors and the exit code is 1 (default: no limit beyond --request-timeout per call)")
	fl.Lookup("timeout").DefValue = "none"
	fl.StringVar(&opts.Source, "source", "live", "where table facts come from: live, or config:AGGREGATOR (an AWS Config aggregator; live reads only where Config cannot decide)")
	durationFlag(fl, &opts.MaxStaleness, "max-staleness", 24*time.Hour, "with --source config, read live the tables whose Config item is older than this")
	fl.BoolVar(&opts.CostExplorer, "cost-explorer", false, "also read last month's actual DynamoDB, PITR and backup spend from Cost Explorer (ce:GetCostAndUsage; organization-wide from the management account) into the summary")
	fl.BoolVar(&opts.Wide, "wide", false, "on a terminal, print every cell in full instead of fitting rows to the terminal's width")
	fl.IntVar(&opts.BackupPointBudget, "backup-point-budget", inventory.DefaultBackupPointBudget, "when a tier requires AWS Backup: ListRecoveryPointsByResource calls per account-region at most, to read the status of critical tables' newest recovery points (0: none; the last backup time then comes from ListProtectedResources)")
	return cmd
}

var failOnValues = map[string]model.Verdict{"non-compliant": model.NonCompliant, "unknown": model.Unknown}

func (o *AuditOptions) validate() error {
	if err := checkFormat(o.Format, report.Formats...); err != nil {
		return err
	}
	for _, v := range o.FailOn {
		if _, ok := failOnValues[strings.ToLower(strings.TrimSpace(v))]; !ok {
			return FlagErrorf("--fail-on %q is not supported; use non-compliant, unknown, or both separated by a comma", v)
		}
	}
	if o.Source != "live" && (!strings.HasPrefix(o.Source, "config:") || strings.TrimSpace(strings.TrimPrefix(o.Source, "config:")) == "") {
		return FlagErrorf("--source %q is not supported; use live, or config:AGGREGATOR_NAME (the name of an AWS Config aggregator in the --region)", o.Source)
	}
	if o.stalenessSet && o.configAggregator() == "" {
		return FlagErrorf("--max-staleness applies only to --source config:AGGREGATOR_NAME (a live audit reads every table now); drop it or add --source")
	}
	if o.BackupPointBudget < 0 {
		return FlagErrorf("--backup-point-budget must be 0 or more (0: read no recovery point statuses), got %d", o.BackupPointBudget)
	}
	if o.TableWorkers < 1 || o.TableWorkers > 64 {
		return FlagErrorf("--table-workers must be between 1 and 64, got %d", o.TableWorkers)
	}
	if !o.regionsSet && o.homeRegion != "" {
		o.Target.Regions = []string{o.homeRegion}
	}
	if _, err := o.Target.validate(); err != nil {
		return err
	}
	// Before any AWS call: a report that cannot be written must not cost a
	// whole audit first (issue 16 #9).
	return checkOutputPath("output", o.Output)
}

func auditRun(ctx context.Context, f *Factory, g *GlobalOptions, opts *AuditOptions) error {
	scope, _ := opts.Target.validate()
	opts.Shard.apply(&scope)
	d, err := f.auditDeps(ctx, g, opts)
	if err != nil {
		return err
	}
	defer closeStore(d.db)
	res, err := runAudit(ctx, f, g, scope, opts, d)
	if err != nil {
		return err
	}
	defer res.Close() // removes the spill, also when writing the output fails
	a := res.Report
	if err := writeOutput(f, opts.Output, func(w io.Writer) error { return writeAudit(w, f, opts.Format, opts.Output != "", opts.Wide, a) }); err != nil {
		return err
	}
	switch {
	case !g.Quiet && (opts.Format == "table" || opts.Output != ""):
		report.WriteAuditSummary(f.IO.ErrOut, a)
	case g.Quiet || opts.Format != "table":
		// --quiet drops the KPIs, never the errors: they explain the exit code.
		report.WriteAuditErrors(f.IO.ErrOut, a)
	}
	if err := auditNotify(ctx, f, d.p, d.db, d.cfg, res, d.runID, opts.Args, opts.Notify); err != nil && !res.Interrupted {
		return err
	}
	return auditExit(res, opts)
}

// auditDeps are what an audit run needs, built in the order that fails fastest.
type auditDeps struct {
	cfg    *config.Config
	prices *pricing.Table
	db     store.Store // nil with --no-store
	p      *awsx.Provider
	now    time.Time
	runID  int64 // 0 with --no-store
}

func (f *Factory) auditDeps(ctx context.Context, g *GlobalOptions, opts *AuditOptions) (*auditDeps, error) {
	cfg, err := loadConfig(opts.Target.ConfigFile)
	if err != nil {
		return nil, err
	}
	prices, err := loadPrices(opts.Target.PriceFile)
	if err != nil {
		return nil, err
	}
	db, err := f.openStore(ctx, g)
	if err != nil {
		return nil, err
	}
	d := &auditDeps{cfg: cfg, prices: prices, db: db, now: f.Now()}
	if d.p, err = f.awsProvider(ctx, g, &opts.Target); err != nil {
		closeStore(db)
		return nil, err
	}
	if db != nil {
		if d.runID, err = db.StartRun(ctx, store.RunStart{Kind: "audit", Caller: d.p.Caller().ARN, Args: store.Argv(opts.Args), StartedAt: d.now,
			RunGroup: opts.Shard.RunGroup, Shard: opts.Shard.K, Shards: opts.Shard.N}); err != nil {
			closeStore(db)
			return nil, err
		}
	}
	return d, nil
}

// runAudit runs the audit with a progress bar and records it in the history.
// The audit streams: its tables go to an on-disk spill and are read back one
// at a time by the history, the output and the alerts (audit.RunStreamed), so
// memory stays flat however many tables there are. The caller must Close the
// result.
func runAudit(ctx context.Context, f *Factory, g *GlobalOptions, scope inventory.Scope, opts *AuditOptions, d *auditDeps) (*audit.Result, error) {
	var prog progress = noProgress{}
	if f.IO.IsStderrTTY() && !g.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "Auditing %s as %s\n", strings.TrimSuffix(describeScope(scope)+", "+opts.Shard.describe(), ", "), d.p.Caller().ARN)
		prog = newBar(f.IO.ErrOut, "audit")
	}
	runCtx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	prm := audit.Params{
		Scope: scope, Policy: d.cfg, Prices: d.prices, Now: d.now, Progress: prog, TableWorkers: opts.TableWorkers,
		ConfigAggregator: opts.configAggregator(), MaxStaleness: opts.MaxStaleness,
		Backup: true, BackupPointBudget: opts.BackupPointBudget,
	}
	var res *audit.Result
	var err error
	if f.inMemoryAudit {
		res = audit.Run(runCtx, d.p, prm)
	} else {
		res, err = audit.RunStreamed(runCtx, d.p, prm, f.spill)
	}
	prog.Done()
	if err != nil {
		if d.db != nil {
			_ = d.db.EndRun(context.WithoutCancel(ctx), d.runID, store.RunEnd{Status: store.StatusFailed, Summary: struct{}{}, Errors: []model.ScanError{}, Finished: f.Now()})
		}
		return nil, err
	}
	if f.spillStats != nil {
		f.spillStats(res.SpillStats())
	}
	if opts.CostExplorer && !res.Interrupted {
		auditSpend(ctx, d.p, res.Report, d.now)
	}
	res.Report.Run.ID = d.runID
	res.Report.Run.RunGroup, res.Report.Run.Shard, res.Report.Run.Shards = opts.Shard.RunGroup, opts.Shard.K, opts.Shard.N
	// Record before writing output, so the history survives a broken pipe.
	if d.db != nil {
		if err := recordAudit(context.WithoutCancel(ctx), d.db, d.runID, res, res.Report.Run.Status, f.Now()); err != nil {
			fmt.Fprintf(f.IO.ErrOut, "warning: could not record the run in %s: %v\n", d.db.Path(), err)
		}
	}
	return res, nil
}

// auditExit turns the result into the exit code: 130 interrupted, 1 for an
// incomplete coverage (unless --allow-partial), 3 when --fail-on matched.
func auditExit(res *audit.Result, opts *AuditOptions) error {
	a := res.Report
	if res.Interrupted && res.TimedOut {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("stopped after --timeout %s: the report holds the %d tables read; the others are listed in its errors", FormatDuration(opts.Timeout), a.Summary.Tables)}
	}
	if res.Interrupted {
		return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted: the report holds the %d tables read before the run ended; the others are listed in its errors", a.Summary.Tables)}
	}
	if !a.Summary.CoverageComplete && !opts.AllowPartial {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("coverage incomplete: %d account(s)/region(s) could not be scanned (see errors); pass --allow-partial to exit 0 anyway", countScopeErrors(a.Errors))}
	}
	for _, v := range opts.FailOn {
		if verdictCount(a.Summary, failOnValues[strings.ToLower(strings.TrimSpace(v))]) > 0 {
			return &ExitError{Code: ExitFindings}
		}
	}
	return nil
}

// verdictCount is how many tables of the run have verdict v (the KPIs count
// them, so the tables need not be read again).
func verdictCount(s policy.Summary, v model.Verdict) int {
	switch v {
	case model.Compliant:
		return s.Compliant
	case model.NonCompliant:
		return s.NonCompliant
	case model.Exempt:
		return s.Exempt
	case model.Unknown:
		return s.Unknown
	case model.Skipped:
		return s.Skipped
	}
	return 0
}

func countScopeErrors(errs []model.ScanError) int {
	n := 0
	for _, e := range errs {
		if e.Gap() {
			n++
		}
	}
	return n
}

func writeAudit(w io.Writer, f *Factory, format string, toFile, wide bool, a *report.Audit) error {
	switch format {
	case "json":
		return report.WriteAuditJSON(w, a)
	case "csv":
		return report.WriteAuditCSV(w, a)
	}
	tty := f.IO.IsStdoutTTY() && !toFile
	st := report.Style{Aligned: tty, Color: tty && f.IO.ColorEnabled()}
	if tty && !wide {
		st.Width = f.IO.TerminalWidth()
	}
	return report.WriteAuditTable(w, st, a)
}

// writeOutput writes to stdout, or atomically to path (temp file + rename),
// so a reader never sees half a report.
func writeOutput(f *Factory, path string, write func(io.Writer) error) error {
	if path == "" {
		return write(f.IO.Out)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// recordAudit stores the run's tables (with the settings restore will need
// after a table is deleted) and its KPIs. It reads the tables one at a time
// and writes them in batches, so memory stays bounded.
func recordAudit(ctx context.Context, db store.Store, runID int64, res *audit.Result, status string, finished time.Time) error {
	const batch = 500
	recs := make([]store.TableRecord, 0, batch)
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		err := db.AddTables(ctx, runID, recs)
		clear(recs)
		recs = recs[:0]
		return err
	}
	err := res.EachRow(func(row *audit.Row) error {
		facts, version, err := factsOf(row).Encode()
		if err != nil {
			return err
		}
		r := &row.Result
		recs = append(recs, store.TableRecord{Account: r.Account, Region: r.Region, Name: r.Name, ARN: r.ARN,
			Verdict: string(r.Verdict), Tier: r.Tier, Owner: r.Owner, PITRStatus: r.PITR.Status,
			RecoveryDays: r.PITR.RecoveryPeriodDays, Facts: facts, FactsVersion: version})
		if len(recs) == batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	a := res.Report
	return db.EndRun(ctx, runID, store.RunEnd{Status: status, Coverage: a.Summary.CoverageComplete, Summary: a.Summary,
		Errors: a.Errors, Info: a.Run, Finished: finished})
}

// configAggregator is the aggregator of --source config:NAME ("" for live).
func (o *AuditOptions) configAggregator() string {
	name, ok := strings.CutPrefix(o.Source, "config:")
	if !ok {
		return ""
	}
	return strings.TrimSpace(name)
}
