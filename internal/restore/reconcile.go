package restore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pitrguard/pitrguard/internal/awsx"
)

// Tags pitrguard adds to a restored table.
const (
	TagRestoredFrom = "pitrguard:restored-from"
	TagRestorePoint = "pitrguard:restore-point"
)

// Target is the restored table.
type Target struct {
	Name, ARN, Region string
	OnDemand          bool
}

// Reconciler puts back on a restored table what AWS does not restore.
type Reconciler struct {
	DB   *dynamodb.Client
	AS   *applicationautoscaling.Client
	Wait func(ctx context.Context) error // waits until the target is ACTIVE again after UpdateTable
}

// Reconcile applies s to the target and returns one item per setting, in a
// fixed order, and the actions a person must take.
func (r *Reconciler) Reconcile(ctx context.Context, s *Settings, sourceName, sourceARN string, t Target, restorePoint time.Time) ([]Item, []string) {
	var items []Item
	add := func(setting, status, detail string) {
		items = append(items, Item{Setting: setting, Status: status, Detail: detail})
	}
	fail := func(setting, op string, err error) {
		_, code, msg := awsx.Classify(err)
		add(setting, Failed, fmt.Sprintf("%s: %s: %s (grant dynamodb:%s on %s, then rerun with --reconcile-only)", op, code, msg, op, t.ARN))
	}
	unread := func(setting, what string) bool {
		if why, ok := s.readErrors[setting]; ok {
			add(setting, Manual, fmt.Sprintf("could not read the source's %s (%s): check it and set it on %s by hand", what, why, t.Name))
			return true
		}
		return false
	}
	updateTable := func(setting string, in *dynamodb.UpdateTableInput, detail string) {
		in.TableName = aws.String(t.Name)
		if _, err := r.DB.UpdateTable(ctx, in); err != nil {
			fail(setting, "UpdateTable", err)
			return
		}
		if err := r.Wait(ctx); err != nil {
			add(setting, Failed, "UpdateTable accepted, but the table did not become ACTIVE again: "+err.Error())
			return
		}
		add(setting, Applied, detail)
	}

	// PITR, with the source's window.
	switch {
	case unread("pitr", "PITR setting"):
	case s.PITR == nil:
		add("pitr", Manual, "the source's PITR state is unknown; enable PITR on "+t.Name+" by hand")
	case !s.PITR.Enabled:
		add("pitr", NotNeeded, "PITR was off on the source")
	default:
		_, err := r.DB.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(t.Name),
			PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true), RecoveryPeriodInDays: aws.Int32(int32(s.PITR.Days))}})
		if err != nil {
			fail("pitr", "UpdateContinuousBackups", err)
		} else {
			add("pitr", Applied, fmt.Sprintf("enabled with a %d-day window", s.PITR.Days))
		}
	}

	// Tags (aws: tags belong to AWS services and cannot be set), plus lineage.
	tags := map[string]string{TagRestoredFrom: sourceARN, TagRestorePoint: restorePoint.UTC().Format(time.RFC3339)}
	var system []string
	for k, v := range s.Tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			system = append(system, k)
			continue
		}
		tags[k] = v
	}
	if err := r.tag(ctx, t.ARN, tags); err != nil {
		fail("tags", "TagResource", err)
	} else if why, ok := s.readErrors["tags"]; ok {
		add("tags", Manual, fmt.Sprintf("added %s and %s only: the source's tags could not be read (%s)", TagRestoredFrom, TagRestorePoint, why))
	} else {
		d := fmt.Sprintf("%d tag(s) copied, plus %s and %s", len(tags)-2, TagRestoredFrom, TagRestorePoint)
		if len(system) > 0 {
			sort.Strings(system)
			d += "; not copied (set by AWS services): " + strings.Join(system, ", ")
		}
		add("tags", Applied, d)
	}

	switch {
	case unread("ttl", "TTL setting"):
	case s.TTLAttribute == "":
		add("ttl", NotNeeded, "TTL was off on the source")
	default:
		if _, err := r.DB.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(t.Name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String(s.TTLAttribute)}}); err != nil {
			fail("ttl", "UpdateTimeToLive", err)
		} else {
			add("ttl", Applied, "TTL on attribute "+s.TTLAttribute)
		}
	}

	if s.DeletionProtection {
		updateTable("deletion_protection", &dynamodb.UpdateTableInput{DeletionProtectionEnabled: aws.Bool(true)}, "enabled")
	} else {
		add("deletion_protection", NotNeeded, "deletion protection was off on the source")
	}

	if s.Stream != nil {
		updateTable("stream", &dynamodb.UpdateTableInput{StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: s.Stream.StreamViewType}},
			"stream enabled ("+string(s.Stream.StreamViewType)+"); it has a new stream ARN")
	} else {
		add("stream", NotNeeded, "no stream on the source")
	}

	if s.TableClass != "" && s.TableClass != ddbtypes.TableClassStandard {
		updateTable("table_class", &dynamodb.UpdateTableInput{TableClass: s.TableClass}, string(s.TableClass))
	} else {
		add("table_class", NotNeeded, "STANDARD, the default")
	}

	switch {
	case unread("resource_policy", "resource-based policy"):
	case s.ResourcePolicy == "":
		add("resource_policy", NotNeeded, "no resource-based policy on the source")
	default:
		// The policy names the source table's ARN; point it at the new table.
		policy := strings.ReplaceAll(s.ResourcePolicy, sourceARN, t.ARN)
		if _, err := r.DB.PutResourcePolicy(ctx, &dynamodb.PutResourcePolicyInput{ResourceArn: aws.String(t.ARN), Policy: aws.String(policy)}); err != nil {
			fail("resource_policy", "PutResourcePolicy", err)
		} else {
			add("resource_policy", Applied, "copied with the table ARN rewritten to "+t.ARN)
		}
	}

	switch {
	case unread("contributor_insights", "contributor insights setting"):
	case !s.ContributorInsight:
		add("contributor_insights", NotNeeded, "off on the source")
	default:
		if _, err := r.DB.UpdateContributorInsights(ctx, &dynamodb.UpdateContributorInsightsInput{TableName: aws.String(t.Name),
			ContributorInsightsAction: ddbtypes.ContributorInsightsActionEnable}); err != nil {
			fail("contributor_insights", "UpdateContributorInsights", err)
		} else {
			add("contributor_insights", Applied, "enabled")
		}
	}

	switch {
	case unread("auto_scaling", "Application Auto Scaling targets and policies"):
	case len(s.ScalableTargets) == 0:
		add("auto_scaling", NotNeeded, "no auto scaling on the source")
	case t.OnDemand:
		add("auto_scaling", Manual, "the source used auto scaling, but the restored table is on-demand: switch it to provisioned and set auto scaling if you need it")
	case r.AS == nil:
		add("auto_scaling", Manual, "auto scaling could not be set: no Application Auto Scaling client")
	default:
		if n, err := r.copyScaling(ctx, s, sourceName, t.Name); err != nil {
			_, code, msg := awsx.Classify(err)
			add("auto_scaling", Failed, fmt.Sprintf("%s: %s (grant application-autoscaling:RegisterScalableTarget and PutScalingPolicy)", code, msg))
		} else {
			add("auto_scaling", Applied, fmt.Sprintf("%d scalable target(s) and %d policy(ies) copied", len(s.ScalableTargets), n))
		}
	}

	manual := []string{
		fmt.Sprintf("Re-point CloudWatch alarms and dashboards on %s to %s", sourceName, t.Name),
		fmt.Sprintf("Update IAM and other policies that name %s", sourceARN),
		fmt.Sprintf("Adopt %s into your IaC (import it into Terraform/CloudFormation), or it will drift", t.Name),
	}
	if s.Stream != nil {
		manual = append(manual, fmt.Sprintf("Point stream consumers (Lambda triggers, Kinesis, Pipes) at the new stream of %s", t.Name))
	}
	if len(s.Replicas) > 0 {
		manual = append(manual, fmt.Sprintf("Re-add global table replicas (%s) to %s", strings.Join(s.Replicas, ", "), t.Name))
	}
	return items, manual
}

