package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/restore"
	"github.com/pitrguard/pitrguard/internal/store"
)

// RestoreOptions are the flags of `pitrguard restore`.
type RestoreOptions struct {
	Table         string
	Account       string
	Region        string
	To            string
	Latest        bool
	TZ            string
	Target        string
	TargetRegion  string
	BillingMode   string
	WithoutIdx    bool
	Indexes       []string
	KMSKey        string
	Deleted       bool
	Wait          time.Duration
	Poll          time.Duration
	NoReconcile   bool
	ReconcileOnly bool
	// ReplaceTarget lets reconciliation lower the target's own PITR window
	// and replace its own resource policy.
	ReplaceTarget bool
	Yes           bool
	Format        string
	Output        string
	RoleName      string
	ExternalID    string
	PriceFile     string

	// Filled by validate.
	name string
	at   time.Time
	mode restore.Mode
}

// RestoreResult is the JSON document of `pitrguard restore`.
type RestoreResult = restore.Result

// tableNameRE checks the characters and the maximum length of a table name.
// AWS's minimum is 3, but names are only looked up, so a shorter one is left
// to fail as "not found" (emulators accept any length).
var tableNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,255}$`)

var restoreFormats = []string{"table", "json"}

func newRestoreCmd(f *Factory, g *GlobalOptions) *cobra.Command { return newRestoreCmdF(f, g, nil) }

// newRestoreCmdF builds `restore`; runF, when set, receives the validated
// options instead of running (tests of argv → options).
func newRestoreCmdF(f *Factory, g *GlobalOptions, runF func(context.Context, *RestoreOptions) error) *cobra.Command {
	o := &RestoreOptions{}
	cmd := &cobra.Command{
		Use:     "restore",
		GroupID: "act",
		Short:   "Restore a table to a point in time (or a deleted table) and put its settings back",
		Long:    restoreLong,
		Example: restoreExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Region = g.Region // the global --region names the source table's region
			if err := o.validate(f); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return restoreRun(cmd.Context(), f, g, o)
		},
	}
	addRestoreFlags(cmd, o)
	return cmd
}

const restoreLong = `Restore restores a DynamoDB table into a new table — to a second of its PITR
window, or a deleted table from its SYSTEM backup (<name>$DeletedTableBackup) —
waits until it is ACTIVE, then reconciles what AWS does not restore: PITR with
the source's window, tags (plus pitrguard:restored-from and
pitrguard:restore-point), TTL, deletion protection, stream, table class,
resource policy (ARN rewritten), contributor insights and auto scaling. The
source of truth is the live source table, or, when it was deleted, the newest
audit snapshot in the history database that could read it. The source is
never modified. Every restore is recorded in the history, with its outcome.

--reconcile-only finishes a restore that outlasted --wait. It only touches a
table that AWS (RestoreSummary) or pitrguard's restored-from tag says is a
restore of --table, shows the changes and asks first (--yes without a
terminal). It never lowers the target's PITR window, changes its own TTL or
replaces its own resource policy unless --replace-target-settings is given.

Times: RFC3339 with any offset, "2006-01-02 15:04:05" in --tz (default UTC),
or relative to now (-90m, -2h30m). A local time that happens twice or never
(daylight saving changes) is refused: give an offset. Times outside the
restorable window are refused before anything is requested, with the window
printed.

