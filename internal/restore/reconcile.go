package restore

import (
	"context"
	"errors"
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
	"github.com/pitrguard/pitrguard/internal/model"
)

// Tags pitrguard adds to a restored table.
const (
	TagRestoredFrom = "pitrguard:restored-from"
	TagRestorePoint = "pitrguard:restore-point"
)

// Target is the restored table, as DescribeTable last described it.
type Target struct {
	Name, ARN, Region string
	Desc              *ddbtypes.TableDescription
}

func (t Target) onDemand() bool {
	return t.Desc != nil && t.Desc.BillingModeSummary != nil && t.Desc.BillingModeSummary.BillingMode == ddbtypes.BillingModePayPerRequest
}

// Reconciler puts back on a restored table what AWS does not restore. It
// first reads what the target already has, so that it never lowers a window,
// replaces a TTL or a resource policy the target has of its own (unless
// Replace), and reruns are idempotent.
type Reconciler struct {
	DB   DynamoDB
	AS   ScalingWriter                   // nil: auto scaling is manual
	Wait func(ctx context.Context) error // waits until the target is ACTIVE again after UpdateTable
	// Replace allows lowering the target's PITR window and replacing its own
	// resource policy (--replace-target-settings).
	Replace bool
}

// ReconcilePlan is what reconciliation will do, setting by setting.
type ReconcilePlan struct {
	slots  []slot
	manual []string
}

// slot is one setting: decided already (item), or a change to make (apply).
type slot struct {
	item   Item
	change string
	apply  func(ctx context.Context) Item
}

// Changes lists the changes the plan makes, for the confirmation.
func (p *ReconcilePlan) Changes() []string {
	var out []string
	for _, s := range p.slots {
		if s.apply != nil {
			out = append(out, s.item.Setting+": "+s.change)
		}
	}
	return out
}

// Apply makes the changes and returns one item per setting, in a fixed
// order, and the actions a person must take.
func (p *ReconcilePlan) Apply(ctx context.Context) ([]Item, []string) {
	items := make([]Item, 0, len(p.slots))
	for _, s := range p.slots {
		if s.apply != nil {
			items = append(items, s.apply(ctx))
		} else {
			items = append(items, s.item)
		}
	}
	return items, p.manual
}

// Reconcile plans and applies at once (the restore itself was confirmed).
func (r *Reconciler) Reconcile(ctx context.Context, s *Settings, sourceName, sourceARN string, t Target, restorePoint time.Time) ([]Item, []string) {
	return r.Plan(ctx, s, sourceName, sourceARN, t, restorePoint).Apply(ctx)
}

// planner holds what every setting's decision needs.
type planner struct {
	r          *Reconciler
	s          *Settings
	t          Target
	sourceName string
	sourceARN  string
	point      time.Time
}

// Plan reads the target's current settings and decides what to do.
func (r *Reconciler) Plan(ctx context.Context, s *Settings, sourceName, sourceARN string, t Target, restorePoint time.Time) *ReconcilePlan {
	p := &planner{r: r, s: s, t: t, sourceName: sourceName, sourceARN: sourceARN, point: restorePoint}
	plan := &ReconcilePlan{}
	for _, f := range []func(context.Context) slot{p.pitr, p.tags, p.ttl, p.deletionProtection, p.stream, p.tableClass, p.policy, p.insights, p.scaling} {
		plan.slots = append(plan.slots, f(ctx))
	}
	plan.manual = manualActions(s, sourceName, sourceARN, t.Name)
	return plan
}

func done(setting, status, detail string) slot {
	return slot{item: Item{Setting: setting, Status: status, Detail: detail}}
}

func (p *planner) change(setting, change string, apply func(ctx context.Context) Item) slot {
	return slot{item: Item{Setting: setting}, change: change, apply: apply}
}

