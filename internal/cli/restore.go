package cli

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/pricing"
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
	Yes           bool
	Format        string
	RoleName      string
	ExternalID    string
	PriceFile     string

	name string
	loc  *time.Location
}

// RestoreResult is the JSON document of `pitrguard restore`.
type RestoreResult struct {
	SchemaVersion   int            `json:"schema_version"`
	Source          RestoreSource  `json:"source"`
	Target          RestoreTarget  `json:"target"`
	RestorePoint    *time.Time     `json:"restore_point"`
	RequestedAt     *time.Time     `json:"requested_at"`
	ActiveAt        *time.Time     `json:"active_at"`
	DurationSeconds float64        `json:"duration_seconds"`
	Status          string         `json:"status"` // active, restoring (timed out), reconciled_only
	CostEstimateUSD float64        `json:"cost_estimate_usd"`
	RestoredBytes   int64          `json:"restored_bytes"`
	Backup          *BackupInfo    `json:"backup,omitempty"`
	SettingsFrom    string         `json:"settings_from"`
	Reconciled      []restore.Item `json:"reconciled"`
	ManualActions   []string       `json:"manual_actions"`
}

// RestoreSource identifies the source table.
type RestoreSource struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Table   string `json:"table"`
	ARN     string `json:"arn"`
}

// RestoreTarget identifies the restored table.
type RestoreTarget struct {
	Table  string `json:"table"`
	ARN    string `json:"arn"`
	Region string `json:"region"`
}

// BackupInfo describes the deleted-table backup restored from.
type BackupInfo struct {
	ARN     string     `json:"arn"`
	Name    string     `json:"name"`
	Created *time.Time `json:"created"`
	Expires *time.Time `json:"expires"`
}

// tableNameRE checks the characters and the maximum length of a table name.
// AWS's minimum is 3, but names are only looked up, so a shorter one is left
// to fail as "not found" (emulators accept any length).
var tableNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,255}$`)

func newRestoreCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	o := &RestoreOptions{}
	cmd := &cobra.Command{
		Use:     "restore",
		GroupID: "act",
		Short:   "Restore a table to a point in time (or a deleted table) and put its settings back",
		Long: `Restore restores a DynamoDB table into a new table — to a second of its PITR
window, or a deleted table from its SYSTEM backup (<name>$DeletedTableBackup) —
waits until it is ACTIVE, then reconciles what AWS does not restore: PITR with
the source's window, tags (plus pitrguard:restored-from and
pitrguard:restore-point), TTL, deletion protection, stream, table class,
resource policy (ARN rewritten), contributor insights and auto scaling. The
source of truth is the live source table, or, when it was deleted, the last
audit snapshot in the history database. The source is never modified.

