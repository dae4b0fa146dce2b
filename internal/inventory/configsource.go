package inventory

// The AWS Config fast path (issue 14): one organization aggregator query
// returns, for every DynamoDB table AWS Config recorded, its status, PITR
// status, tags and the time of its configuration item, at 100 rows per call.
//
// What Config can say, and what it cannot:
//   - it records pointInTimeRecoveryStatus but not RecoveryPeriodInDays nor the
//     restorable times, so a table whose tier needs a minimum window and whose
//     PITR is ENABLED is read live;
//   - an item is only as fresh as its recorder (continuous: on change; daily: up
//     to 24 h, plus the aggregator's lag), so items older than the staleness
//     bound are read live;
//   - a table without an item (created since the last recording, or in an
//     account-region without a recorder) is absent from the answer: absence is
//     not compliance. ListTables per account-region is therefore still made (one
//     call per 100 tables) to know the full set; tables without an item are read
//     live, and an account-region with tables but no item at all is reported as
//     an error (its recorder is missing), making the coverage incomplete;
//   - an item without the PITR field is "could not read", not "PITR off": read live.
//   - size, item count, billing mode, table class, deletion protection, replicas
//     and streams are not queried: for a table Config decides they are empty, and
//     its PITR cost is marked estimated.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/configservice"

	"github.com/pitrguard/pitrguard/internal/model"
)

// ConfigQuery is the advanced query run against the aggregator.
const ConfigQuery = "SELECT accountId, awsRegion, resourceId, resourceName, configuration.tableStatus, " +
	"supplementaryConfiguration.ContinuousBackupsDescription.pointInTimeRecoveryDescription.pointInTimeRecoveryStatus, " +
	"tags, configurationItemCaptureTime WHERE resourceType = 'AWS::DynamoDB::Table'"

// ConfigPageSize is the most rows SelectAggregateResourceConfig returns per call.
const ConfigPageSize = 100

// Why a table was read live in a Config-sourced audit (model.Table.SourceReason).
const (
	LiveNoItem         = "config_no_item"
	LiveStale          = "config_stale"
	LiveIncompleteItem = "config_item_incomplete"
	LiveWindowRequired = "recovery_window_required"
	LiveNotRecorded    = "config_not_recorded"
	LiveQueryFailed    = "config_query_failed"
)

// ConfigSelector is the AWS Config call the fast path makes.
type ConfigSelector interface {
	SelectAggregateResourceConfig(context.Context, *configservice.SelectAggregateResourceConfigInput, ...func(*configservice.Options)) (*configservice.SelectAggregateResourceConfigOutput, error)
}

// ConfigRow is one AWS::DynamoDB::Table configuration item. Empty strings
// (and a nil Tags) mean the field was absent from the item.
type ConfigRow struct {
	Account, Region, Name string
	Status                string
	PITRStatus            string // ENABLED, DISABLED, or "" when not recorded
	Tags                  map[string]string
	Captured              time.Time // zero when absent or unreadable
}

type configItem struct {
	AccountID    string          `json:"accountId"`
	AWSRegion    string          `json:"awsRegion"`
	ResourceID   string          `json:"resourceId"`
	ResourceName string          `json:"resourceName"`
	Captured     string          `json:"configurationItemCaptureTime"`
	Tags         json.RawMessage `json:"tags"`
	Config       struct {
		TableStatus string `json:"tableStatus"`
	} `json:"configuration"`
	Supplementary struct {
		CB struct {
			PD struct {
				Status string `json:"pointInTimeRecoveryStatus"`
			} `json:"pointInTimeRecoveryDescription"`
		} `json:"ContinuousBackupsDescription"`
	} `json:"supplementaryConfiguration"`
}

// ParseConfigRow reads one result row of ConfigQuery. A row without account,
// region or name is an error (it cannot be tied to a table); any other missing
// field is left empty for the caller to treat as unknown.
func ParseConfigRow(s string) (ConfigRow, error) {
	var it configItem
	if err := json.Unmarshal([]byte(s), &it); err != nil {
		return ConfigRow{}, fmt.Errorf("AWS Config row is not JSON: %w", err)
	}
	r := ConfigRow{Account: it.AccountID, Region: it.AWSRegion, Name: it.ResourceName,
		Status: strings.ToUpper(it.Config.TableStatus)}
	if r.Name == "" {
		r.Name = it.ResourceID // resourceId of a table is its name
	}
	if r.Account == "" || r.Region == "" || r.Name == "" {
		return ConfigRow{}, fmt.Errorf("AWS Config row has no accountId, awsRegion or resourceName: %s", s)
	}
	switch st := strings.ToUpper(it.Supplementary.CB.PD.Status); st {
	case "ENABLED", "DISABLED":
		r.PITRStatus = st
	}
	if tags, ok := parseConfigTags(it.Tags); ok {
		r.Tags = tags
	}
	if t, err := time.Parse(time.RFC3339Nano, it.Captured); err == nil {
		r.Captured = t.UTC()
	}
	return r, nil
}