// known returns a manual slot when the source's setting is not known.
func (p *planner) known(setting, what string) (slot, bool) {
	if why, ok := p.s.readErrors[setting]; ok {
		sl := done(setting, Manual, fmt.Sprintf("could not read the source's %s (%s): check it and set it on %s by hand", what, why, p.t.Name))
		sl.item.unread = true
		return sl, false
	}
	if why, ok := p.s.notRecorded[setting]; ok {
		return done(setting, Manual, fmt.Sprintf("the source's %s is unknown (%s): check it and set it on %s by hand", what, why, p.t.Name)), false
	}
	return slot{}, true
}

func (p *planner) failed(setting, op string, err error) Item {
	_, code, msg := awsx.Classify(err)
	return Item{Setting: setting, Status: Failed, Detail: fmt.Sprintf("%s: %s: %s (grant dynamodb:%s on %s, then rerun with --reconcile-only)", op, code, msg, op, p.t.ARN)}
}

func (p *planner) readFailed(setting, op string, err error) slot {
	_, code, msg := awsx.Classify(err)
	return done(setting, Failed, fmt.Sprintf("could not read the restored table's current setting (%s: %s: %s), so it was not changed; grant dynamodb:%s and rerun with --reconcile-only", op, code, msg, op))
}

func (p *planner) pitr(ctx context.Context) slot {
	const k = "pitr"
	if sl, ok := p.known(k, "PITR setting"); !ok {
		return sl
	}
	if p.s.PITR == nil || !p.s.PITR.Enabled {
		return done(k, NotNeeded, "PITR was off on the source")
	}
	want := p.s.PITR.Days
	cb, err := p.r.DB.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(p.t.Name)})
	if err != nil {
		return p.readFailed(k, "DescribeContinuousBackups", err)
	}
	var have int
	if d := cb.ContinuousBackupsDescription; d != nil && d.PointInTimeRecoveryDescription != nil &&
		d.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled {
		have = model.RecoveryDays(aws.ToInt32(d.PointInTimeRecoveryDescription.RecoveryPeriodInDays))
	}
	switch {
	case have == want:
		return done(k, NotNeeded, fmt.Sprintf("already enabled with a %d-day window", want))
	case have > want && !p.r.Replace:
		return done(k, Manual, fmt.Sprintf("%s keeps its own %d-day window (the source's is %d days): lowering it discards history; pass --replace-target-settings to lower it", p.t.Name, have, want))
	}
	desc := fmt.Sprintf("enable PITR with a %d-day window", want)
	if have > 0 {
		desc = fmt.Sprintf("change the PITR window from %d to %d days", have, want)
	}
	return p.change(k, desc, func(ctx context.Context) Item {
		_, err := p.r.DB.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(p.t.Name),
			PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true), RecoveryPeriodInDays: aws.Int32(int32(want))}})
		if err != nil {
			return p.failed(k, "UpdateContinuousBackups", err)
		}
		return Item{Setting: k, Status: Applied, Detail: fmt.Sprintf("enabled with a %d-day window", want)}
	})
}

// tags copies the source's tags (aws: tags belong to AWS services and cannot
// be set) and adds the lineage tags.
func (p *planner) tags(context.Context) slot {
	const k = "tags"
	tags := map[string]string{TagRestoredFrom: p.sourceARN}
	if !p.point.IsZero() {
		tags[TagRestorePoint] = p.point.UTC().Format(time.RFC3339)
	}
	var system []string
	copied := 0
	for key, v := range p.s.Tags {
		switch {
		case strings.HasPrefix(strings.ToLower(key), "aws:"):
			system = append(system, key)
		case key != TagRestoredFrom && key != TagRestorePoint:
			tags[key] = v
			copied++
		}
	}
	sort.Strings(system)
	return p.change(k, fmt.Sprintf("add %d tag(s) from the source plus the pitrguard lineage tags", copied), func(ctx context.Context) Item {
		if err := p.r.tag(ctx, p.t.ARN, tags); err != nil {
			return p.failed(k, "TagResource", err)
		}
		if why, ok := p.s.readErrors[k]; ok {
			return Item{Setting: k, Status: Manual, Detail: fmt.Sprintf("added %s and %s only: the source's tags could not be read (%s)", TagRestoredFrom, TagRestorePoint, why), unread: true}
		}
		d := fmt.Sprintf("%d tag(s) copied, plus %s and %s", copied, TagRestoredFrom, TagRestorePoint)
		if p.point.IsZero() {
			d = fmt.Sprintf("%d tag(s) copied, plus %s (the restore point is unknown, so no %s)", copied, TagRestoredFrom, TagRestorePoint)
		}
		if len(system) > 0 {
			d += "; not copied (set by AWS services): " + strings.Join(system, ", ")
		}
		return Item{Setting: k, Status: Applied, Detail: d}
	})
}