Exit codes: 0 restored and reconciled; 1 a failure, or a setting that failed
or could not be read from the source; 2 usage; 4 not ACTIVE within --wait.`

const restoreExample = `  # Restore to one second before a bad deploy at 14:03:27 UTC
  pitrguard restore --table orders --region eu-west-1 --to "2026-11-24 14:03:26"

  # The same time, written in Berlin local time
  pitrguard restore --table orders --region eu-west-1 --to "2026-11-24 15:03:26" --tz Europe/Berlin

  # Latest restorable time, into a named table, without indexes (faster, cheaper)
  pitrguard restore --table arn:aws:dynamodb:eu-west-1:111111111111:table/orders --latest --target orders-r --without-indexes

  # A table deleted last week (PITR was on); the result as JSON in a file
  pitrguard restore --table orders --region eu-west-1 --deleted --format json -o restore.json

  # Finish reconciliation after a restore that outlasted --wait
  pitrguard restore --table orders --region eu-west-1 --reconcile-only --target orders-restored-20261124T140326`

func addRestoreFlags(cmd *cobra.Command, o *RestoreOptions) {
	fl := cmd.Flags()
	fl.StringVar(&o.Table, "table", "", "source table name or ARN (required)")
	fl.StringVar(&o.Account, "account", "", "account of the source table (default: the caller's own; taken from an ARN)")
	fl.StringVar(&o.To, "to", "", "restore point: RFC3339, \"2006-01-02 15:04:05\" in --tz, or relative like -90m")
	fl.BoolVar(&o.Latest, "latest", false, "restore to the latest restorable time (about five minutes ago)")
	fl.StringVar(&o.TZ, "tz", "UTC", "time zone of --to when it has no offset, e.g. Europe/Berlin")
	fl.StringVar(&o.Target, "target", "", "name of the new table (default <table>-restored-<UTC yyyymmddThhmmss of the restore point>)")
	fl.StringVar(&o.TargetRegion, "target-region", "", "restore into another region (an SSE override is set; data transfer is charged)")
	fl.StringVar(&o.BillingMode, "billing-mode", "", "billing mode of the new table: PAY_PER_REQUEST or PROVISIONED")
	fl.BoolVar(&o.WithoutIdx, "without-indexes", false, "restore no GSIs or LSIs (faster and cheaper)")
	fl.StringSliceVar(&o.Indexes, "index", nil, "restore only these indexes (repeatable)")
	fl.StringVar(&o.KMSKey, "kms-key", "", "KMS key (id, ARN or alias) to encrypt the new table with")
	fl.BoolVar(&o.Deleted, "deleted", false, "restore a deleted table from its SYSTEM backup")
	durationFlag(fl, &o.Wait, "wait", 6*time.Hour, "how long to wait for the new table to become ACTIVE")
	durationFlag(fl, &o.Poll, "poll", 5*time.Second, "first interval between status checks (doubles up to 30s)")
	_ = fl.MarkHidden("poll")
	fl.BoolVar(&o.NoReconcile, "no-reconcile", false, "do not put the source's settings back on the new table")
	fl.BoolVar(&o.ReconcileOnly, "reconcile-only", false, "only reconcile --target, a table restored from --table before")
	fl.BoolVar(&o.ReplaceTarget, "replace-target-settings", false, "let reconciliation lower the target's own PITR window and replace its own resource policy")
	fl.BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation (required when there is no terminal)")
	formatFlag(cmd, &o.Format, restoreFormats...)
	outputFlag(cmd, &o.Output, "the result")
	fl.StringVar(&o.RoleName, "role-name", awsx.DefaultRoleName, "role assumed when --account is another account")
	fl.StringVar(&o.ExternalID, "external-id", "", "external id for that role")
	fl.StringVar(&o.PriceFile, "price-file", "", "YAML file with per-region prices that override the built-in table")
}

func (o *RestoreOptions) validate(f *Factory) error {
	for _, check := range []func() error{o.validateSource, o.validateMode, o.validateTarget, func() error { return o.validateTime(f.Now()) }} {
		if err := check(); err != nil {
			return err
		}
	}
	if err := checkFormat(o.Format, restoreFormats...); err != nil {
		return err
	}
	if !o.Yes && !f.IO.CanPrompt() {
		return FlagErrorf("restore needs --yes when there is no terminal to confirm on")
	}
	return checkOutputPath("output", o.Output)
}

func (o *RestoreOptions) validateSource() error {
	if o.Table == "" {
		return FlagErrorf("--table is required (a name with --region, or an ARN)")
	}
	o.name = o.Table
	if strings.HasPrefix(o.Table, "arn:") {
		ref, err := model.ParseTableARN(o.Table)
		if err != nil {
			return FlagErrorf("--table: %v", err)
		}
		if o.Account != "" && o.Account != ref.Account || o.Region != "" && o.Region != ref.Region {
			return FlagErrorf("--account/--region disagree with the ARN %s", o.Table)
		}
		o.Account, o.Region, o.name = ref.Account, ref.Region, ref.Name
	}
	switch {
	case !tableNameRE.MatchString(o.name):
		return FlagErrorf("%q is not a valid table name (up to 255 of a-z A-Z 0-9 _ . -)", o.name)
	case o.Region == "":
		return FlagErrorf("--region is required with a table name (or pass the table's ARN)")
	case !regionRE.MatchString(o.Region) || (o.TargetRegion != "" && !regionRE.MatchString(o.TargetRegion)):
		return FlagErrorf("not a region name: %q", strings.TrimSpace(o.Region+" "+o.TargetRegion))
	case o.Account != "" && !model.IsAccountID(o.Account):
		return FlagErrorf("--account %q is not a 12-digit account id", o.Account)
	}
	return nil
}

func (o *RestoreOptions) validateMode() error {
	modes := 0
	for _, m := range []struct {
		set  bool
		mode restore.Mode
	}{{o.To != "", restore.ToTime}, {o.Latest, restore.Latest}, {o.Deleted, restore.Deleted}, {o.ReconcileOnly, restore.ReconcileOnly}} {
		if m.set {
			modes++
			o.mode = m.mode
		}
	}
	switch {
	case modes != 1:
		return FlagErrorf("give exactly one of --to TIME, --latest, --deleted or --reconcile-only")
	case o.ReconcileOnly && o.Target == "":
		return FlagErrorf("--reconcile-only needs --target (the table that was restored)")
	case o.ReconcileOnly && o.NoReconcile:
		return FlagErrorf("--reconcile-only and --no-reconcile contradict each other")
	case o.ReplaceTarget && o.NoReconcile:
		return FlagErrorf("--replace-target-settings and --no-reconcile contradict each other")
	case o.WithoutIdx && len(o.Indexes) > 0:
		return FlagErrorf("--without-indexes and --index contradict each other")
	case o.Deleted && o.TargetRegion != "":
		return FlagErrorf("--deleted restores in the backup's region; --target-region is not supported with it")
	}
	return nil
}

func (o *RestoreOptions) validateTarget() error {
	switch {
	case o.Target != "" && !tableNameRE.MatchString(o.Target):
		return FlagErrorf("--target %q is not a valid table name (up to 255 of a-z A-Z 0-9 _ . -)", o.Target)
	case o.Target == o.name && (o.TargetRegion == "" || o.TargetRegion == o.Region):
		return FlagErrorf("--target must differ from the source table: a restore always creates a new table")
	case o.BillingMode != "" && o.BillingMode != "PAY_PER_REQUEST" && o.BillingMode != "PROVISIONED":
		return FlagErrorf("--billing-mode must be PAY_PER_REQUEST or PROVISIONED")
	}
	return nil
}

func (o *RestoreOptions) validateTime(now time.Time) error {
	loc, err := time.LoadLocation(o.TZ)
	if err != nil {
		return FlagErrorf("--tz %q is not a time zone (use an IANA name like UTC or Europe/Berlin)", o.TZ)
	}
	if o.To != "" {
		if o.at, err = restore.ParseTime(o.To, loc, now); err != nil {
			return FlagErrorf("--to: %v", err)
		}
	}
	return nil
}

// options turns the validated flags into what restore.Run takes.
func (o *RestoreOptions) options(caller awsx.Caller, args string) restore.Options {
	return restore.Options{Partition: caller.Partition, Account: o.Account, Region: o.Region, Table: o.name,
		Mode: o.mode, At: o.at, Target: o.Target, TargetRegion: o.TargetRegion, BillingMode: o.BillingMode,
		WithoutIndexes: o.WithoutIdx, Indexes: o.Indexes, KMSKey: o.KMSKey, Wait: o.Wait, Poll: o.Poll,
		NoReconcile: o.NoReconcile, ReplaceTargetSettings: o.ReplaceTarget, Caller: caller.ARN, Args: args}
}

func restoreRun(ctx context.Context, f *Factory, g *GlobalOptions, o *RestoreOptions) error {
	prices, err := loadPrices(o.PriceFile)
	if err != nil {
		return err
	}
	db, err := f.openStore(ctx, g)
	if err != nil {
		return err
	}
	defer closeStore(db)
	p, err := f.awsProvider(ctx, g, &TargetOptions{RoleName: o.RoleName, ExternalID: o.ExternalID})
	if err != nil {
		return err
	}
	if o.Account == "" {
		o.Account = p.Caller().Account
	}
	deps, err := restoreDeps(ctx, f, g, o, p)
	if err != nil {
		return err
	}
	deps.Prices = prices
	if db != nil { // a nil *store.SQLite must not become a non-nil History
		deps.History = db
	}
	res, err := restore.Run(ctx, o.options(p.Caller(), store.Argv(append([]string{"pitrguard"}, f.args...))), deps)
	return restoreOutcome(f, o, res, err)
}

// restoreDeps builds the AWS clients of the source's and the target's region
// and the terminal interaction.
func restoreDeps(ctx context.Context, f *Factory, g *GlobalOptions, o *RestoreOptions, p *awsx.Provider) (restore.Deps, error) {
	cfg, err := p.Account(ctx, o.Account)
	if err != nil {
		return restore.Deps{}, err
	}
	targetRegion := o.Region
	if o.TargetRegion != "" {
		targetRegion = o.TargetRegion
	}
	d := restore.Deps{
		Source:        dynamodb.NewFromConfig(awsx.ForRegion(cfg, o.Region)),
		Target:        dynamodb.NewFromConfig(awsx.ForRegion(cfg, targetRegion)),
		SourceScaling: applicationautoscaling.NewFromConfig(awsx.ForRegion(cfg, o.Region)),
		TargetScaling: applicationautoscaling.NewFromConfig(awsx.ForRegion(cfg, targetRegion)),
		Log:           f.IO.ErrOut,
		Now:           f.Now,
		Confirm: func(_ context.Context, plan restore.Plan) (bool, error) {
			if o.Yes {
				return true, nil
			}
			if len(plan.Changes) > 0 {
				fmt.Fprint(f.IO.ErrOut, "Type yes to make these changes: ")
			} else {
				fmt.Fprint(f.IO.ErrOut, "Type yes to start the restore: ")
			}
			return readYes(f), nil
		},
	}
	if g.Quiet && o.Yes { // the summary stays when it is asked about
		d.Log = io.Discard
	}
	if f.IO.IsStderrTTY() && !g.Quiet {
		d.Tick = func(el time.Duration, st string) {
			fmt.Fprintf(f.IO.ErrOut, "\r  %s after %s ", st, el.Round(time.Second))
		}
	}
	return d, nil
}

// restoreOutcome writes the result (when there is one) and maps the outcome
// to an exit code.
func restoreOutcome(f *Factory, o *RestoreOptions, res restore.Result, err error) error {
	if res.Status != "" {
		if werr := writeOutput(f, o.Output, func(w io.Writer) error { return writeRestore(w, o.Format, &res) }); werr != nil {
			return werr
		}
	}
	var ue *restore.UsageError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ue):
		return &ExitError{Code: ExitUsage, Err: err}
	case errors.Is(err, restore.ErrAborted):
		if o.ReconcileOnly {
			return &ExitError{Code: ExitFailure, Err: fmt.Errorf("aborted: nothing was changed")}
		}
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("aborted: nothing was restored")}
	case errors.Is(err, restore.ErrTimeout):
		return &ExitError{Code: ExitPending, Err: err}
	}
	return &ExitError{Code: ExitFailure, Err: err}
}

func writeRestore(w io.Writer, format string, r *RestoreResult) error {
	if format == "json" {
		return report.WriteJSON(w, r)
	}
	fmt.Fprintf(w, "Source:  %s\nTarget:  %s (%s)\n", r.Source.ARN, r.Target.Table, r.Target.Region)
	if r.RestorePoint != nil {
		fmt.Fprintf(w, "Point:   %s\n", r.RestorePoint.Format(time.RFC3339))
	}
	if r.ActiveAt != nil {
		fmt.Fprintf(w, "ACTIVE:  %s after %.0fs\n", r.ActiveAt.Format(time.RFC3339), r.DurationSeconds)
	}
	if len(r.Reconciled) > 0 {
		fmt.Fprintf(w, "\nSettings (from the %s):\n", r.SettingsFrom)
		rows := make([][]string, 0, len(r.Reconciled))
		for _, it := range r.Reconciled {
			mark := map[string]string{restore.Applied: "[x]", restore.NotNeeded: "[-]", restore.Failed: "[!]", restore.Manual: "[ ]"}[it.Status]
			rows = append(rows, []string{mark, it.Setting, it.Status, it.Detail})
		}
		_ = report.Table(w, report.Style{Aligned: true}, []string{"", "SETTING", "STATUS", "DETAIL"}, rows)
	}
	if len(r.ManualActions) > 0 {
		fmt.Fprintln(w, "\nStill to do by hand:")
		for _, m := range r.ManualActions {
			fmt.Fprintf(w, "[ ] %s\n", m)
		}
	}
	return nil
}

func readYes(f *Factory) bool {
	var line string
	_, _ = fmt.Fscanln(f.IO.In, &line)
	return strings.EqualFold(strings.TrimSpace(line), "yes")
}