// parseConfigTags reads the tags column: an array of {key, value} (the
// advanced query's shape) or a {key: value} object. ok is false when the
// column is absent or has another shape.
func parseConfigTags(raw json.RawMessage) (map[string]string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	var list []struct {
		Key   *string `json:"key"`
		Value *string `json:"value"`
	}
	if json.Unmarshal(raw, &list) == nil {
		tags := make(map[string]string, len(list))
		for _, kv := range list {
			if kv.Key == nil {
				return nil, false
			}
			tags[*kv.Key] = aws.ToString(kv.Value)
		}
		return tags, true
	}
	var obj map[string]string
	if json.Unmarshal(raw, &obj) == nil {
		return obj, true
	}
	return nil, false
}

// QueryConfig runs ConfigQuery against the aggregator, page by page, and
// returns every row. A page token seen twice is an error, not a loop.
func QueryConfig(ctx context.Context, c ConfigSelector, aggregator string) ([]ConfigRow, error) {
	in := &configservice.SelectAggregateResourceConfigInput{
		ConfigurationAggregatorName: aws.String(aggregator),
		Expression:                  aws.String(ConfigQuery),
		Limit:                       ConfigPageSize,
	}
	var rows []ConfigRow
	seen := map[string]bool{}
	for {
		out, err := c.SelectAggregateResourceConfig(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, s := range out.Results {
			r, err := ParseConfigRow(s)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r)
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			return rows, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("SelectAggregateResourceConfig returned the pagination token %q twice", next)
		}
		seen[next] = true
		in.NextToken = out.NextToken
	}
}

// ConfigDecision is what the Config fast path does with one listed table.
type ConfigDecision struct {
	// Table is set when Config decides the table (no live read).
	Table *model.Table
	// LiveReason says why the table must be read live (when Table is nil).
	LiveReason string
}

// Decide says whether row (nil: no item) is enough to judge the table, or
// why it must be read live. needsWindow reports whether the table's tier
// requires a minimum recovery window (judged on the table built from row).
func Decide(row *ConfigRow, partition string, now time.Time, maxStaleness time.Duration, needsWindow func(*model.Table) bool) ConfigDecision {
	switch {
	case row == nil:
		return ConfigDecision{LiveReason: LiveNoItem}
	case row.PITRStatus == "" || row.Status == "" || row.Tags == nil:
		return ConfigDecision{LiveReason: LiveIncompleteItem}
	case row.Captured.IsZero() || now.Sub(row.Captured) > maxStaleness:
		return ConfigDecision{LiveReason: LiveStale}
	}
	t := row.Table(partition, now)
	if t.PITR.Enabled && needsWindow(t) {
		return ConfigDecision{LiveReason: LiveWindowRequired}
	}
	return ConfigDecision{Table: t}
}

// Table builds the facts Config gives about a table. PITR is Known only
// when the item recorded it; the recovery window is never known from Config.
func (r ConfigRow) Table(partition string, now time.Time) *model.Table {
	t := &model.Table{Account: r.Account, Region: r.Region, Name: r.Name, Status: r.Status,
		Tags: map[string]string{}, Replicas: []model.Replica{}, Source: model.SourceConfig}
	t.ARN = arn.ARN{Partition: partition, Service: "dynamodb", Region: r.Region, AccountID: r.Account, Resource: "table/" + r.Name}.String()
	if r.Tags != nil {
		t.Tags, t.TagsKnown = r.Tags, true
	}
	if r.PITRStatus != "" {
		t.PITR = model.PITR{Known: true, Enabled: r.PITRStatus == "ENABLED"}
	}
	if !r.Captured.IsZero() {
		t.SourceAge = max(now.Sub(r.Captured), 0)
	}
	return t
}