func (p *planner) ttl(ctx context.Context) slot {
	const k = "ttl"
	if sl, ok := p.known(k, "TTL setting"); !ok {
		return sl
	}
	want := p.s.TTLAttribute
	if want == "" {
		return done(k, NotNeeded, "TTL was off on the source")
	}
	out, err := p.r.DB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(p.t.Name)})
	if err != nil {
		return p.readFailed(k, "DescribeTimeToLive", err)
	}
	if d := out.TimeToLiveDescription; d != nil && d.TimeToLiveStatus != "" && d.TimeToLiveStatus != ddbtypes.TimeToLiveStatusDisabled {
		have := aws.ToString(d.AttributeName)
		if have == want && d.TimeToLiveStatus != ddbtypes.TimeToLiveStatusDisabling {
			return done(k, NotNeeded, "TTL already on attribute "+want)
		}
		// Never change a TTL the target has of its own: it decides which items expire.
		return done(k, Manual, fmt.Sprintf("%s has its own TTL (%s on %q; the source's is on %q): not changed; change it by hand if it should match (AWS allows one TTL change per table per hour)",
			p.t.Name, d.TimeToLiveStatus, have, want))
	}
	return p.change(k, "enable TTL on attribute "+want, func(ctx context.Context) Item {
		if _, err := p.r.DB.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(p.t.Name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{Enabled: aws.Bool(true), AttributeName: aws.String(want)}}); err != nil {
			return p.failed(k, "UpdateTimeToLive", err)
		}
		return Item{Setting: k, Status: Applied, Detail: "TTL on attribute " + want}
	})
}

func (p *planner) updateTable(setting, change string, in *dynamodb.UpdateTableInput, detail string) slot {
	return p.change(setting, change, func(ctx context.Context) Item {
		in.TableName = aws.String(p.t.Name)
		if _, err := p.r.DB.UpdateTable(ctx, in); err != nil {
			return p.failed(setting, "UpdateTable", err)
		}
		if p.r.Wait != nil {
			if err := p.r.Wait(ctx); err != nil {
				return Item{Setting: setting, Status: Failed, Detail: "UpdateTable accepted, but the table did not become ACTIVE again: " + err.Error()}
			}
		}
		return Item{Setting: setting, Status: Applied, Detail: detail}
	})
}

func (p *planner) deletionProtection(context.Context) slot {
	const k = "deletion_protection"
	if sl, ok := p.known(k, "deletion protection"); !ok {
		return sl
	}
	switch {
	case !p.s.DeletionProtection:
		return done(k, NotNeeded, "deletion protection was off on the source")
	case p.t.Desc != nil && aws.ToBool(p.t.Desc.DeletionProtectionEnabled):
		return done(k, NotNeeded, "already enabled")
	}
	return p.updateTable(k, "enable deletion protection", &dynamodb.UpdateTableInput{DeletionProtectionEnabled: aws.Bool(true)}, "enabled")
}

