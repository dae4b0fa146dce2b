package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/model"
)

// Params say what to restore and how.
type Params struct {
	Source       *ddbtypes.TableDescription // the live source (nil when deleted)
	SourceName   string
	SourceARN    string
	TargetName   string
	CrossRegion  bool
	Latest       bool
	At           time.Time
	BackupARN    string // restore this backup (deleted table) instead of a point in time
	BillingMode  string
	WithoutIdx   bool
	Indexes      []string // keep only these GSIs/LSIs
	KMSKey       string
	BackupSource *ddbtypes.SourceTableFeatureDetails // index details of a backup
}

// Start requests the restore and returns the new table's description.
func Start(ctx context.Context, db Writer, p Params) (*ddbtypes.TableDescription, error) {
	gsi, lsi := indexOverrides(p)
	var sse *ddbtypes.SSESpecification
	if p.KMSKey != "" || p.CrossRegion {
		// Cross-region restores must say how to encrypt the new table.
		sse = &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms}
		if p.KMSKey != "" {
			sse.KMSMasterKeyId = aws.String(p.KMSKey)
		}
	}
	var bm ddbtypes.BillingMode
	if p.BillingMode != "" {
		bm = ddbtypes.BillingMode(p.BillingMode)
	}
	if p.BackupARN != "" {
		out, err := db.RestoreTableFromBackup(ctx, &dynamodb.RestoreTableFromBackupInput{
			BackupArn: aws.String(p.BackupARN), TargetTableName: aws.String(p.TargetName),
			BillingModeOverride: bm, GlobalSecondaryIndexOverride: gsi, LocalSecondaryIndexOverride: lsi, SSESpecificationOverride: sse,
		})
		if err != nil {
			return nil, explain("RestoreTableFromBackup", p, err)
		}
		return out.TableDescription, nil
	}
	in := &dynamodb.RestoreTableToPointInTimeInput{
		TargetTableName: aws.String(p.TargetName), BillingModeOverride: bm,
		GlobalSecondaryIndexOverride: gsi, LocalSecondaryIndexOverride: lsi, SSESpecificationOverride: sse,
	}
	if p.CrossRegion {
		in.SourceTableArn = aws.String(p.SourceARN) // required across regions
	} else {
		in.SourceTableName = aws.String(p.SourceName)
	}
	if p.Latest {
		in.UseLatestRestorableTime = aws.Bool(true)
	} else {
		in.RestoreDateTime = aws.Time(p.At)
	}
	out, err := db.RestoreTableToPointInTime(ctx, in)
	if err != nil {
		return nil, explain("RestoreTableToPointInTime", p, err)
	}
	return out.TableDescription, nil
}

func indexOverrides(p Params) ([]ddbtypes.GlobalSecondaryIndex, []ddbtypes.LocalSecondaryIndex) {
	if !p.WithoutIdx && len(p.Indexes) == 0 {
		return nil, nil // restore every index
	}
	gsi, lsi := []ddbtypes.GlobalSecondaryIndex{}, []ddbtypes.LocalSecondaryIndex{}
	keep := func(name *string) bool { return !p.WithoutIdx && slices.Contains(p.Indexes, aws.ToString(name)) }
	var gsis []ddbtypes.GlobalSecondaryIndexDescription
	var lsis []ddbtypes.LocalSecondaryIndexDescription
	switch {
	case p.Source != nil:
		gsis, lsis = p.Source.GlobalSecondaryIndexes, p.Source.LocalSecondaryIndexes
	case p.BackupSource != nil:
		for _, g := range p.BackupSource.GlobalSecondaryIndexes {
			d := ddbtypes.GlobalSecondaryIndexDescription{IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection}
			if t := g.ProvisionedThroughput; t != nil { // absent on on-demand tables (issue 9 #5)
				d.ProvisionedThroughput = &ddbtypes.ProvisionedThroughputDescription{ReadCapacityUnits: t.ReadCapacityUnits, WriteCapacityUnits: t.WriteCapacityUnits}
			}
			gsis = append(gsis, d)
		}
		for _, l := range p.BackupSource.LocalSecondaryIndexes {
			lsis = append(lsis, ddbtypes.LocalSecondaryIndexDescription{IndexName: l.IndexName, KeySchema: l.KeySchema, Projection: l.Projection})
		}
	}
	for _, g := range gsis {
		if !keep(g.IndexName) {
			continue
		}
		o := ddbtypes.GlobalSecondaryIndex{IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection}
		if t := g.ProvisionedThroughput; t != nil && aws.ToInt64(t.ReadCapacityUnits) > 0 && aws.ToInt64(t.WriteCapacityUnits) > 0 {
			o.ProvisionedThroughput = &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: t.ReadCapacityUnits, WriteCapacityUnits: t.WriteCapacityUnits}
		}
		gsi = append(gsi, o)
	}
	for _, l := range lsis {
		if keep(l.IndexName) {
			lsi = append(lsi, ddbtypes.LocalSecondaryIndex{IndexName: l.IndexName, KeySchema: l.KeySchema, Projection: l.Projection})
		}
	}
	return gsi, lsi
}

