package cli

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/iampolicy"
	"github.com/pitrguard/pitrguard/internal/report"
)

// IAMPolicyOptions are the arguments and flags of `pitrguard iam-policy`.
type IAMPolicyOptions struct {
	Command    string
	RoleName   string
	TrustFor   string
	ExternalID string
	Partition  string
}

func newIAMPolicyCmd(f *Factory) *cobra.Command { return newIAMPolicyCmdF(f, nil) }

// newIAMPolicyCmdF builds `iam-policy`; runF, if set, receives the validated
// options instead of running (argv-to-options tests).
func newIAMPolicyCmdF(f *Factory, runF func(*IAMPolicyOptions) error) *cobra.Command {
	o := &IAMPolicyOptions{}
	cmd := &cobra.Command{
		Use:     "iam-policy audit|enable|restore|drill|all",
		GroupID: "audit",
		Short:   "Print the least-privilege IAM policy a command needs",
		Long: `iam-policy prints the IAM permissions policy a pitrguard command needs — in the
account you run it from and in the role it assumes in member accounts. With
--trust-for it prints instead the trust policy of that member-account role.
Every ARN is in --partition. The drill's policy writes only to its scratch
tables (table/pitrguard-drill-*).`,
		Example: `  pitrguard iam-policy audit > audit-policy.json
  pitrguard iam-policy enable --role-name PitrguardRemediate
  pitrguard iam-policy audit --trust-for 123456789012 --external-id ops-42
  pitrguard iam-policy drill --partition aws-us-gov`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: iampolicy.Commands,
		RunE: func(_ *cobra.Command, args []string) error {
			o.Command = args[0]
			if err := o.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return iamPolicyRun(f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.RoleName, "role-name", awsx.DefaultRoleName, "name of the role pitrguard assumes in member accounts")
	fl.StringVar(&o.TrustFor, "trust-for", "", "print the member role's trust policy for this caller account id")
	fl.StringVar(&o.ExternalID, "external-id", "", "external id the trust policy requires (with --trust-for)")
	fl.StringVar(&o.Partition, "partition", "aws", "AWS partition of every ARN printed: "+orList(iampolicy.Partitions))
	_ = cmd.RegisterFlagCompletionFunc("partition", cobra.FixedCompletions(iampolicy.Partitions, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (o *IAMPolicyOptions) validate() error {
	if !slices.Contains(iampolicy.Commands, o.Command) {
		return FlagErrorf("unknown command %q; use one of: %s", o.Command, strings.Join(iampolicy.Commands, ", "))
	}
	if err := iampolicy.CheckPartition(o.Partition); err != nil {
		return FlagErrorf("--partition: %v", err)
	}
	if o.TrustFor != "" && !config.IsAccountID(o.TrustFor) {
		return FlagErrorf("--trust-for %q is not a 12-digit account id", o.TrustFor)
	}
	if o.TrustFor == "" && o.ExternalID != "" {
		return FlagErrorf("--external-id goes with --trust-for (it belongs in the trust policy)")
	}
	return nil
}

func iamPolicyRun(f *Factory, o *IAMPolicyOptions) error {
	if o.TrustFor != "" {
		return report.WriteJSON(f.IO.Out, iampolicy.Trust(o.Partition, o.TrustFor, o.ExternalID))
	}
	doc, err := iampolicy.Policy(o.Command, o.RoleName, o.Partition)
	if err != nil {
		return FlagErrorf("%v", err)
	}
	return report.WriteJSON(f.IO.Out, doc)
}
