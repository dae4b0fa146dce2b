package drill

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
	"github.com/pitrguard/pitrguard/internal/model"
)

// Leftover is a scratch table found by Cleanup.
type Leftover struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Table   string `json:"table"`
	Result  string `json:"result"` // deleted, failed, skipped (not the drill's)
	Detail  string `json:"detail"`
}

// CleanupReport is the JSON document of `pitrguard drill cleanup`.
type CleanupReport struct {
	SchemaVersion    int               `json:"schema_version"`
	Leftovers        []Leftover        `json:"leftovers"`
	Errors           []model.ScanError `json:"errors"`
	CoverageComplete bool              `json:"coverage_complete"`
}

// CleanupDeps are what RunCleanup needs from outside.
type CleanupDeps struct {
	// Discover lists the account-regions to search, and those it could not.
	Discover func(ctx context.Context) ([]model.Target, []model.ScanError)
	Clients  Clients
}

// RunCleanup searches every target for scratch tables and deletes the
// drill's own. An account-region that cannot be searched is listed in Errors
// and makes coverage incomplete.
func RunCleanup(ctx context.Context, poll time.Duration, d CleanupDeps) *CleanupReport {
	targets, errs := d.Discover(ctx)
	rep := &CleanupReport{SchemaVersion: 1, Leftovers: []Leftover{}, Errors: append([]model.ScanError{}, errs...)}
	for _, tg := range targets {
		db, err := d.Clients(ctx, tg.Account, tg.Region)
		if err == nil {
			var left []Leftover
			left, err = Cleanup(ctx, db, tg.Account, tg.Region, poll)
			rep.Leftovers = append(rep.Leftovers, left...)
		}
		if err != nil {
			reason, code, msg := awsx.Classify(err)
			rep.Errors = append(rep.Errors, model.ScanError{Account: tg.Account, Region: tg.Region, Code: code, Reason: reason, Message: msg})
		}
	}
	rep.CoverageComplete = len(rep.Errors) == 0 && ctx.Err() == nil
	inventory.SortErrors(rep.Errors)
	return rep
}

// Cleanup finds scratch tables in an account-region and deletes the drill's
// own; other tables with the prefix are listed as skipped and left alone.
func Cleanup(ctx context.Context, db API, account, region string, poll time.Duration) ([]Leftover, error) {
	var out []Leftover
	pg := dynamodb.NewListTablesPaginator(db, &dynamodb.ListTablesInput{}, func(po *dynamodb.ListTablesPaginatorOptions) { po.StopOnDuplicateToken = true })
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return out, err
		}
		for _, name := range page.TableNames {
			if !strings.HasPrefix(name, Prefix) {
				continue
			}
			res, detail := cleanupFound(ctx, db, name, poll)
			out = append(out, Leftover{Account: account, Region: region, Table: name, Result: res, Detail: detail})
		}
	}
	return out, nil
}

// errNotOurs marks a refusal to delete: the table is not the drill's.
var errNotOurs = errors.New("not the drill's")

// cleanupFound deletes a table found by name if it is the drill's own.
func cleanupFound(ctx context.Context, db API, name string, poll time.Duration) (string, string) {
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var nf *ddbtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return "deleted", "already gone"
	case err != nil:
		_, code, msg := awsx.Classify(err)
		return "failed", fmt.Sprintf("read %s: %s: %s", name, code, msg)
	}
	why, err := judge(ctx, db, d.Table)
	switch {
	case errors.Is(err, errNotOurs):
		return "skipped", fmt.Sprintf("refused to delete %s: %s; check it and delete it by hand", name, why)
	case err != nil:
		_, code, msg := awsx.Classify(err)
		return "failed", fmt.Sprintf("read the tags of %s: %s: %s", name, code, msg)
	}
	return remove(ctx, db, d.Table, poll)
}

