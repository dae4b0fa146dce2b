// Package restore restores DynamoDB tables — to a point in time, or a deleted
// table from its SYSTEM backup — and reconciles the restored table with the
// settings AWS does not restore (PITR, tags, TTL, deletion protection,
// streams, table class, resource policy, contributor insights, auto scaling).
// It never modifies or deletes the source table: the source is only ever
// given a Reader.
//
// Run is the whole restore (read the source, check, confirm, restore, wait,
// reconcile, record); the CLI only turns flags into Options and the Result
// into output. Deps holds the narrow AWS and history interfaces it needs,
// declared here, so tests use in-memory fakes.
package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/inventory"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/store"
)

// Settings are what a restore has to put back on the new table.
type Settings struct {
	// From says where the settings were read: "live source table" or the
	// audit snapshot they came from.
	From string

	PITR               *PITRSetting
	Tags               map[string]string
	TagsKnown          bool
	TTLAttribute       string // "" = off
	TTLKnown           bool
	DeletionProtection bool
	DPKnown            bool
	Stream             *ddbtypes.StreamSpecification // nil = off
	StreamKnown        bool
	TableClass         ddbtypes.TableClass
	ResourcePolicy     string // "" = none
	PolicyKnown        bool
	ContributorInsight bool
	CIKnown            bool
	ScalableTargets    []astypes.ScalableTarget
	ScalingPolicies    []astypes.ScalingPolicy
	ScalingKnown       bool
	Replicas           []string

	// readErrors explain settings that could not be read from the source.
	readErrors map[string]string
	// notRecorded explain settings the source of the settings never holds
	// (an audit snapshot has no TTL, for example): manual, but not a failure.
	notRecorded map[string]string
}

// PITRSetting is the source's PITR state.
type PITRSetting struct {
	Enabled bool
	Days    int
}

// Item is one reconciled setting in the output.
type Item struct {
	Setting string `json:"setting"`
	Status  string `json:"status"` // applied, not_needed, failed, manual
	Detail  string `json:"detail"`

	// unread: manual because the source's setting could not be read (exit 1).
	unread bool
}

// Statuses of an Item.
const (
	Applied   = "applied"
	NotNeeded = "not_needed"
	Failed    = "failed"
	Manual    = "manual"
)

func (s *Settings) readFailed(setting string, err error) {
	if s.readErrors == nil {
		s.readErrors = map[string]string{}
	}
	_, code, msg := awsx.Classify(err)
	s.readErrors[setting] = code + ": " + msg
}

// ReadLive reads a live source table's settings. It only reads.
func ReadLive(ctx context.Context, db Reader, as ScalingReader, d *ddbtypes.TableDescription) *Settings {
	s := &Settings{From: "live source table"}
	name, arn := aws.ToString(d.TableName), aws.ToString(d.TableArn)
	s.DeletionProtection, s.DPKnown = aws.ToBool(d.DeletionProtectionEnabled), true
	if d.StreamSpecification != nil && aws.ToBool(d.StreamSpecification.StreamEnabled) {
		s.Stream = d.StreamSpecification
	}
	s.StreamKnown = true
	s.TableClass = ddbtypes.TableClassStandard
	if d.TableClassSummary != nil && d.TableClassSummary.TableClass != "" {
		s.TableClass = d.TableClassSummary.TableClass
	}
	for _, r := range d.Replicas {
		s.Replicas = append(s.Replicas, aws.ToString(r.RegionName))
	}
	s.readPITR(ctx, db, name)
	if tags, err := inventory.ListTags(ctx, db, arn); err != nil {
		s.Tags = map[string]string{}
		s.readFailed("tags", err)
	} else {
		s.Tags, s.TagsKnown = tags, true
	}
	s.readTTL(ctx, db, name)
	s.readPolicy(ctx, db, arn)
	s.readInsights(ctx, db, name)
	s.readScaling(ctx, as, d)
	return s
}

func (s *Settings) readPITR(ctx context.Context, db Reader, name string) {
	cb, err := db.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: &name})
	if err != nil {
		s.readFailed("pitr", err)
		return
	}
	p := inventory.PITROf(cb.ContinuousBackupsDescription) // the one decode of the window (0 → 35)
	s.PITR = &PITRSetting{Enabled: p.Enabled, Days: p.RecoveryPeriodDays}
}

func (s *Settings) readTTL(ctx context.Context, db Reader, name string) {
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
	if err != nil {
		s.readFailed("ttl", err)
		return
	}
	if d := ttl.TimeToLiveDescription; d != nil && (d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled || d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabling) {
		s.TTLAttribute = aws.ToString(d.AttributeName)
	}
	s.TTLKnown = true
}

func (s *Settings) readPolicy(ctx context.Context, db Reader, arn string) {
	pol, err := db.GetResourcePolicy(ctx, &dynamodb.GetResourcePolicyInput{ResourceArn: &arn})
	var nf *ddbtypes.PolicyNotFoundException
	var rnf *ddbtypes.ResourceNotFoundException
	switch {
	case err == nil:
		s.ResourcePolicy, s.PolicyKnown = aws.ToString(pol.Policy), true
	case errors.As(err, &nf) || errors.As(err, &rnf): // no policy
		s.PolicyKnown = true
	default:
		s.readFailed("resource_policy", err)
	}
}

