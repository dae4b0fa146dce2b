package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/pitrguard/pitrguard/internal/deploy"
)

// handleEventCheck verifies the handler's prerequisite: a trail that logs
// management events in every region (an organization trail covers all
// accounts). Without one, EventBridge never sees the API calls.
func handleEventCheck(ctx context.Context, f *Factory, g *GlobalOptions, o *HandleEventOptions) error {
	p, err := f.awsProvider(ctx, g, &TargetOptions{RoleName: o.RoleName, ExternalID: o.ExternalID})
	if err != nil {
		return err
	}
	ct := cloudtrail.NewFromConfig(p.Base())
	out, err := ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("cloudtrail:DescribeTrails: %w (grant cloudtrail:DescribeTrails and cloudtrail:GetTrailStatus to check)", err)
	}
	var good, partial []string
	for _, t := range out.TrailList {
		name := aws.ToString(t.Name)
		st, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: t.TrailARN})
		logging := err == nil && aws.ToBool(st.IsLogging)
		desc := fmt.Sprintf("%s (organization: %v, multi-region: %v, logging: %v)", name, aws.ToBool(t.IsOrganizationTrail), aws.ToBool(t.IsMultiRegionTrail), logging)
		if logging && aws.ToBool(t.IsMultiRegionTrail) && aws.ToBool(t.IsOrganizationTrail) {
			good = append(good, desc)
		} else {
			partial = append(partial, desc)
		}
	}
	for _, s := range good {
		fmt.Fprintln(f.IO.Out, "ok: trail", s)
	}
	for _, s := range partial {
		fmt.Fprintln(f.IO.Out, "not enough: trail", s)
	}
	if len(good) == 0 {
		msg := "no organization trail that logs in every region was found in " + p.Caller().Account
		if len(partial) > 0 {
			msg += " (only: " + strings.Join(partial, "; ") + ")"
		}
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%s. %s", msg, deploy.Prerequisite)}
	}
	return nil
}
