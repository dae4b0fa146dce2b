package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/deploy"
)

// DeployOptions are the flags of `pitrguard deploy events`.
type DeployOptions struct {
	Format      string
	Org         bool
	Output      string
	HandlerRole string
	MemberRole  string
}

func newDeployCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "deploy",
		GroupID: "prevent",
		Short:   "Write deployment templates (the event handler)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return FlagErrorf("name what to deploy: `pitrguard deploy events`")
		},
	}
	cmd.AddCommand(newDeployEventsCmd(f))
	return cmd
}

func newDeployEventsCmd(f *Factory) *cobra.Command {
	o := &DeployOptions{}
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Write the CloudFormation or Terraform that deploys the event handler",
		Long: `Events writes a template for the event handler: the Lambda function (arm64,
provided.al2023, the pitrguard binary as bootstrap), its least-privilege role,
EventBridge rules with narrow patterns (only the handled DynamoDB events,
errorCode absent, pitrguard's own role excluded with anything-but), the SQS
retry queue (delayed re-queues, partial batch failures) and a dead-letter
queue. With --org it adds a central event bus that accepts events from the
organization and a service-managed StackSet that puts forwarding rules (and
the role the handler assumes) in every member account and region.

PREREQUISITE: ` + deploy.Prerequisite,
		Example: `  # One account, CloudFormation
  pitrguard deploy events --format cloudformation --output pitrguard-events.yaml

  # The whole organization, Terraform
  pitrguard deploy events --format terraform --org --output pitrguard-events.tf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(o.Format, "cloudformation", "terraform"); err != nil {
				return err
			}
			if !roleNameRE.MatchString(o.HandlerRole) || !roleNameRE.MatchString(o.MemberRole) {
				return FlagErrorf("--handler-role and --member-role must be IAM role names")
			}
			if err := checkOutputPath("output", o.Output); err != nil {
				return err
			}
			opts := deploy.Options{Org: o.Org, HandlerRole: o.HandlerRole, MemberRole: o.MemberRole}
			var text string
			var err error
			if o.Format == "terraform" {
				text, err = deploy.Terraform(opts)
			} else {
				text, err = deploy.CloudFormation(opts)
			}
			if err != nil {
				return err
			}
			if err := writeOutput(f, o.Output, func(w io.Writer) error { _, err := io.WriteString(w, text); return err }); err != nil {
				return err
			}
			fmt.Fprintln(f.IO.ErrOut, "Prerequisite:", deploy.Prerequisite)
			return nil
		},
	}
	formatFlag(cmd, &o.Format, "cloudformation", "terraform")
	outputFlag(cmd, &o.Output, "the template")
	cmd.Flags().BoolVar(&o.Org, "org", false, "forward events from every member account and region to a central bus (StackSet)")
	cmd.Flags().StringVar(&o.HandlerRole, "handler-role", "pitrguard-events-handler", "name of the function's role (its calls are excluded from the rules)")
	cmd.Flags().StringVar(&o.MemberRole, "member-role", "pitrguard-events", "with --org: the role the handler assumes in member accounts")
	return cmd
}
