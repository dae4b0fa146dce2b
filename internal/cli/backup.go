package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/backupplan"
	"github.com/pitrguard/pitrguard/internal/history"
	"github.com/pitrguard/pitrguard/internal/iampolicy"
	"github.com/pitrguard/pitrguard/internal/report"
)

// BackupPlanOptions are the flags of `pitrguard backup plan`.
type BackupPlanOptions struct {
	Tier       string
	Format     string
	Output     string
	ConfigFile string
	VaultLock  bool
	RoleARN    string
	Partition  string
	NoProof    bool
}

func newBackupCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "backup",
		GroupID: "prevent",
		Short:   "Generate AWS Backup plans for retention beyond PITR's 35 days",
		Long: `PITR keeps at most 35 days. A policy tier with a backup: block also requires
AWS Backup coverage, which 'pitrguard audit' checks. 'backup plan' writes the
AWS Backup plan, vault and selections that cover exactly a tier's tables.`,
	}
	cmd.AddCommand(newBackupPlanCmd(f, g, nil))
	return cmd
}

func newBackupPlanCmd(f *Factory, g *GlobalOptions, runF func(context.Context, *BackupPlanOptions) error) *cobra.Command {
	o := &BackupPlanOptions{}
	cmd := &cobra.Command{
		Use:   "plan --tier TIER",
		Short: "Write the AWS Backup plan, vault, role and selections of a tier, proved against the last audit",
		Long: `plan writes, for the tables of one policy tier, an AWS Backup plan whose rule
keeps recovery points min_retention_days (default 365) and runs often enough
for max_age_hours (26 → daily; 14 → every 12 hours), copies them to
copy_to_region / copy_to_account, a vault (locked in governance mode with
--vault-lock or require_vault_lock), the IAM role AWS Backup assumes (the
managed backup and restore policies, plus dynamodb:StartAwsBackupJob and
dynamodb:ListTagsOfResource that advanced DynamoDB backups need), and the
selections: by DynamoDB ARN pattern (so the region's opt-in does not apply)
and tag condition, one per tag value of the tier, excluding earlier tiers.
What the policy matches and a selection cannot say exactly is listed in gaps.

The selections are then proved, with the same evaluator the audit uses,
against the newest audit in the history (--db; a sharded audit's run group
counts as one audit): coverage lists the tier's tables they miss, the tables
of other tiers they include, and those that cannot be told.

--format json prints each part as the input of the AWS API call that creates
it (plan: CreateBackupPlan's BackupPlan; selections: CreateBackupSelection's
BackupSelection; vault; iam_role), with coverage. cloudformation and
terraform print a template that 'pitrguard iac scan' passes; the proof then
goes to stderr.

Exit codes: 0 the selections cover exactly the tier's tables; 3 they do not
(the plan is still written); 5 no audit is recorded (run 'pitrguard audit',
or pass --no-proof); 2 a bad tier, format or policy.`,
		Example: `  # JSON for the AWS CLI, proved against the last audit
  pitrguard backup plan --tier critical

  # A CloudFormation template with a locked vault
  pitrguard backup plan --tier critical --format cloudformation --vault-lock -o backup.yaml

  # Terraform using an existing backup role, without a proof
  pitrguard backup plan --tier critical -f terraform --role-arn arn:aws:iam::111111111111:role/backup --no-proof

  # Create it with the AWS CLI
  pitrguard backup plan --tier critical -o plan.json
  aws backup create-backup-plan --backup-plan "$(jq .plan plan.json)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return backupPlanRun(cmd.Context(), f, g, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Tier, "tier", "", "the policy tier whose tables the plan backs up (required)")
	_ = cmd.RegisterFlagCompletionFunc("tier", completeTiers)
	formatFlag(cmd, &o.Format, backupplan.Formats...)
	outputFlag(cmd, &o.Output, "the plan")
	fl.StringVar(&o.ConfigFile, "config", "", "policy file (default: ./pitrguard.yaml if present, else built-in defaults)")
	fl.BoolVar(&o.VaultLock, "vault-lock", false, "lock the vault (governance mode) with the rule's retention as its minimum")
	fl.StringVar(&o.RoleARN, "role-arn", "", "an existing IAM role for AWS Backup to assume (default: generate one)")
	fl.StringVar(&o.Partition, "partition", "aws", "AWS partition of every ARN: "+orList(iampolicy.Partitions))
	_ = cmd.RegisterFlagCompletionFunc("partition", cobra.FixedCompletions(iampolicy.Partitions, cobra.ShellCompDirectiveNoFileComp))
	fl.BoolVar(&o.NoProof, "no-proof", false, "write the plan without proving it against the last audit")
	// It reads the history (never writes it): --db only.
	fl.StringVar(&g.DBPath, "db", "", dbFlagUsage)
	return cmd
}

func (o *BackupPlanOptions) validate() error {
	if strings.TrimSpace(o.Tier) == "" {
		return FlagErrorf("--tier is required: name the policy tier whose tables the plan backs up, e.g. --tier critical")
	}
	if err := checkFormat(o.Format, backupplan.Formats...); err != nil {
		return err
	}
	if err := iampolicy.CheckPartition(o.Partition); err != nil {
		return FlagErrorf("--partition: %v", err)
	}
	if o.RoleARN != "" && (!strings.HasPrefix(o.RoleARN, "arn:") || !strings.Contains(o.RoleARN, ":role/")) {
		return FlagErrorf("--role-arn %q is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", o.RoleARN)
	}
	return checkOutputPath("output", o.Output)
}

func backupPlanRun(ctx context.Context, f *Factory, g *GlobalOptions, o *BackupPlanOptions) error {
	cfg, err := loadConfig(o.ConfigFile)
	if err != nil {
		return err
	}
	p, err := backupplan.Build(cfg, backupplan.Options{Tier: o.Tier, VaultLock: o.VaultLock, RoleARN: o.RoleARN, Partition: o.Partition})
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	var cov *backupplan.Coverage
	if !o.NoProof {
		a, err := newestAudit(ctx, f, g)
		if err != nil {
			return err
		}
		cov = p.Prove(a)
	}
	header := []string{fmt.Sprintf("pitrguard backup plan --tier %s: AWS Backup for the DynamoDB tables of tier %s", p.Tier, p.Tier)}
	for _, x := range append(append([]string{}, p.Gaps...), p.Notes...) {
		header = append(header, x)
	}
	if err := writeOutput(f, o.Output, func(w io.Writer) error {
		switch o.Format {
		case "cloudformation":
			b, err := p.CloudFormation(header)
			if err != nil {
				return err
			}
			_, err = w.Write(b)
			return err
		case "terraform":
			_, err := w.Write(p.Terraform(header))
			return err
		}
		return report.WriteJSON(w, p.Document(cov))
	}); err != nil {
		return err
	}
	if cov == nil {
		return nil
	}
	if o.Format != "json" || o.Output != "" {
		writeCoverage(f.IO.ErrOut, p.Tier, cov)
	}
	if !cov.Exact {
		return &ExitError{Code: ExitFindings, Err: fmt.Errorf("the selections do not cover exactly the tables of tier %s in audit %s: %d missed, %d wrongly included, %d unknown (see coverage; the plan was written)",
			p.Tier, auditName(cov.Audit), len(cov.Missed), len(cov.WronglyIncluded), len(cov.Unknown))}
	}
	return nil
}

// newestAudit is the newest recorded audit: its run group merged when it
// was sharded. None is exit 5.
func newestAudit(ctx context.Context, f *Factory, g *GlobalOptions) (*report.Audit, error) {
	db, err := openHistory(ctx, f, g)
	if err != nil {
		return nil, err
	}
	noAudit := &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no audit is recorded in the history database, so the plan cannot be proved: run `pitrguard audit` first (with the same --db), or pass --no-proof")}
	if db == nil {
		return nil, noAudit
	}
	defer closeStore(db)
	a, _, err := history.Latest(ctx, db)
	if errors.Is(err, history.ErrNoAudit) {
		return nil, noAudit
	}
	if err != nil {
		return nil, fmt.Errorf("read the newest audit from %s: %w", db.Path(), err)
	}
	return a, nil
}

func auditName(a backupplan.AuditRef) string {
	if a.RunGroup != "" {
		return "run group " + a.RunGroup
	}
	return fmt.Sprintf("run %d", a.RunID)
}

// writeCoverage prints the proof in a few lines (stderr, when stdout holds
// a template).
func writeCoverage(w io.Writer, tier string, c *backupplan.Coverage) {
	verdict := "exact"
	if !c.Exact {
		verdict = "NOT exact"
	}
	fmt.Fprintf(w, "Proof against audit %s (%s, %d tables): %d of %d tables of tier %s covered, %d wrongly included, %d unknown: %s\n",
		auditName(c.Audit), c.Audit.GeneratedAt.Format("2006-01-02T15:04:05Z07:00"), c.Audit.Tables, c.Covered, c.TablesInTier, tier,
		len(c.WronglyIncluded), len(c.Unknown), verdict)
	for _, l := range []struct {
		what string
		refs []backupplan.TableRef
	}{{"missed", c.Missed}, {"wrongly included", c.WronglyIncluded}, {"unknown", c.Unknown}} {
		for _, t := range l.refs {
			fmt.Fprintf(w, "  %s: %s/%s/%s (tier %s)", l.what, t.Account, t.Region, t.Name, t.Tier)
			if len(t.Why) > 0 {
				fmt.Fprintf(w, ": %s", strings.Join(t.Why, "; "))
			}
			fmt.Fprintln(w)
		}
	}
}