Times: RFC3339 with any offset, "2006-01-02 15:04:05" in --tz (default UTC),
or relative to now (-90m, -2h30m). Times outside the restorable window are
refused before anything is requested, with the window printed.`,
		Example: `  # Restore to one second before a bad deploy at 14:03:27 UTC
  pitrguard restore --table orders --region eu-west-1 --to "2026-11-24 14:03:26"

  # The same time, written in Berlin local time
  pitrguard restore --table orders --region eu-west-1 --to "2026-11-24 15:03:26" --tz Europe/Berlin

  # Latest restorable time, into a named table, without indexes (faster, cheaper)
  pitrguard restore --table arn:aws:dynamodb:eu-west-1:111111111111:table/orders --latest --target orders-r --without-indexes

  # A table deleted last week (PITR was on)
  pitrguard restore --table orders --region eu-west-1 --deleted

  # Finish reconciliation after a restore that outlasted --wait
  pitrguard restore --table orders --region eu-west-1 --reconcile-only --target orders-restored-20261124T140326`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Region = g.Region // the global --region names the source table's region
			if err := o.validate(f); err != nil {
				return err
			}
			return restoreRun(cmd.Context(), f, g, o)
		},
	}
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
	fl.DurationVar(&o.Wait, "wait", 6*time.Hour, "how long to wait for the new table to become ACTIVE")
	fl.DurationVar(&o.Poll, "poll", 5*time.Second, "first interval between status checks (doubles up to 30s)")
	_ = fl.MarkHidden("poll")
	fl.BoolVar(&o.NoReconcile, "no-reconcile", false, "do not put the source's settings back on the new table")
	fl.BoolVar(&o.ReconcileOnly, "reconcile-only", false, "only reconcile an already restored --target")
	fl.BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation (required when there is no terminal)")
	fl.StringVarP(&o.Format, "format", "f", "table", "output format: table or json")
	fl.StringVar(&o.RoleName, "role-name", awsx.DefaultRoleName, "role assumed when --account is another account")
	fl.StringVar(&o.ExternalID, "external-id", "", "external id for that role")
	fl.StringVar(&o.PriceFile, "price-file", "", "YAML file with per-region prices that override the built-in table")
	return cmd
}

func (o *RestoreOptions) validate(f *Factory) error {
	if o.Table == "" {
		return FlagErrorf("--table is required (a name with --region, or an ARN)")
	}
	if o.Format != "table" && o.Format != "json" {
		return FlagErrorf("--format %q is not supported; use table or json", o.Format)
	}
	if strings.HasPrefix(o.Table, "arn:") {
		a, err := arn.Parse(o.Table)
		if err != nil || a.Service != "dynamodb" || !strings.HasPrefix(a.Resource, "table/") {
			return FlagErrorf("--table %q is not a DynamoDB table ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME)", o.Table)
		}
		if o.Account != "" && o.Account != a.AccountID || o.Region != "" && o.Region != a.Region {
			return FlagErrorf("--account/--region disagree with the ARN %s", o.Table)
		}
		o.Account, o.Region, o.name = a.AccountID, a.Region, strings.TrimPrefix(a.Resource, "table/")
	} else {
		o.name = o.Table
	}
	if !tableNameRE.MatchString(o.name) {
		return FlagErrorf("%q is not a valid table name (up to 255 of a-z A-Z 0-9 _ . -)", o.name)
	}
	if o.Region == "" {
		return FlagErrorf("--region is required with a table name (or pass the table's ARN)")
	}
	if !regionRE.MatchString(o.Region) || (o.TargetRegion != "" && !regionRE.MatchString(o.TargetRegion)) {
		return FlagErrorf("not a region name: %q", o.Region+" "+o.TargetRegion)
	}
	if o.Account != "" && !config.IsAccountID(o.Account) {
		return FlagErrorf("--account %q is not a 12-digit account id", o.Account)
	}
	modes := 0
	for _, set := range []bool{o.To != "", o.Latest, o.Deleted, o.ReconcileOnly} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return FlagErrorf("give exactly one of --to TIME, --latest, --deleted or --reconcile-only")
	}
	if o.ReconcileOnly && o.Target == "" {
		return FlagErrorf("--reconcile-only needs --target (the table that was restored)")
	}
	if o.ReconcileOnly && o.NoReconcile {
		return FlagErrorf("--reconcile-only and --no-reconcile contradict each other")
	}
	if o.Target != "" && !tableNameRE.MatchString(o.Target) {
		return FlagErrorf("--target %q is not a valid table name (up to 255 of a-z A-Z 0-9 _ . -)", o.Target)
	}
	if o.Target == o.name && (o.TargetRegion == "" || o.TargetRegion == o.Region) {
		return FlagErrorf("--target must differ from the source table: a restore always creates a new table")
	}
	if o.BillingMode != "" && o.BillingMode != "PAY_PER_REQUEST" && o.BillingMode != "PROVISIONED" {
		return FlagErrorf("--billing-mode must be PAY_PER_REQUEST or PROVISIONED")
	}
	if o.WithoutIdx && len(o.Indexes) > 0 {
		return FlagErrorf("--without-indexes and --index contradict each other")
	}
	if o.Deleted && o.TargetRegion != "" {
		return FlagErrorf("--deleted restores in the backup's region; --target-region is not supported with it")
	}
	loc, err := time.LoadLocation(o.TZ)
	if err != nil {
		return FlagErrorf("--tz %q is not a time zone (use an IANA name like UTC or Europe/Berlin)", o.TZ)
	}
	o.loc = loc
	if o.To != "" {
		if _, err := restore.ParseTime(o.To, loc, f.Now()); err != nil {
			return FlagErrorf("--to: %v", err)
		}
	}
	if o.Wait <= 0 || o.Poll <= 0 {
		return FlagErrorf("--wait must be positive")
	}
	return nil
}

func restoreRun(ctx context.Context, f *Factory, g *GlobalOptions, o *RestoreOptions) error {
	if !o.Yes && !o.ReconcileOnly && !f.IO.CanPrompt() {
		return FlagErrorf("restore needs --yes when there is no terminal to confirm on")
	}
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
	cfg, err := p.Account(ctx, o.Account)
	if err != nil {
		return err
	}
	targetRegion := o.Region
	if o.TargetRegion != "" {
		targetRegion = o.TargetRegion
	}
	srcDB := dynamodb.NewFromConfig(awsx.ForRegion(cfg, o.Region))
	dstDB := dynamodb.NewFromConfig(awsx.ForRegion(cfg, targetRegion))
	srcAS := applicationautoscaling.NewFromConfig(awsx.ForRegion(cfg, o.Region))
	dstAS := applicationautoscaling.NewFromConfig(awsx.ForRegion(cfg, targetRegion))
	partition := p.Caller().Partition
	sourceARN := arn.ARN{Partition: partition, Service: "dynamodb", Region: o.Region, AccountID: o.Account, Resource: "table/" + o.name}.String()
	res := &RestoreResult{SchemaVersion: 1, Source: RestoreSource{Account: o.Account, Region: o.Region, Table: o.name, ARN: sourceARN},
		Reconciled: []restore.Item{}, ManualActions: []string{}}

	// The source: live, or (deleted) its SYSTEM backup.
	var src *ddbtypes.TableDescription
	var nf *ddbtypes.ResourceNotFoundException
	if out, err := srcDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(o.name)}); err == nil {
		src = out.Table
	} else if !errors.As(err, &nf) {
		return fmt.Errorf("read the source table %s: %w", o.name, err)
	}
	params := restore.Params{Source: src, SourceName: o.name, SourceARN: sourceARN, CrossRegion: targetRegion != o.Region,
		BillingMode: o.BillingMode, WithoutIdx: o.WithoutIdx, Indexes: o.Indexes, KMSKey: o.KMSKey}
	var point time.Time
	switch {
	case o.ReconcileOnly:
	case o.Deleted:
		if src != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s still exists in %s; --deleted restores a deleted table (use --to or --latest)", o.name, o.Region)}
		}
		b, err := restore.FindDeletedBackup(ctx, srcDB, o.name)
		if err != nil {
			return err
		}
		res.Backup = &BackupInfo{ARN: aws.ToString(b.BackupArn), Name: aws.ToString(b.BackupName), Created: b.BackupCreationDateTime, Expires: b.BackupExpiryDateTime}
		params.BackupARN = res.Backup.ARN
		point = aws.ToTime(b.BackupCreationDateTime).UTC()
		res.RestoredBytes = aws.ToInt64(b.BackupSizeBytes)
		if d, err := srcDB.DescribeBackup(ctx, &dynamodb.DescribeBackupInput{BackupArn: b.BackupArn}); err == nil && d.BackupDescription != nil {
			params.BackupSource = d.BackupDescription.SourceTableFeatureDetails
		}
		fmt.Fprintf(f.IO.ErrOut, "Found %s, taken %s, expires %s.\n", res.Backup.Name, fmtTime(res.Backup.Created), fmtTime(res.Backup.Expires))
	default:
		if src == nil {
			return fmt.Errorf("%s was not found in %s/%s; if it was deleted, restore it with --deleted", o.name, o.Account, o.Region)
		}
		cb, err := srcDB.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(o.name)})
		if err != nil {
			return fmt.Errorf("read the restorable window of %s: %w", o.name, err)
		}
		pd := cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription
		if pd == nil || pd.PointInTimeRecoveryStatus != ddbtypes.PointInTimeRecoveryStatusEnabled {
			return fmt.Errorf("PITR is not enabled on %s, so it cannot be restored to a point in time (enable it: pitrguard enable --table %s --apply)", o.name, sourceARN)
		}
		w := restore.Window{Earliest: aws.ToTime(pd.EarliestRestorableDateTime), Latest: aws.ToTime(pd.LatestRestorableDateTime)}
		if o.Latest {
			params.Latest, point = true, w.Latest.UTC()
		} else {
			at, _ := restore.ParseTime(o.To, o.loc, f.Now())
			if err := w.Check(at); err != nil {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--to: %w", err)}
			}
			params.At, point = at, at
		}
		res.RestoredBytes = restore.RestoredBytes(src, o.WithoutIdx, o.Indexes)
		if len(o.Indexes) > 0 {
			for _, ix := range o.Indexes {
				if !slices.Contains(restore.IndexNames(src), ix) {
					return FlagErrorf("--index %q is not an index of %s (it has: %s)", ix, o.name, strings.Join(restore.IndexNames(src), ", "))
				}
			}
		}
	}
	if !o.ReconcileOnly {
		res.RestorePoint = &point
		if o.Target == "" {
			o.Target = o.name + "-restored-" + point.UTC().Format("20060102T150405")
		}
		if _, err := dstDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(o.Target)}); err == nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("a table named %s already exists in %s; choose another --target (a restore never overwrites)", o.Target, targetRegion)}
		}
	}
	params.TargetName = o.Target
	res.Target = RestoreTarget{Table: o.Target, Region: targetRegion,
		ARN: arn.ARN{Partition: partition, Service: "dynamodb", Region: targetRegion, AccountID: o.Account, Resource: "table/" + o.Target}.String()}

	if !o.ReconcileOnly {
		cost, est := prices.RestoreCost(targetRegion, res.RestoredBytes)
		res.CostEstimateUSD = model.RoundCents(cost)
		note := ""
		if est {
			note = " (estimated: no price for " + targetRegion + ")"
		}
		if params.CrossRegion {
			note += " plus data transfer out of " + o.Region
		}
		fmt.Fprintf(f.IO.ErrOut, "Restore %s (%s) to %s as %s in %s: %.2f GiB restored, about $%.2f%s.\n",
			o.name, o.Region, point.Format(time.RFC3339), o.Target, targetRegion, float64(res.RestoredBytes)/pricing.GiB, res.CostEstimateUSD, note)
		if !o.Yes {
			fmt.Fprint(f.IO.ErrOut, "Type yes to start the restore: ")
			if !readYes(f) {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("aborted: nothing was restored")}
			}
		}
		requested := f.Now().UTC()
		res.RequestedAt = &requested
		if _, err := restore.Start(ctx, dstDB, params); err != nil {
			return err
		}
		if !g.Quiet {
			fmt.Fprintf(f.IO.ErrOut, "Restore requested; waiting up to %s for %s to become ACTIVE ...\n", o.Wait, o.Target)
		}
		tick := func(time.Duration, string) {}
		if f.IO.IsStderrTTY() && !g.Quiet {
			tick = func(el time.Duration, st string) {
				fmt.Fprintf(f.IO.ErrOut, "\r  %s after %s ", st, el.Round(time.Second))
			}
		}
		started := time.Now()
		active, err := restore.WaitActive(ctx, dstDB, o.Target, o.Wait, o.Poll, tick)
		if errors.Is(err, restore.ErrTimeout) {
			res.Status = "restoring"
			_ = writeRestore(f, o.Format, res)
			return &ExitError{Code: ExitPending, Err: fmt.Errorf("%s is not ACTIVE after %s; the restore continues in AWS. When it is ACTIVE, finish with:\n  pitrguard restore --table %s --reconcile-only --target %s", o.Target, o.Wait, sourceARN, o.Target)}
		}
		if err != nil {
			return err
		}
		res.ActiveAt = &active
		res.DurationSeconds = model.RoundCents(time.Since(started).Seconds())
		res.Status = "active"
	} else {
		res.Status = "reconciled_only"
	}

	if !o.NoReconcile {
		settings, err := sourceSettings(ctx, db, srcDB, srcAS, src, o)
		if err != nil {
			return err
		}
		res.SettingsFrom = settings.From
		tgt, err := dstDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(o.Target)})
		if err != nil {
			return fmt.Errorf("read the restored table %s: %w", o.Target, err)
		}
		res.Target.ARN = aws.ToString(tgt.Table.TableArn)
		onDemand := tgt.Table.BillingModeSummary != nil && tgt.Table.BillingModeSummary.BillingMode == ddbtypes.BillingModePayPerRequest
		if res.RestorePoint == nil {
			if v := tgt.Table.RestoreSummary; v != nil && v.RestoreDateTime != nil {
				rp := v.RestoreDateTime.UTC()
				res.RestorePoint = &rp
			}
		}
		rp := time.Time{}
		if res.RestorePoint != nil {
			rp = *res.RestorePoint
		}
		rec := &restore.Reconciler{DB: dstDB, AS: dstAS, Wait: func(ctx context.Context) error {
			_, err := restore.WaitActive(ctx, dstDB, o.Target, o.Wait, min(o.Poll, time.Second), nil)
			return err
		}}
		res.Reconciled, res.ManualActions = rec.Reconcile(ctx, settings, o.name, sourceARN,
			restore.Target{Name: o.Target, ARN: res.Target.ARN, Region: targetRegion, OnDemand: onDemand}, rp)
	}
	if db != nil {
		now := f.Now()
		if id, err := db.BeginRun(ctx, "restore", p.Caller().ARN, store.Argv(append([]string{"pitrguard"}, f.args...)), now); err == nil {
			_ = db.FinishRun(context.WithoutCancel(ctx), id, "completed", true, res, []string{}, now)
		}
	}
	if err := writeRestore(f, o.Format, res); err != nil {
		return err
	}
	for _, it := range res.Reconciled {
		if it.Status == restore.Failed {
			return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%s is restored, but some settings could not be reconciled (see the checklist); fix them and rerun with --reconcile-only", o.Target)}
		}
	}
	return nil
}

// sourceSettings reads the live source, or the last audit snapshot of a deleted one.
func sourceSettings(ctx context.Context, db store.Store, srcDB *dynamodb.Client, srcAS *applicationautoscaling.Client, src *ddbtypes.TableDescription, o *RestoreOptions) (*restore.Settings, error) {
	if src != nil {
		return restore.ReadLive(ctx, srcDB, srcAS, src), nil
	}
	if db == nil {
		return nil, fmt.Errorf("the source table is deleted and --no-store is set, so its settings cannot be read from the history; rerun with --no-reconcile, or without --no-store")
	}
	rec, err := db.LastTable(ctx, o.Account, o.Region, o.name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("the source table is deleted and no audit in %s ever saw it, so its settings are unknown; reconcile by hand, or rerun with --no-reconcile", db.Path())
	}
	if err != nil {
		return nil, err
	}
	return restore.FromSnapshot(rec.Facts, rec.SeenAt, rec.RunID)
}

func writeRestore(f *Factory, format string, r *RestoreResult) error {
	if format == "json" {
		return report.WriteJSON(f.IO.Out, r)
	}
	w := f.IO.Out
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

func fmtTime(t *time.Time) string {
	if t == nil {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}
