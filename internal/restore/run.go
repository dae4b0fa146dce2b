package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/pricing"
	"github.com/pitrguard/pitrguard/internal/store"
)

// Run statuses recorded in the history database.
const (
	RunCompleted             = "completed"
	RunCompletedWithFailures = "completed_with_failures"
	RunTimedOut              = "timed_out"
	RunFailed                = "failed"
)

// Run restores a table (or, with ReconcileOnly, reconciles one restored
// before): it reads the source, checks the request against AWS's state, asks
// Deps.Confirm, restores, waits, reconciles, and records the outcome — every
// outcome, not only success — in Deps.History. The Result is worth writing
// out whenever its Status is set, also alongside an error (ErrTimeout,
// ErrIncomplete). Errors: *UsageError (bad request), ErrAborted, ErrTimeout,
// ErrIncomplete, or what AWS said.
func Run(ctx context.Context, o Options, d Deps) (Result, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = io.Discard
	}
	r := &run{o: o, d: d, res: &Result{SchemaVersion: 1, Reconciled: []Item{}, ManualActions: []string{},
		Source: Source{Account: o.Account, Region: o.Region, Table: o.Table, ARN: o.sourceARN()}}}
	err := r.run(ctx)
	return *r.res, err
}

type run struct {
	o        Options
	d        Deps
	res      *Result
	src      *ddbtypes.TableDescription // nil: the source is deleted
	params   Params
	runID    int64 // 0: not recorded
	costNote string
}

func (r *run) run(ctx context.Context) error {
	if err := r.readSource(ctx); err != nil {
		return err
	}
	if r.o.Mode == ReconcileOnly {
		return r.reconcileOnly(ctx)
	}
	var err error
	if r.o.Mode == Deleted {
		err = r.prepareDeleted(ctx)
	} else {
		err = r.preparePITR(ctx)
	}
	if err != nil {
		return err
	}
	if err := r.prepareTarget(ctx); err != nil {
		return err
	}
	if err := r.confirm(ctx, Plan{Summary: r.summary()}); err != nil {
		return err
	}
	r.begin(ctx)
	tgt, err := r.restore(ctx)
	if err != nil {
		return r.finish(ctx, err)
	}
	if !r.o.NoReconcile {
		err = r.reconcile(ctx, tgt, false)
	}
	return r.finish(ctx, err)
}

// readSource reads the live source; a missing one is nil (deleted).
func (r *run) readSource(ctx context.Context) error {
	out, err := r.d.Source.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.o.Table)})
	var nf *ddbtypes.ResourceNotFoundException
	switch {
	case err == nil:
		r.src = out.Table
	case !errors.As(err, &nf):
		_, code, msg := awsx.Classify(err)
		return fmt.Errorf("read the source table %s: DescribeTable: %s: %s", r.o.Table, code, msg)
	}
	r.params = Params{Source: r.src, SourceName: r.o.Table, SourceARN: r.res.Source.ARN, CrossRegion: r.o.targetRegion() != r.o.Region,
		BillingMode: r.o.BillingMode, WithoutIdx: r.o.WithoutIndexes, Indexes: r.o.Indexes, KMSKey: r.o.KMSKey}
	return nil
}

func (r *run) preparePITR(ctx context.Context) error {
	o := r.o
	if r.src == nil {
		return fmt.Errorf("%s was not found in %s/%s; if it was deleted, restore it with --deleted", o.Table, o.Account, o.Region)
	}
	cb, err := r.d.Source.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(o.Table)})
	if err != nil {
		_, code, msg := awsx.Classify(err)
		return fmt.Errorf("read the restorable window of %s: DescribeContinuousBackups: %s: %s", o.Table, code, msg)
	}
	var pd *ddbtypes.PointInTimeRecoveryDescription
	if cb.ContinuousBackupsDescription != nil {
		pd = cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription
	}
	if pd == nil || pd.PointInTimeRecoveryStatus != ddbtypes.PointInTimeRecoveryStatusEnabled {
		return fmt.Errorf("PITR is not enabled on %s, so it cannot be restored to a point in time (enable it: pitrguard enable --table %s --apply)", o.Table, r.res.Source.ARN)
	}
	w := Window{Earliest: aws.ToTime(pd.EarliestRestorableDateTime), Latest: aws.ToTime(pd.LatestRestorableDateTime)}
	if o.Mode == Latest {
		r.params.Latest = true
		r.setPoint(w.Latest) // provisional: replaced by the point AWS reports it used
	} else {
		if err := w.Check(o.At); err != nil {
			return &UsageError{Err: fmt.Errorf("--to: %w", err)}
		}
		r.params.At = o.At
		r.setPoint(o.At)
	}
	r.res.RestoredBytes = RestoredBytes(r.src, o.WithoutIndexes, o.Indexes)
	return checkIndexes(o.Indexes, IndexNames(r.src), o.Table)
}

func checkIndexes(want, have []string, table string) error {
	for _, ix := range want {
		if !slices.Contains(have, ix) {
			return usagef("--index %q is not an index of %s (it has: %s)", ix, table, strings.Join(have, ", "))
		}
	}
	return nil
}

