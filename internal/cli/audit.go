package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/model"
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
	Args         []string
	Shard        ShardOptions
	Notify       AuditNotifyOptions // audit_notify.go
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
  UNKNOWN        PITR could not be read (access_denied, throttled, not_found, ...)
  SKIPPED        the table is not ACTIVE (CREATING, UPDATING, DELETING, ...)

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

  # Against a local emulator
  pitrguard audit --org --endpoint-url http://127.0.0.1:5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = append([]string{"pitrguard"}, f.args...)
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
	addTargetFlags(cmd, &opts.Target)
	addShardFlags(cmd, &opts.Shard)
	fl := cmd.Flags()
	fl.StringVarP(&opts.Format, "format", "f", "table", "output format: table, json or csv")
	fl.StringVarP(&opts.Output, "output", "o", "", "write the report to this file instead of stdout")
	fl.StringSliceVar(&opts.FailOn, "fail-on", nil, "exit 3 when tables have these verdicts: non-compliant, unknown (comma-separated)")
	fl.BoolVar(&opts.AllowPartial, "allow-partial", false, "exit 0 even when some accounts or regions could not be scanned")
	fl.IntVar(&opts.TableWorkers, "table-workers", 8, "tables described at once within one account-region")
	addAuditNotifyFlags(cmd, &opts.Notify)
	return cmd
}

var failOnValues = map[string]model.Verdict{"non-compliant": model.NonCompliant, "unknown": model.Unknown}

func (o *AuditOptions) validate() error {
	if !slices.Contains(report.Formats, o.Format) {
		return FlagErrorf("--format %q is not supported; use one of: %s", o.Format, strings.Join(report.Formats, ", "))
	}
	for _, v := range o.FailOn {
		if _, ok := failOnValues[strings.ToLower(strings.TrimSpace(v))]; !ok {
			return FlagErrorf("--fail-on %q is not supported; use non-compliant, unknown, or both separated by a comma", v)
		}
	}
	if o.TableWorkers < 1 || o.TableWorkers > 64 {
		return FlagErrorf("--table-workers must be between 1 and 64, got %d", o.TableWorkers)
	}
	_, err := o.Target.validate()
	return err
}

func auditRun(ctx context.Context, f *Factory, g *GlobalOptions, opts *AuditOptions) error {
	scope, _ := opts.Target.validate()
	opts.Shard.apply(&scope)
	cfg, err := loadConfig(opts.Target.ConfigFile)
	if err != nil {
		return err
	}
	prices, err := loadPrices(opts.Target.PriceFile)
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
	now := f.Now()
	var runID int64
	if db != nil {
		if runID, err = db.StartRun(ctx, store.RunStart{Kind: "audit", Caller: p.Caller().ARN, Args: store.Argv(opts.Args), StartedAt: now,
			RunGroup: opts.Shard.RunGroup, Shard: opts.Shard.K, Shards: opts.Shard.N}); err != nil {
			return err
		}
	}
	var prog progress = noProgress{}
	if f.IO.IsStderrTTY() && !g.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "Auditing %s as %s\n", strings.TrimSuffix(describeScope(scope)+", "+opts.Shard.describe(), ", "), p.Caller().ARN)
		prog = newBar(f.IO.ErrOut, "audit")
	}
	res := audit.Run(ctx, p, audit.Params{
		Scope: scope, Policy: cfg, Prices: prices, Now: now, Progress: prog, TableWorkers: opts.TableWorkers,
	})
	prog.Done()
	a := res.Report
	a.Run.ID = runID
	a.Run.RunGroup, a.Run.Shard, a.Run.Shards = opts.Shard.RunGroup, opts.Shard.K, opts.Shard.N

	// Record before writing output, so the history survives a broken pipe.
	if db != nil {
		status := "completed"
		if res.Interrupted {
			status = "interrupted"
		}
		if err := recordAudit(context.WithoutCancel(ctx), db, runID, res, status, f.Now()); err != nil {
			fmt.Fprintf(f.IO.ErrOut, "warning: could not record the run in %s: %v\n", db.Path(), err)
		}
	}
	if err := writeOutput(f, opts.Output, func(w io.Writer) error { return writeAudit(w, f, opts.Format, opts.Output != "", a) }); err != nil {
		return err
	}
	if !g.Quiet && (opts.Format == "table" || opts.Output != "") {
		report.WriteAuditSummary(f.IO.ErrOut, a)
	}
	if err := auditNotify(ctx, f, p, db, cfg, res, runID, opts.Args, opts.Notify); err != nil && !res.Interrupted {
		return err
	}
	if res.Interrupted {
		return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted: the report holds the %d tables read before Ctrl-C", len(a.Tables))}
	}
	if !a.Summary.CoverageComplete && !opts.AllowPartial {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("coverage incomplete: %d account(s)/region(s) could not be scanned (see errors); pass --allow-partial to exit 0 anyway", countScopeErrors(a.Errors))}
	}
	for _, v := range opts.FailOn {
		want := failOnValues[strings.ToLower(strings.TrimSpace(v))]
		for _, t := range a.Tables {
			if t.Verdict == want {
				return &ExitError{Code: ExitFindings}
			}
		}
	}
	return nil
}

func countScopeErrors(errs []model.ScanError) int {
	n := 0
	for _, e := range errs {
		if e.Table == "" {
			n++
		}
	}
	return n
}

func writeAudit(w io.Writer, f *Factory, format string, toFile bool, a *report.Audit) error {
	switch format {
	case "json":
		return report.WriteAuditJSON(w, a)
	case "csv":
		return report.WriteAuditCSV(w, a)
	}
	tty := f.IO.IsStdoutTTY() && !toFile
	return report.WriteAuditTable(w, report.Style{Aligned: tty, Color: tty && f.IO.ColorEnabled()}, a)
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
// after a table is deleted) and its KPIs.
func recordAudit(ctx context.Context, db store.Store, runID int64, res *audit.Result, status string, finished time.Time) error {
	const batch = 500 // bounded memory for large estates
	recs := make([]store.TableRecord, 0, batch)
	for i, e := range res.Entries {
		facts, version, err := factsOf(e).Encode()
		if err != nil {
			return err
		}
		r := e.Result
		recs = append(recs, store.TableRecord{Account: r.Account, Region: r.Region, Name: r.Name, ARN: r.ARN,
			Verdict: string(r.Verdict), Tier: r.Tier, Owner: r.Owner, PITRStatus: r.PITR.Status,
			RecoveryDays: r.PITR.RecoveryPeriodDays, Facts: facts, FactsVersion: version})
		if len(recs) == batch || i == len(res.Entries)-1 {
			if err := db.AddTables(ctx, runID, recs); err != nil {
				return err
			}
			recs = recs[:0]
		}
	}
	a := res.Report
	return db.EndRun(ctx, runID, store.RunEnd{Status: status, Coverage: a.Summary.CoverageComplete, Summary: a.Summary,
		Errors: a.Errors, Info: a.Run, Finished: finished})
}
