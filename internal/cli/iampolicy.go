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

func newIAMPolicyCmd(f *Factory) *cobra.Command {
	var roleName, trustFor, externalID, partition string
	cmd := &cobra.Command{
		Use:     "iam-policy audit|enable|restore|drill|all",
		GroupID: "audit",
		Short:   "Print the least-privilege IAM policy a command needs",
		Long: `iam-policy prints the IAM permissions policy a pitrguard command needs — in the
account you run it from and in the role it assumes in member accounts. With
--trust-for it prints instead the trust policy of that member-account role.`,
		Example: `  pitrguard iam-policy audit > audit-policy.json
  pitrguard iam-policy enable --role-name PitrguardRemediate
  pitrguard iam-policy audit --trust-for 123456789012 --external-id ops-42
  pitrguard iam-policy drill --partition aws-us-gov`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: iampolicy.Commands,
		RunE: func(_ *cobra.Command, args []string) error {
			if !slices.Contains(iampolicy.Commands, args[0]) {
				return FlagErrorf("unknown command %q; use one of: %s", args[0], strings.Join(iampolicy.Commands, ", "))
			}
			if err := iampolicy.CheckPartition(partition); err != nil {
				return FlagErrorf("--partition: %v", err)
			}
			if trustFor != "" {
				if !config.IsAccountID(trustFor) {
					return FlagErrorf("--trust-for %q is not a 12-digit account id", trustFor)
				}
				return report.WriteJSON(f.IO.Out, iampolicy.Trust(partition, trustFor, externalID))
			}
			if externalID != "" {
				return FlagErrorf("--external-id goes with --trust-for (it belongs in the trust policy)")
			}
			doc, err := iampolicy.Policy(args[0], roleName, partition)
			if err != nil {
				return FlagErrorf("%v", err)
			}
			return report.WriteJSON(f.IO.Out, doc)
		},
	}
	cmd.Flags().StringVar(&roleName, "role-name", awsx.DefaultRoleName, "name of the role pitrguard assumes in member accounts")
	cmd.Flags().StringVar(&trustFor, "trust-for", "", "print the member role's trust policy for this caller account id")
	cmd.Flags().StringVar(&externalID, "external-id", "", "external id the trust policy requires (with --trust-for)")
	cmd.Flags().StringVar(&partition, "partition", "aws", "AWS partition of every ARN printed: "+orList(iampolicy.Partitions))
	_ = cmd.RegisterFlagCompletionFunc("partition", cobra.FixedCompletions(iampolicy.Partitions, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