func (p *planner) stream(context.Context) slot {
	const k = "stream"
	if sl, ok := p.known(k, "stream setting"); !ok {
		return sl
	}
	if p.s.Stream == nil {
		return done(k, NotNeeded, "no stream on the source")
	}
	want := p.s.Stream.StreamViewType
	if d := p.t.Desc; d != nil && d.StreamSpecification != nil && aws.ToBool(d.StreamSpecification.StreamEnabled) {
		if have := d.StreamSpecification.StreamViewType; have != want {
			return done(k, Manual, fmt.Sprintf("%s already has a %s stream (the source's was %s): not changed", p.t.Name, have, want))
		}
		return done(k, NotNeeded, "stream already enabled ("+string(want)+")")
	}
	return p.updateTable(k, "enable a "+string(want)+" stream", &dynamodb.UpdateTableInput{StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: want}},
		"stream enabled ("+string(want)+"); it has a new stream ARN")
}

func (p *planner) tableClass(context.Context) slot {
	const k = "table_class"
	if sl, ok := p.known(k, "table class"); !ok {
		return sl
	}
	want := p.s.TableClass
	if want == "" || want == ddbtypes.TableClassStandard {
		return done(k, NotNeeded, "STANDARD, the default")
	}
	if d := p.t.Desc; d != nil && d.TableClassSummary != nil && d.TableClassSummary.TableClass == want {
		return done(k, NotNeeded, "already "+string(want))
	}
	return p.updateTable(k, "set the table class to "+string(want), &dynamodb.UpdateTableInput{TableClass: want}, string(want))
}

func (p *planner) policy(ctx context.Context) slot {
	const k = "resource_policy"
	if sl, ok := p.known(k, "resource-based policy"); !ok {
		return sl
	}
	if p.s.ResourcePolicy == "" {
		return done(k, NotNeeded, "no resource-based policy on the source")
	}
	// The policy names the source table's ARN; point it at the new table.
	want := RewriteARN(p.s.ResourcePolicy, p.sourceARN, p.t.ARN)
	out, err := p.r.DB.GetResourcePolicy(ctx, &dynamodb.GetResourcePolicyInput{ResourceArn: aws.String(p.t.ARN)})
	var nf *ddbtypes.PolicyNotFoundException
	var rnf *ddbtypes.ResourceNotFoundException
	have := ""
	switch {
	case err == nil:
		have = aws.ToString(out.Policy)
	case errors.As(err, &nf) || errors.As(err, &rnf):
	default:
		return p.readFailed(k, "GetResourcePolicy", err)
	}
	switch {
	case have == want:
		return done(k, NotNeeded, "the source's policy is already in place")
	case have != "" && !p.r.Replace:
		return done(k, Manual, fmt.Sprintf("%s has its own resource-based policy: not replaced; compare it with the source's and pass --replace-target-settings to replace it", p.t.Name))
	}
	verb := "put"
	if have != "" {
		verb = "replace the target's policy with"
	}
	return p.change(k, verb+" the source's resource-based policy (ARN rewritten)", func(ctx context.Context) Item {
		if _, err := p.r.DB.PutResourcePolicy(ctx, &dynamodb.PutResourcePolicyInput{ResourceArn: aws.String(p.t.ARN), Policy: aws.String(want)}); err != nil {
			return p.failed(k, "PutResourcePolicy", err)
		}
		return Item{Setting: k, Status: Applied, Detail: "copied with the table ARN rewritten to " + p.t.ARN}
	})
}