func (s *Settings) readInsights(ctx context.Context, db Reader, name string) {
	ci, err := db.DescribeContributorInsights(ctx, &dynamodb.DescribeContributorInsightsInput{TableName: &name})
	if err != nil {
		s.readFailed("contributor_insights", err)
		return
	}
	s.ContributorInsight = ci.ContributorInsightsStatus == ddbtypes.ContributorInsightsStatusEnabled ||
		ci.ContributorInsightsStatus == ddbtypes.ContributorInsightsStatusEnabling
	s.CIKnown = true
}

func (s *Settings) readScaling(ctx context.Context, as ScalingReader, d *ddbtypes.TableDescription) {
	if as == nil {
		s.notRecorded = map[string]string{"auto_scaling": "no Application Auto Scaling client"}
		return
	}
	name := aws.ToString(d.TableName)
	ids := []string{"table/" + name}
	for _, g := range d.GlobalSecondaryIndexes {
		ids = append(ids, "table/"+name+"/index/"+aws.ToString(g.IndexName))
	}
	st, err := as.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: astypes.ServiceNamespaceDynamodb, ResourceIds: ids})
	if err != nil {
		s.readFailed("auto_scaling", err)
		return
	}
	for _, id := range ids {
		sp, err := as.DescribeScalingPolicies(ctx, &applicationautoscaling.DescribeScalingPoliciesInput{ServiceNamespace: astypes.ServiceNamespaceDynamodb, ResourceId: aws.String(id)})
		if err != nil {
			s.readFailed("auto_scaling", err)
			return
		}
		s.ScalingPolicies = append(s.ScalingPolicies, sp.ScalingPolicies...)
	}
	s.ScalableTargets, s.ScalingKnown = st.ScalableTargets, true
}

// snapshotLimit is how many stored audit snapshots of a deleted table are
// looked at for one whose settings were actually read.
const snapshotLimit = 50

// FromSnapshots rebuilds settings from the audits that saw a deleted table
// (newest first). It uses the newest snapshot whose DescribeTable and
// DescribeContinuousBackups answered; when none did, the newest one, with
// each setting it could not read left to a person with the reason (issue 9
// #8): "could not read" never becomes "was off". The audit records PITR,
// tags, deletion protection, stream and table class; TTL, resource policy,
// contributor insights and auto scaling are never recorded and are manual.
func FromSnapshots(recs []store.TableRecord) (*Settings, error) {
	if len(recs) == 0 {
		return nil, store.ErrNotFound
	}
	var first *Settings
	for _, rec := range recs {
		s, err := fromSnapshot(rec.Facts, rec.SeenAt, rec.RunID)
		if err != nil {
			return nil, err
		}
		if len(s.readErrors) == 0 {
			return s, nil
		}
		if first == nil {
			first = s
		}
	}
	return first, nil
}

// FromSnapshot rebuilds settings from one stored audit snapshot (any facts
// version the store can decode).
func FromSnapshot(facts json.RawMessage, seenAt time.Time, runID int64) (*Settings, error) {
	return fromSnapshot(facts, seenAt, runID)
}

func fromSnapshot(facts json.RawMessage, seenAt time.Time, runID int64) (*Settings, error) {
	t, err := store.DecodeFacts(facts)
	if err != nil {
		return nil, fmt.Errorf("read the stored snapshot of run %d: %w", runID, err)
	}
	s := &Settings{From: fmt.Sprintf("audit snapshot of %s (run %d)", seenAt.UTC().Format(time.RFC3339), runID),
		readErrors: map[string]string{}, notRecorded: map[string]string{}}
	why := "the audit snapshot of " + seenAt.UTC().Format(time.RFC3339) + " could not read it (" + snapshotReasons(t) + ")"
	if t.PITR.Status == "UNKNOWN" || t.PITR.Status == "" {
		s.readErrors["pitr"] = why
	} else {
		s.PITR = &PITRSetting{Enabled: t.PITR.Status == "ENABLED"}
		if s.PITR.Enabled {
			days := 0
			if t.PITR.RecoveryPeriodDays != nil {
				days = *t.PITR.RecoveryPeriodDays
			}
			s.PITR.Days = model.RecoveryDays(int32(days))
		}
	}
	tagsUnread := !t.TagsKnown || slices.Contains(t.Reasons, string(model.ReasonTagsUnreadable)) || (!t.DescribeKnown && len(t.Tags) == 0)
	s.Tags = t.Tags
	if tagsUnread {
		s.readErrors["tags"] = why
	} else {
		s.TagsKnown = true
	}
	if t.DescribeKnown {
		s.DeletionProtection, s.DPKnown = t.DeletionProtection, true
		if t.Stream != nil && t.Stream.Enabled {
			s.Stream = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(t.Stream.ViewType)}
		}
		s.StreamKnown = true
		s.TableClass = ddbtypes.TableClass(t.TableClass)
		for _, r := range t.Replicas {
			s.Replicas = append(s.Replicas, r.Region)
		}
	} else {
		for _, k := range []string{"deletion_protection", "stream", "table_class"} {
			s.readErrors[k] = why
		}
	}
	for _, k := range []string{"ttl", "resource_policy", "contributor_insights", "auto_scaling"} {
		s.notRecorded[k] = "not recorded by the audit; the source table is deleted"
	}
	return s, nil
}

func snapshotReasons(t *store.Facts) string {
	out := slices.Clone(t.Reasons)
	for _, e := range t.ReadErrors {
		if !slices.Contains(out, e.Reason) {
			out = append(out, e.Reason)
		}
	}
	if len(out) == 0 {
		return "DescribeTable did not describe the table in that audit; its status is UNKNOWN"
	}
	return strings.Join(out, ", ")
}