func (r *run) prepareDeleted(ctx context.Context) error {
	o := r.o
	if r.src != nil {
		return usagef("%s still exists in %s; --deleted restores a deleted table (use --to or --latest)", o.Table, o.Region)
	}
	b, err := FindDeletedBackup(ctx, r.d.Source, o.Table)
	if err != nil {
		return err
	}
	r.res.Backup = &BackupInfo{ARN: aws.ToString(b.BackupArn), Name: aws.ToString(b.BackupName), Created: b.BackupCreationDateTime, Expires: b.BackupExpiryDateTime}
	r.params.BackupARN = r.res.Backup.ARN
	r.setPoint(aws.ToTime(b.BackupCreationDateTime))
	r.res.RestoredBytes = aws.ToInt64(b.BackupSizeBytes)
	fmt.Fprintf(r.d.Log, "Found %s, taken %s, expires %s.\n", r.res.Backup.Name, fmtTime(r.res.Backup.Created), fmtTime(r.res.Backup.Expires))
	if !o.WithoutIndexes && len(o.Indexes) == 0 {
		return nil // every index is restored: the backup's index details are not needed
	}
	// The overrides are built from the backup's indexes: without them the
	// restore would silently drop every index (issue 9 #5).
	d, err := r.d.Source.DescribeBackup(ctx, &dynamodb.DescribeBackupInput{BackupArn: b.BackupArn})
	if err != nil {
		_, code, msg := awsx.Classify(err)
		return fmt.Errorf("DescribeBackup: %s: %s: the backup's indexes are needed for --index/--without-indexes; grant dynamodb:DescribeBackup, or restore every index without those flags", code, msg)
	}
	if d.BackupDescription == nil || d.BackupDescription.SourceTableFeatureDetails == nil {
		return fmt.Errorf("DescribeBackup did not describe the indexes of %s; restore every index without --index/--without-indexes", r.res.Backup.Name)
	}
	r.params.BackupSource = d.BackupDescription.SourceTableFeatureDetails
	return checkIndexes(o.Indexes, backupIndexNames(r.params.BackupSource), o.Table)
}

func backupIndexNames(f *ddbtypes.SourceTableFeatureDetails) []string {
	var out []string
	for _, g := range f.GlobalSecondaryIndexes {
		out = append(out, aws.ToString(g.IndexName))
	}
	for _, l := range f.LocalSecondaryIndexes {
		out = append(out, aws.ToString(l.IndexName))
	}
	slices.Sort(out)
	return out
}

func (r *run) setPoint(t time.Time) {
	p := t.UTC()
	r.res.RestorePoint = &p
}

// prepareTarget names the new table and refuses an existing one.
func (r *run) prepareTarget(ctx context.Context) error {
	name := r.o.Target
	if name == "" {
		name = r.o.Table + "-restored-" + r.res.RestorePoint.Format("20060102T150405")
	}
	region := r.o.targetRegion()
	r.res.Target = TargetInfo{Table: name, Region: region, ARN: tableARN(r.o.Partition, region, r.o.Account, name)}
	r.params.TargetName = name
	_, err := r.d.Target.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var nf *ddbtypes.ResourceNotFoundException
	switch {
	case err == nil:
		return usagef("a table named %s already exists in %s; choose another --target (a restore never overwrites)", name, region)
	case !errors.As(err, &nf):
		_, code, msg := awsx.Classify(err)
		return fmt.Errorf("could not check that no table named %s exists in %s (DescribeTable: %s: %s); nothing was restored", name, region, code, msg)
	}
	cost, est := 0.0, true
	if r.d.Prices != nil {
		cost, est = r.d.Prices.RestoreCost(region, r.res.RestoredBytes)
	}
	r.res.CostEstimateUSD = model.RoundCents(cost)
	r.costNote = ""
	if est {
		r.costNote = " (estimated: no price for " + region + ")"
	}
	if r.params.CrossRegion {
		r.costNote += " plus data transfer out of " + r.o.Region
	}
	return nil
}

func (r *run) summary() string {
	return fmt.Sprintf("Restore %s (%s) to %s as %s in %s: %.2f GiB restored, about $%.2f%s.", r.o.Table, r.o.Region,
		r.res.RestorePoint.Format(time.RFC3339), r.res.Target.Table, r.res.Target.Region,
		float64(r.res.RestoredBytes)/pricing.GiB, r.res.CostEstimateUSD, r.costNote)
}

func (r *run) confirm(ctx context.Context, p Plan) error {
	fmt.Fprintln(r.d.Log, p.Summary)
	for _, c := range p.Changes {
		fmt.Fprintf(r.d.Log, "  %s\n", c)
	}
	if r.d.Confirm == nil {
		return nil
	}
	ok, err := r.d.Confirm(ctx, p)
	if err != nil {
		return err
	}
	if !ok {
		return ErrAborted
	}
	return nil
}