// judge decides whether a table with the prefix is the drill's: it must be
// a restore, and either carry the drill tag (with a source that agrees with
// its RestoreSummary), or — a drill whose restore answer was lost before it
// could tag — have the name of a drill of its source created at or after the
// time in that name. Such a table is tagged before it is deleted.
func judge(ctx context.Context, db API, d *ddbtypes.TableDescription) (string, error) {
	rs := d.RestoreSummary
	if rs == nil || aws.ToString(rs.SourceTableArn) == "" {
		return "it is not a restore (no RestoreSummary), so no drill created it", errNotOurs
	}
	tags, err := inventory.ListTags(ctx, db, aws.ToString(d.TableArn))
	if err != nil {
		return "", err
	}
	source := aws.ToString(rs.SourceTableArn)
	if tags[TagKey] == "true" {
		if s := tags[TagSource]; s != "" && s != source {
			return fmt.Sprintf("its %s tag says %s but it is a restore of %s", TagSource, s, source), errNotOurs
		}
		return "", nil
	}
	src, at, ok := ParseScratchName(aws.ToString(d.TableName))
	ref, perr := model.ParseTableARN(source)
	if !ok || perr != nil || !strings.HasPrefix(ref.Name, src) {
		return fmt.Sprintf("it does not carry %s=true", TagKey), errNotOurs
	}
	if owned, why := Owned(d, source, at); !owned {
		return fmt.Sprintf("it does not carry %s=true and %s", TagKey, why), errNotOurs
	}
	_, err = db.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: d.TableArn, Tags: []ddbtypes.Tag{
		{Key: aws.String(TagKey), Value: aws.String("true")}, {Key: aws.String(TagSource), Value: aws.String(source)}}})
	return "", err
}

// ParseScratchName reads the source name (possibly shortened) and the time
// out of a scratch name written by ScratchName.
func ParseScratchName(name string) (table string, at time.Time, ok bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	const tail = len("-20060102t150405-") + 8
	if !ok || len(rest) <= tail || rest[len(rest)-tail] != '-' || rest[len(rest)-9] != '-' {
		return "", time.Time{}, false
	}
	at, err := time.Parse("20060102t150405", rest[len(rest)-tail+1:len(rest)-9])
	if err != nil {
		return "", time.Time{}, false
	}
	return rest[:len(rest)-tail], at, true
}

// cleanup deletes the drill's own scratch table, which the caller has proven
// it owns (it created it under this run's unique name, or checked Owned).
// The name must still have the prefix and the table must be a restore.
func cleanup(ctx context.Context, db API, name string, poll time.Duration) (string, string) {
	if !strings.HasPrefix(name, Prefix) {
		return "failed", "refused: " + name + " does not have the drill prefix"
	}
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var nf *ddbtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return "deleted", "already gone"
	case err != nil:
		_, code, msg := awsx.Classify(err)
		return "failed", fmt.Sprintf("read the scratch table: %s: %s; run `pitrguard drill cleanup`", code, msg)
	case d.Table.RestoreSummary == nil:
		return "failed", fmt.Sprintf("refused to delete %s: it is not a restore; check it and delete it by hand", name)
	}
	return remove(ctx, db, d.Table, poll)
}

// remove waits for a CREATING/UPDATING table (AWS refuses to delete it) and
// deletes it.
func remove(ctx context.Context, db API, d *ddbtypes.TableDescription, poll time.Duration) (string, string) {
	name := aws.ToString(d.TableName)
	if d.TableStatus == ddbtypes.TableStatusCreating || d.TableStatus == ddbtypes.TableStatusUpdating {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		err := waitActive(wctx, db, name, 10*time.Minute, poll)
		cancel()
		if err != nil {
			return "failed", fmt.Sprintf("%s is still %s; run `pitrguard drill cleanup` once it is ACTIVE", name, d.TableStatus)
		}
	}
	_, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	var nf *ddbtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return "deleted", "already gone"
	case err != nil:
		_, code, msg := awsx.Classify(err)
		return "failed", fmt.Sprintf("DeleteTable %s: %s: %s; run `pitrguard drill cleanup`", name, code, msg)
	}
	return "deleted", ""
}