// IndexNames lists a table's GSIs and LSIs.
func IndexNames(d *ddbtypes.TableDescription) []string {
	var out []string
	for _, g := range d.GlobalSecondaryIndexes {
		out = append(out, aws.ToString(g.IndexName))
	}
	for _, l := range d.LocalSecondaryIndexes {
		out = append(out, aws.ToString(l.IndexName))
	}
	slices.Sort(out)
	return out
}

// RestoredBytes is what a restore of d is billed on: table data plus LSIs
// and GSIs (only the indexes that are restored).
func RestoredBytes(d *ddbtypes.TableDescription, withoutIdx bool, keep []string) int64 {
	n := aws.ToInt64(d.TableSizeBytes)
	for _, g := range d.GlobalSecondaryIndexes {
		if !withoutIdx && (len(keep) == 0 || slices.Contains(keep, aws.ToString(g.IndexName))) {
			n += aws.ToInt64(g.IndexSizeBytes)
		}
	}
	for _, l := range d.LocalSecondaryIndexes {
		if !withoutIdx && (len(keep) == 0 || slices.Contains(keep, aws.ToString(l.IndexName))) {
			n += aws.ToInt64(l.IndexSizeBytes)
		}
	}
	return n
}

// explain turns restore errors into what happened and what to do.
func explain(op string, p Params, err error) error {
	var (
		pitrOff  *ddbtypes.PointInTimeRecoveryUnavailableException
		badTime  *ddbtypes.InvalidRestoreTimeException
		exists   *ddbtypes.TableAlreadyExistsException
		inUse    *ddbtypes.TableInUseException
		notFound *ddbtypes.TableNotFoundException
		limit    *ddbtypes.LimitExceededException
		bkGone   *ddbtypes.BackupNotFoundException
		bkBusy   *ddbtypes.BackupInUseException
		internal *ddbtypes.InternalServerError
	)
	what := ""
	switch {
	case errors.As(err, &pitrOff):
		what = fmt.Sprintf("PITR is not enabled on %s, so it cannot be restored to a point in time (if it was deleted with PITR on, use --deleted)", p.SourceName)
	case errors.As(err, &badTime):
		what = "the restore time is outside the restorable window (the latest restorable time is about five minutes ago and moves on); use --latest or a time inside the window"
	case errors.As(err, &exists):
		what = fmt.Sprintf("a table named %s already exists; choose another --target", p.TargetName)
	case errors.As(err, &inUse):
		what = fmt.Sprintf("a table named %s is being created or deleted; choose another --target or wait", p.TargetName)
	case errors.As(err, &notFound):
		what = fmt.Sprintf("source %s was not found in this account and region (deleted? use --deleted)", p.SourceName)
	case errors.As(err, &limit):
		what = "too many restores or table operations are running in this account (AWS allows 50 concurrent restores); retry later"
	case errors.As(err, &bkGone):
		what = "the deleted-table backup is gone (SYSTEM backups expire 35 days after the deletion)"
	case errors.As(err, &bkBusy):
		what = "the backup is being created, deleted or restored by another request; retry in a few minutes"
	case errors.As(err, &internal):
		what = "AWS had an internal error; nothing was restored, retry"
	default:
		if r, _, _ := awsx.Classify(err); r == model.ReasonAccessDenied {
			what = fmt.Sprintf("grant dynamodb:%s on the source table and read/write data actions on the target (see `pitrguard iam-policy restore`)", op)
		}
	}
	_, code, msg := awsx.Classify(err)
	if what == "" {
		return fmt.Errorf("%s: %s: %s", op, code, msg)
	}
	return fmt.Errorf("%s: %s: %s — %s", op, code, msg, what)
}