// restore requests the restore and waits for ACTIVE; it returns the new
// table's description.
func (r *run) restore(ctx context.Context) (*ddbtypes.TableDescription, error) {
	requested := r.d.Now().UTC()
	r.res.RequestedAt = &requested
	started, err := Start(ctx, r.d.Target, r.params)
	if err != nil {
		return nil, err
	}
	r.latestPoint(started)
	fmt.Fprintf(r.d.Log, "Restore requested; waiting up to %s for %s to become ACTIVE ...\n", r.o.Wait, r.res.Target.Table)
	t0 := time.Now()
	active, err := WaitActive(ctx, r.d.Target, r.res.Target.Table, r.o.Wait, r.o.Poll, r.d.Tick)
	if errors.Is(err, ErrTimeout) {
		r.res.Status = StatusRestoring
		return nil, outcomef(ErrTimeout, "%s is not ACTIVE after %s; the restore continues in AWS. When it is ACTIVE, finish with:\n  pitrguard restore --table %s --reconcile-only --target %s --yes",
			r.res.Target.Table, r.o.Wait, r.res.Source.ARN, r.res.Target.Table)
	}
	if err != nil {
		return nil, err
	}
	r.res.ActiveAt = &active
	r.res.DurationSeconds = model.RoundCents(time.Since(t0).Seconds())
	r.res.Status = StatusActive
	out, err := r.d.Target.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.res.Target.Table)})
	if err != nil {
		_, code, msg := awsx.Classify(err)
		return nil, fmt.Errorf("%s is ACTIVE, but reading it failed (DescribeTable: %s: %s); finish with --reconcile-only", r.res.Target.Table, code, msg)
	}
	r.latestPoint(out.Table)
	return out.Table, nil
}

// latestPoint records, for --latest, the point AWS says it restored to: the
// latest restorable time moves on between reading it and the request (issue 9 #7).
func (r *run) latestPoint(d *ddbtypes.TableDescription) {
	if !r.params.Latest || d == nil || d.RestoreSummary == nil || d.RestoreSummary.RestoreDateTime == nil {
		return
	}
	r.setPoint(*d.RestoreSummary.RestoreDateTime)
}

// reconcile reads the source's settings and puts them on the new table; with
// confirm, it asks first (--reconcile-only).
func (r *run) reconcile(ctx context.Context, tgt *ddbtypes.TableDescription, confirm bool) error {
	s, err := r.settings(ctx)
	if err != nil {
		return err
	}
	r.res.SettingsFrom = s.From
	if a := aws.ToString(tgt.TableArn); a != "" {
		r.res.Target.ARN = a
	}
	rec := &Reconciler{DB: r.d.Target, AS: r.d.TargetScaling, Replace: r.o.ReplaceTargetSettings, Wait: func(ctx context.Context) error {
		_, err := WaitActive(ctx, r.d.Target, r.res.Target.Table, r.o.Wait, min(r.o.Poll, time.Second), nil)
		return err
	}}
	point := time.Time{}
	if r.res.RestorePoint != nil {
		point = *r.res.RestorePoint
	}
	plan := rec.Plan(ctx, s, r.o.Table, r.res.Source.ARN, Target{Name: r.res.Target.Table, ARN: r.res.Target.ARN, Region: r.res.Target.Region, Desc: tgt}, point)
	if confirm {
		if err := r.confirm(ctx, Plan{Summary: fmt.Sprintf("Reconcile %s (%s) with the settings of %s:", r.res.Target.Table, r.res.Target.Region, r.res.Source.ARN), Changes: plan.Changes()}); err != nil {
			return err
		}
		r.begin(ctx)
	}
	r.res.Reconciled, r.res.ManualActions = plan.Apply(ctx)
	if bad := r.res.incomplete(); len(bad) > 0 {
		return outcomef(ErrIncomplete, "%s is restored, but %d setting(s) failed or could not be read from the source (%s; see the checklist); fix them and rerun with --reconcile-only",
			r.res.Target.Table, len(bad), strings.Join(bad, ", "))
	}
	return nil
}

// settings reads the live source, or the stored audit snapshots of a deleted one.
func (r *run) settings(ctx context.Context) (*Settings, error) {
	if r.src != nil {
		return ReadLive(ctx, r.d.Source, r.d.SourceScaling, r.src), nil
	}
	if r.d.History == nil {
		return nil, fmt.Errorf("the source table is deleted and --no-store is set, so its settings cannot be read from the history; rerun with --no-reconcile, or without --no-store")
	}
	recs, err := r.d.History.TableSnapshots(ctx, r.o.Account, r.o.Region, r.o.Table, snapshotLimit)
	if err == nil && len(recs) == 0 {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("the source table is deleted and no audit in %s ever saw it, so its settings are unknown; reconcile by hand, or rerun with --no-reconcile", r.d.History.Path())
	}
	if err != nil {
		return nil, err
	}
	return FromSnapshots(recs)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

// jsonOf is a journal value; a value that cannot be encoded is recorded as null.
func jsonOf(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
