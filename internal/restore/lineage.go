package restore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/inventory"
)

// reconcileOnly reconciles a table restored earlier (a restore that outlasted
// --wait). Only a table that really is a restore of the source is touched
// (issue 9 #1), and only after the changes were confirmed.
func (r *run) reconcileOnly(ctx context.Context) error {
	o := r.o
	region := o.targetRegion()
	r.res.Status = StatusReconciledOnly
	r.res.Target = TargetInfo{Table: o.Target, Region: region, ARN: tableARN(o.Partition, region, o.Account, o.Target)}
	out, err := r.d.Target.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(o.Target)})
	if err != nil {
		r.res.Status = ""
		var nf *ddbtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return usagef("no table named %s in %s: --target names the table the restore created", o.Target, region)
		}
		_, code, msg := awsx.Classify(err)
		return fmt.Errorf("read the restored table %s: DescribeTable: %s: %s", o.Target, code, msg)
	}
	tgt := out.Table
	if a := aws.ToString(tgt.TableArn); a != "" {
		r.res.Target.ARN = a
	}
	tags, tagErr := inventory.ListTags(ctx, r.d.Target, r.res.Target.ARN)
	if err := checkLineage(tgt, tags, tagErr, r.res.Source.ARN, o.Table); err != nil {
		r.res.Status = ""
		return err
	}
	if tgt.TableStatus != ddbtypes.TableStatusActive {
		r.res.Status = ""
		return fmt.Errorf("%s is %s, not ACTIVE yet; rerun --reconcile-only when it is", o.Target, tgt.TableStatus)
	}
	r.restorePointOf(tgt, tags)
	return r.finish(ctx, r.reconcile(ctx, tgt, true))
}

// checkLineage accepts the target only when AWS's RestoreSummary names the
// source (its table ARN, or a backup of it), or pitrguard's own
// restored-from tag does.
func checkLineage(d *ddbtypes.TableDescription, tags map[string]string, tagErr error, sourceARN, source string) error {
	name := aws.ToString(d.TableName)
	var why []string
	if rs := d.RestoreSummary; rs != nil {
		st, sb := aws.ToString(rs.SourceTableArn), aws.ToString(rs.SourceBackupArn)
		if st == sourceARN || strings.HasPrefix(sb, sourceARN+"/backup/") {
			return nil
		}
		why = append(why, fmt.Sprintf("AWS says it was restored from %s", firstOf(st, sb)))
	} else {
		why = append(why, "AWS says it was created, not restored (it has no RestoreSummary)")
	}
	switch {
	case tagErr != nil:
		_, code, msg := awsx.Classify(tagErr)
		return fmt.Errorf("cannot tell whether %s is a restore of %s: %s, and its tags could not be read (ListTagsOfResource: %s: %s)", name, source, why[0], code, msg)
	case tags[TagRestoredFrom] == sourceARN:
		return nil
	case tags[TagRestoredFrom] != "":
		why = append(why, fmt.Sprintf("its %s tag names %s", TagRestoredFrom, tags[TagRestoredFrom]))
	default:
		why = append(why, "it has no "+TagRestoredFrom+" tag")
	}
	return usagef("%s is not a restore of %s: %s; --reconcile-only only changes a table restored from --table (check --table and --target)",
		name, sourceARN, strings.Join(why, " and "))
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return "an unnamed source"
}

// restorePointOf takes the restore point from AWS, or from pitrguard's tag.
func (r *run) restorePointOf(d *ddbtypes.TableDescription, tags map[string]string) {
	if rs := d.RestoreSummary; rs != nil && rs.RestoreDateTime != nil {
		r.setPoint(*rs.RestoreDateTime)
		return
	}
	if t, err := time.Parse(time.RFC3339, tags[TagRestorePoint]); err == nil {
		r.setPoint(t)
	}
}