func (r *Reconciler) tag(ctx context.Context, arn string, tags map[string]string) error {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i := 0; i < len(keys); i += 50 { // TagResource takes up to 50 tags
		var batch []ddbtypes.Tag
		for _, k := range keys[i:min(i+50, len(keys))] {
			batch = append(batch, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
		if _, err := r.DB.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: aws.String(arn), Tags: batch}); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reconciler) copyScaling(ctx context.Context, s *Settings, from, to string) (int, error) {
	rewrite := func(id string) string { return strings.Replace(id, "table/"+from, "table/"+to, 1) }
	for _, st := range s.ScalableTargets {
		if _, err := r.AS.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{
			ServiceNamespace: astypes.ServiceNamespaceDynamodb, ResourceId: aws.String(rewrite(aws.ToString(st.ResourceId))),
			ScalableDimension: st.ScalableDimension, MinCapacity: st.MinCapacity, MaxCapacity: st.MaxCapacity,
		}); err != nil {
			return 0, err
		}
	}
	n := 0
	for _, p := range s.ScalingPolicies {
		if _, err := r.AS.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{
			ServiceNamespace: astypes.ServiceNamespaceDynamodb, ResourceId: aws.String(rewrite(aws.ToString(p.ResourceId))),
			ScalableDimension: p.ScalableDimension, PolicyName: p.PolicyName, PolicyType: p.PolicyType,
			TargetTrackingScalingPolicyConfiguration: p.TargetTrackingScalingPolicyConfiguration,
			StepScalingPolicyConfiguration:           p.StepScalingPolicyConfiguration,
		}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