// WaitActive polls DescribeTable until the table is ACTIVE, up to limit.
// tick is told the elapsed time and status after each poll.
func WaitActive(ctx context.Context, db Reader, name string, limit, poll time.Duration, tick func(time.Duration, string)) (time.Time, error) {
	start := time.Now()
	interval := poll
	for {
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		var nf *ddbtypes.ResourceNotFoundException
		switch {
		case err == nil:
			st := string(out.Table.TableStatus)
			if tick != nil {
				tick(time.Since(start), st)
			}
			if out.Table.TableStatus == ddbtypes.TableStatusActive {
				return time.Now().UTC(), nil
			}
		case errors.As(err, &nf):
			// Just requested: not visible yet. Keep polling.
		default:
			return time.Time{}, fmt.Errorf("wait for %s: %w", name, err)
		}
		if time.Since(start)+interval > limit {
			return time.Time{}, ErrTimeout
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(interval):
		}
		interval = min(interval*2, max(poll, 30*time.Second))
	}
}

// FindDeletedBackup finds the SYSTEM backup AWS made when table was deleted
// with PITR on (<name>$DeletedTableBackup). ListBackups shows only USER
// backups unless asked for SYSTEM ones.
func FindDeletedBackup(ctx context.Context, db Reader, table string) (*ddbtypes.BackupSummary, error) {
	in := &dynamodb.ListBackupsInput{TableName: aws.String(table), BackupType: ddbtypes.BackupTypeFilterSystem}
	var best *ddbtypes.BackupSummary
	seen := map[string]bool{}
	for { // ListBackups has no paginator; loop on LastEvaluatedBackupArn
		out, err := db.ListBackups(ctx, in)
		if err != nil {
			_, code, msg := awsx.Classify(err)
			return nil, fmt.Errorf("ListBackups: %s: %s (grant dynamodb:ListBackups)", code, msg)
		}
		for i := range out.BackupSummaries {
			b := &out.BackupSummaries[i]
			if b.BackupType != ddbtypes.BackupTypeSystem || b.BackupStatus != ddbtypes.BackupStatusAvailable ||
				!strings.HasSuffix(aws.ToString(b.BackupName), "$DeletedTableBackup") {
				continue
			}
			if best == nil || aws.ToTime(b.BackupCreationDateTime).After(aws.ToTime(best.BackupCreationDateTime)) {
				best = b
			}
		}
		next := aws.ToString(out.LastEvaluatedBackupArn)
		if next == "" {
			break
		}
		if seen[next] { // a repeated token would loop forever (issue 9 #14)
			return nil, fmt.Errorf("ListBackups returned the pagination token %q twice; stopped listing the backups of %s", next, table)
		}
		seen[next] = true
		in.ExclusiveStartBackupArn = out.LastEvaluatedBackupArn
	}
	if best == nil {
		return nil, fmt.Errorf("no deleted-table backup (%s$DeletedTableBackup) exists for %s: AWS keeps one only when PITR was on at deletion, and only for 35 days", table, table)
	}
	return best, nil
}