func (p *planner) insights(ctx context.Context) slot {
	const k = "contributor_insights"
	if sl, ok := p.known(k, "contributor insights setting"); !ok {
		return sl
	}
	if !p.s.ContributorInsight {
		return done(k, NotNeeded, "off on the source")
	}
	if ci, err := p.r.DB.DescribeContributorInsights(ctx, &dynamodb.DescribeContributorInsightsInput{TableName: aws.String(p.t.Name)}); err == nil &&
		(ci.ContributorInsightsStatus == ddbtypes.ContributorInsightsStatusEnabled || ci.ContributorInsightsStatus == ddbtypes.ContributorInsightsStatusEnabling) {
		return done(k, NotNeeded, "already enabled")
	}
	return p.change(k, "enable contributor insights", func(ctx context.Context) Item {
		if _, err := p.r.DB.UpdateContributorInsights(ctx, &dynamodb.UpdateContributorInsightsInput{TableName: aws.String(p.t.Name),
			ContributorInsightsAction: ddbtypes.ContributorInsightsActionEnable}); err != nil {
			return p.failed(k, "UpdateContributorInsights", err)
		}
		return Item{Setting: k, Status: Applied, Detail: "enabled"}
	})
}

func (p *planner) scaling(context.Context) slot {
	const k = "auto_scaling"
	if sl, ok := p.known(k, "Application Auto Scaling targets and policies"); !ok {
		return sl
	}
	switch {
	case len(p.s.ScalableTargets) == 0:
		return done(k, NotNeeded, "no auto scaling on the source")
	case p.t.onDemand():
		return done(k, Manual, "the source used auto scaling, but the restored table is on-demand: switch it to provisioned and set auto scaling if you need it")
	case p.r.AS == nil:
		return done(k, Manual, "auto scaling could not be set: no Application Auto Scaling client")
	}
	return p.change(k, fmt.Sprintf("register %d scalable target(s) and their policies", len(p.s.ScalableTargets)), func(ctx context.Context) Item {
		n, err := p.r.copyScaling(ctx, p.s, p.sourceName, p.t.Name)
		if err != nil {
			_, code, msg := awsx.Classify(err)
			return Item{Setting: k, Status: Failed, Detail: fmt.Sprintf("%s: %s (grant application-autoscaling:RegisterScalableTarget and PutScalingPolicy)", code, msg)}
		}
		return Item{Setting: k, Status: Applied, Detail: fmt.Sprintf("%d scalable target(s) and %d policy(ies) copied", len(p.s.ScalableTargets), n)}
	})
}

func manualActions(s *Settings, sourceName, sourceARN, target string) []string {
	manual := []string{
		fmt.Sprintf("Re-point CloudWatch alarms and dashboards on %s to %s", sourceName, target),
		fmt.Sprintf("Update IAM and other policies that name %s", sourceARN),
		fmt.Sprintf("Adopt %s into your IaC (import it into Terraform/CloudFormation), or it will drift", target),
	}
	if s.Stream != nil {
		manual = append(manual, fmt.Sprintf("Point stream consumers (Lambda triggers, Kinesis, Pipes) at the new stream of %s", target))
	}
	if len(s.Replicas) > 0 {
		manual = append(manual, fmt.Sprintf("Re-add global table replicas (%s) to %s", strings.Join(s.Replicas, ", "), target))
	}
	return manual
}

// RewriteARN replaces the table ARN from with to wherever it names that
// table or one of its sub-resources (from/index/..., from/stream/...), and
// nowhere else: table/orders never rewrites table/orders-archive (issue 9 #14).
func RewriteARN(doc, from, to string) string {
	if from == "" {
		return doc
	}
	var b strings.Builder
	for {
		i := strings.Index(doc, from)
		if i < 0 {
			b.WriteString(doc)
			return b.String()
		}
		end := i + len(from)
		b.WriteString(doc[:i])
		if end == len(doc) || !isNameByte(doc[end]) {
			b.WriteString(to)
		} else {
			b.WriteString(from)
		}
		doc = doc[end:]
	}
}

// isNameByte says whether c can continue a table name (a-z A-Z 0-9 _ . -).
func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
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
	// Resource ids are table/NAME or table/NAME/index/INDEX: swap the exact name.
	rewrite := func(id string) string {
		if rest, ok := strings.CutPrefix(id, "table/"+from); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
			return "table/" + to + rest
		}
		return id
	}
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
