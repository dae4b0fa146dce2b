package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/guardrails"
	"github.com/pitrguard/pitrguard/internal/guardrails/check"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

// defaultBreakGlassRole is the break-glass role the generated policies allow
// besides pitrguard's own role.
const defaultBreakGlassRole = "pitrguard-break-glass"

func newGuardrailsCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "guardrails <kind>",
		GroupID: "prevent",
		Short:   "Generate preventive controls (SCP/RCP, Config, Guard, Rego) and check which are in force",
		Long: `guardrails writes the controls that keep PITR on, each with a statement of what it
prevents and what it cannot, and audits the organization for which are in force.

IAM cannot require PITR at creation: CreateTable has no PITR parameter and DynamoDB
has no condition key for it. What a policy can do is reserve
dynamodb:UpdateContinuousBackups for pitrguard and named roles (scp, rcp); pipelines
close the creation gap (guard, rego); AWS Config and pitrguard's event handler
catch and correct what slips through (config).`,
		Example: `  pitrguard guardrails scp --allow-principal 'arn:aws:iam::*:role/pitrguard-*' > scp.json
  pitrguard guardrails rcp --protect-deletes --format terraform -o rcp.tf
  pitrguard guardrails config --format cloudformation -o pitr-config.yaml
  pitrguard guardrails guard --dir ./guard --min-recovery-days 14
  pitrguard guardrails rego -o policy/pitrguard.rego
  pitrguard guardrails check --org --regions us-east-1,eu-west-1 --format json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return FlagErrorf("unknown kind %q; use scp, rcp, config, guard, rego or check", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(newGuardrailsPolicyCmd(f, g, guardrails.SCP), newGuardrailsPolicyCmd(f, g, guardrails.RCP),
		newGuardrailsConfigCmd(f), newGuardrailsGuardCmd(f), newGuardrailsRegoCmd(f), newGuardrailsCheckCmd(f, g))
	return cmd
}

// principalOptions are the flags that name the principals the controls exempt.
type principalOptions struct {
	Allow      []string
	RoleName   string
	BreakGlass string
}

func addPrincipalFlags(cmd *cobra.Command, p *principalOptions) {
	fl := cmd.Flags()
	fl.StringSliceVar(&p.Allow, "allow-principal", nil, "aws:PrincipalArn patterns that keep the right to change PITR (repeatable; replaces the default of --role-name and --break-glass-role in every account)")
	fl.StringVar(&p.RoleName, "role-name", awsx.DefaultRoleName, "pitrguard's role in member accounts (allowed in every account)")
	fl.StringVar(&p.BreakGlass, "break-glass-role", defaultBreakGlassRole, "break-glass role allowed in every account")
}

// principals returns the allowed patterns, validated.
func (p principalOptions) principals(partition string) ([]string, error) {
	allow := p.Allow
	if len(allow) == 0 {
		if partition == "" {
			partition = "aws"
		}
		for _, r := range []string{p.RoleName, p.BreakGlass} {
			if r == "" {
				continue
			}
			if !roleNameRE.MatchString(r) {
				return nil, FlagErrorf("%q is not an IAM role name", r)
			}
			allow = append(allow, "arn:"+partition+":iam::*:role/"+r)
		}
	}
	var out []string
	for _, a := range allow {
		a = strings.TrimSpace(a)
		if err := guardrails.CheckPrincipal(a); err != nil {
			return nil, FlagErrorf("--allow-principal: %v", err)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, FlagErrorf("no allowed principal: name at least one with --allow-principal, or keep --role-name/--break-glass-role")
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

type guardrailsPolicyOptions struct {
	Principals     principalOptions
	ProtectDeletes bool
	ProtectTags    []string
	Targets        []string
	Format         string
	Output         string
	Partition      string
}

func newGuardrailsPolicyCmd(f *Factory, g *GlobalOptions, kind guardrails.Kind) *cobra.Command {
	o := &guardrailsPolicyOptions{}
	upper := strings.ToUpper(string(kind))
	long := fmt.Sprintf(`%s writes an %s that denies dynamodb:UpdateContinuousBackups to every principal
except the allowed ones (aws:PrincipalArn ArnNotLike), so nobody else can disable
PITR or change its window. --protect-deletes also denies deleting tables (and
their backups) tagged as the protected tier.

Before printing, the policy is validated: JSON grammar of the policy language,
at most %d characters without whitespace (AWS's quota; emulators do not check
it), every action a real DynamoDB or AWS Backup action, the %s's own
restrictions, and no statement that could deny the allowed principals.

JSON output has no room for comments: what the policy prevents and cannot
prevent goes to stderr, or next to --output as FILE.explain.txt. Terraform and
CloudFormation output carry it as a header comment, with the attachment.`, kind, upper, guardrails.MaxPolicyChars, upper)
	if kind == guardrails.RCP {
		long += `

An RCP needs "Principal": "*", supports only Deny (Allow is reserved for the
AWS-managed RCPFullAWSAccess), has no NotAction or NotPrincipal, and covers only
the services that support RCPs: DynamoDB is one, AWS Backup is not, so
backup:DeleteRecoveryPoint is left out.`
	}
	cmd := &cobra.Command{
		Use:   string(kind),
		Short: fmt.Sprintf("Write an %s that reserves UpdateContinuousBackups for pitrguard and named roles", upper),
		Long:  long,
		Example: fmt.Sprintf(`  pitrguard guardrails %[1]s --allow-principal 'arn:aws:iam::*:role/pitrguard-*'
  pitrguard guardrails %[1]s --protect-deletes --protect-tag tier=critical -o %[1]s.json
  pitrguard guardrails %[1]s --format terraform --attach-to ou-ab12-cdef3456 -o %[1]s.tf`, kind),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			po, err := o.validate(kind)
			if err != nil {
				return err
			}
			return guardrailsPolicyRun(f, g, o, po)
		},
	}
	addPrincipalFlags(cmd, &o.Principals)
	fl := cmd.Flags()
	fl.BoolVar(&o.ProtectDeletes, "protect-deletes", false, "also deny DeleteTable, DeleteBackup (and, in an SCP, backup:DeleteRecoveryPoint) on protected-tier resources")
	fl.StringArrayVar(&o.ProtectTags, "protect-tag", nil, "tag of the protected tier as key=value (repeatable; default: env, environment or stage = prod, production or prd)")
	fl.StringSliceVar(&o.Targets, "attach-to", nil, "root, OU or account ids to attach the policy to (terraform and cloudformation formats)")
	fl.StringVar(&o.Partition, "partition", "aws", "AWS partition of the default role ARNs (aws, aws-cn, aws-us-gov)")
	formatFlag(cmd, &o.Format, guardrails.Formats...)
	outputFlag(cmd, &o.Output, "the policy")
	return cmd
}

// validate checks the policy flags and turns them into the policy's options.
func (o *guardrailsPolicyOptions) validate(kind guardrails.Kind) (guardrails.PolicyOptions, error) {
	if err := checkFormat(o.Format, guardrails.Formats...); err != nil {
		return guardrails.PolicyOptions{}, err
	}
	if err := checkOutputPath("output", o.Output); err != nil {
		return guardrails.PolicyOptions{}, err
	}
	allow, err := o.Principals.principals(o.Partition)
	if err != nil {
		return guardrails.PolicyOptions{}, err
	}
	tags, err := o.protectTags()
	if err != nil {
		return guardrails.PolicyOptions{}, err
	}
	if err := checkAttachTargets(o.Targets); err != nil {
		return guardrails.PolicyOptions{}, err
	}
	return guardrails.PolicyOptions{Kind: kind, AllowPrincipals: allow, ProtectDeletes: o.ProtectDeletes, ProtectTags: tags}, nil
}

// protectTags reads --protect-tag, which only makes sense with --protect-deletes.
func (o *guardrailsPolicyOptions) protectTags() (map[string][]string, error) {
	tags, err := parseProtectTags(o.ProtectTags)
	if err != nil {
		return nil, err
	}
	if len(tags) > 0 && !o.ProtectDeletes {
		return nil, FlagErrorf("--protect-tag goes with --protect-deletes")
	}
	return tags, nil
}

// checkAttachTargets checks each --attach-to id.
func checkAttachTargets(targets []string) error {
	for _, t := range targets {
		if err := guardrails.CheckTarget(t); err != nil {
			return FlagErrorf("--attach-to: %v", err)
		}
	}
	return nil
}

// guardrailsPolicyRun generates, validates and writes the policy, then says
// what it does and how big it is.
func guardrailsPolicyRun(f *Factory, g *GlobalOptions, o *guardrailsPolicyOptions, po guardrails.PolicyOptions) error {
	_, raw, err := guardrails.Generate(po)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	out, err := guardrails.RenderPolicy(o.Format, po, raw, o.Targets)
	if err != nil {
		return err
	}
	if err := writeOutput(f, o.Output, func(w io.Writer) error { _, err := w.Write(out); return err }); err != nil {
		return err
	}
	if o.Format == "json" {
		if err := writePolicyExplanation(f, g, o.Output, po); err != nil {
			return err
		}
	}
	if !g.Quiet {
		min, _ := guardrails.Minify(raw)
		fmt.Fprintf(f.IO.ErrOut, "%s valid: %d of %d characters without whitespace\n", strings.ToUpper(string(po.Kind)), len(min), guardrails.MaxPolicyChars)
	}
	return nil
}

// writePolicyExplanation gives a JSON policy its explanation: next to
// --output as FILE.explain.txt, or on stderr.
func writePolicyExplanation(f *Factory, g *GlobalOptions, output string, po guardrails.PolicyOptions) error {
	exp := guardrails.ExplainPolicy(po).Text("")
	if output == "" {
		if !g.Quiet {
			fmt.Fprint(f.IO.ErrOut, exp)
		}
		return nil
	}
	side := output + ".explain.txt"
	if err := writeOutput(f, side, func(w io.Writer) error { _, err := io.WriteString(w, exp); return err }); err != nil {
		return err
	}
	if !g.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "Wrote %s and what it does and does not prevent to %s\n", output, side)
	}
	return nil
}

func parseProtectTags(in []string) (map[string][]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" || len(k) > 128 || len(v) > 256 {
			return nil, FlagErrorf("--protect-tag %q: use key=value, e.g. --protect-tag tier=critical", kv)
		}
		if !slices.Contains(out[k], v) {
			out[k] = append(out[k], v)
		}
	}
	return out, nil
}

func newGuardrailsConfigCmd(f *Factory) *cobra.Command {
	o := guardrails.ConfigOptions{}
	var format, output string
	var excluded []string
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write an organization Config rule DYNAMODB_PITR_ENABLED with automatic remediation",
		Long: `config writes an organization conformance pack with the AWS managed rule
DYNAMODB_PITR_ENABLED and automatic remediation through
AWSConfigRemediation-EnablePITRForDynamoDbTable (TableName from RESOURCE_ID,
AutomationAssumeRole from --remediation-role-name in each account), plus that role.

Read its header: the runbook always sets 35 days, the rule never checks the
window, and a brand-new table can outlast every retry. pitrguard's event handler
is the better corrective where tiers need another window, exemptions must hold
or new tables must be waited for; keep this rule as the independent detector.`,
		Example: `  pitrguard guardrails config --format cloudformation -o pitr-config.yaml
  pitrguard guardrails config --format terraform --exclude-accounts 111111111111 -o pitr-config.tf`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := checkFormat(format, "cloudformation", "terraform"); err != nil {
				return err
			}
			if err := checkOutputPath("output", output); err != nil {
				return err
			}
			if !roleNameRE.MatchString(o.RemediationRoleName) || strings.Contains(o.RemediationRoleName, "/") {
				return FlagErrorf("--remediation-role-name %q is not an IAM role name", o.RemediationRoleName)
			}
			if o.MaxAttempts < 1 || o.MaxAttempts > 25 {
				return FlagErrorf("--remediation-attempts must be between 1 and 25 (AWS Config's limit), got %d", o.MaxAttempts)
			}
			if o.RetrySeconds < 1 || o.RetrySeconds > 2678000 {
				return FlagErrorf("--retry-seconds must be between 1 and 2678000, got %d", o.RetrySeconds)
			}
			for _, a := range excluded {
				if !config.IsAccountID(a) {
					return FlagErrorf("--exclude-accounts: %q is not a 12-digit account id", a)
				}
			}
			o.ExcludedAccounts = excluded
			out, err := guardrails.RenderConfig(format, o)
			if err != nil {
				return err
			}
			return writeOutput(f, output, func(w io.Writer) error { _, err := w.Write(out); return err })
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.RemediationRoleName, "remediation-role-name", "pitrguard-config-remediation", "role SSM Automation assumes in each account (AutomationAssumeRole); add it to your SCP's allowed principals")
	fl.IntVar(&o.MaxAttempts, "remediation-attempts", 5, "automatic remediation attempts (MaximumAutomaticAttempts)")
	fl.IntVar(&o.RetrySeconds, "retry-seconds", 600, "window for those attempts (RetryAttemptSeconds)")
	fl.StringSliceVar(&excluded, "exclude-accounts", nil, "accounts the conformance pack leaves out")
	formatFlag(cmd, &format, "cloudformation", "terraform")
	outputFlag(cmd, &output, "the template")
	return cmd
}

type guardrailsGuardOptions struct {
	Guard  guardrails.GuardOptions
	Output string
	Dir    string
	Tests  bool
	Hook   bool
}

// The files guard writes, and the one each flag picks.
const (
	guardRulesFile = "pitrguard.guard"
	guardTestsFile = "pitrguard_tests.yaml"
	guardHookFile  = "guard-hook.yaml"
)

func newGuardrailsGuardCmd(f *Factory) *cobra.Command {
	o := &guardrailsGuardOptions{}
	cmd := &cobra.Command{
		Use:   "guard",
		Short: "Write CloudFormation Guard rules, their unit tests and a Guard hook template",
		Long: `guard writes CloudFormation Guard 3 rules stricter than Control Tower's
CT.DYNAMODB.PR.1: PITR on every AWS::DynamoDB::Table and on every Replicas[i] of
AWS::DynamoDB::GlobalTable, SAM AWS::Serverless::SimpleTable flagged, and
RecoveryPeriodInDays against the tier minimum. --tests prints the rules' unit-test
file (cfn-guard test format), --hook an AWS::CloudFormation::GuardHook template
that enforces them on every stack operation; --dir writes all three.`,
		Example: `  pitrguard guardrails guard > pitrguard.guard
  pitrguard guardrails guard --dir ./guard --min-recovery-days 14 --rules-uri s3://my-bucket/pitrguard.guard
  cfn-guard test -r guard/pitrguard.guard -t guard/pitrguard_tests.yaml`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return guardrailsGuardRun(f, o)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.Guard.MinRecoveryDays, "min-recovery-days", 1, "tier minimum for RecoveryPeriodInDays (the built-in critical tier uses 35)")
	fl.StringVar(&o.Guard.RulesS3URI, "rules-uri", "s3://YOUR-BUCKET/pitrguard.guard", "S3 location of the rules, for the hook template")
	fl.StringVar(&o.Guard.FailureMode, "failure-mode", "FAIL", "hook failure mode: FAIL blocks the operation, WARN reports")
	fl.StringVar(&o.Guard.ExecutionRoleName, "hook-role-name", "pitrguard-guard-hook", "role the hook assumes to read the rules")
	fl.BoolVar(&o.Tests, "tests", false, "print the rules' unit-test file instead of the rules")
	fl.BoolVar(&o.Hook, "hook", false, "print the AWS::CloudFormation::GuardHook template instead of the rules")
	fl.StringVar(&o.Dir, "dir", "", "write pitrguard.guard, pitrguard_tests.yaml and guard-hook.yaml into this directory")
	outputFlag(cmd, &o.Output, "the file")
	return cmd
}

// validate checks the rule settings, then which files are asked for.
func (o *guardrailsGuardOptions) validate() error {
	if err := o.validateRules(); err != nil {
		return err
	}
	return o.validateFiles()
}

func (o *guardrailsGuardOptions) validateRules() error {
	g := o.Guard
	if g.MinRecoveryDays < 1 || g.MinRecoveryDays > 35 {
		return FlagErrorf("--min-recovery-days must be between 1 and 35, got %d", g.MinRecoveryDays)
	}
	if g.FailureMode != "FAIL" && g.FailureMode != "WARN" {
		return FlagErrorf("--failure-mode must be FAIL or WARN, got %q", g.FailureMode)
	}
	if !strings.HasPrefix(g.RulesS3URI, "s3://") || len(g.RulesS3URI) < 8 {
		return FlagErrorf("--rules-uri must be an s3:// URI, got %q", g.RulesS3URI)
	}
	return nil
}

func (o *guardrailsGuardOptions) validateFiles() error {
	if o.Tests && o.Hook {
		return FlagErrorf("--tests and --hook print different files; pick one, or use --dir for all")
	}
	if o.Dir != "" && (o.Output != "" || o.Tests || o.Hook) {
		return FlagErrorf("--dir writes every file; drop --output, --tests and --hook")
	}
	return nil
}

// pick is the one file --tests, --hook or neither asks for.
func (o *guardrailsGuardOptions) pick() string {
	switch {
	case o.Tests:
		return guardTestsFile
	case o.Hook:
		return guardHookFile
	}
	return guardRulesFile
}

// guardrailsGuardRun renders the rules, their tests and the hook template and
// writes all three into --dir, or the one picked to --output or stdout.
func guardrailsGuardRun(f *Factory, o *guardrailsGuardOptions) error {
	testFile, err := guardrails.GuardTests(o.Guard)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		guardRulesFile: []byte(guardrails.GuardRules(o.Guard)),
		guardTestsFile: testFile,
		guardHookFile:  []byte(guardrails.GuardHookTemplate(o.Guard)),
	}
	if o.Dir != "" {
		return writeGuardDir(f, o.Dir, files)
	}
	if err := checkOutputPath("output", o.Output); err != nil {
		return err
	}
	pick := files[o.pick()]
	return writeOutput(f, o.Output, func(w io.Writer) error { _, err := w.Write(pick); return err })
}

// writeGuardDir writes every file into dir, which must exist.
func writeGuardDir(f *Factory, dir string, files map[string][]byte) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return FlagErrorf("--dir %s is not an existing directory; create it first", dir)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := writeOutput(f, filepath.Join(dir, name), func(w io.Writer) error { _, err := w.Write(files[name]); return err }); err != nil {
			return err
		}
	}
	return nil
}

func newGuardrailsRegoCmd(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "rego",
		Short: "Write the OPA/Rego policy for Terraform plan JSON",
		Long: `rego writes an OPA/Rego (v1 syntax) policy, package pitrguard.dynamodb, for
terraform show -json output, usable with OPA and conftest. It judges every
aws_dynamodb_table (root and child modules), every replica {} block and every
aws_dynamodb_table_replica exactly as pitrguard iac scan does, with the
recovery-window rule from data.pitrguard.min_recovery_days.`,
		Example: `  pitrguard guardrails rego -o policy/pitrguard.rego
  terraform show -json plan.out > plan.json
  opa eval -d policy/pitrguard.rego -i plan.json 'data.pitrguard.dynamodb.deny'
  conftest test --policy policy --namespace pitrguard.dynamodb plan.json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := checkOutputPath("output", output); err != nil {
				return err
			}
			return writeOutput(f, output, func(w io.Writer) error { _, err := io.WriteString(w, guardrails.Rego); return err })
		},
	}
	outputFlag(cmd, &output, "the policy")
	return cmd
}

type guardrailsCheckOptions struct {
	Target       TargetOptions
	Allow        []string
	Format       string
	Output       string
	FailOn       []string
	AllowPartial bool
	Args         []string
}

func newGuardrailsCheckCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	o := &guardrailsCheckOptions{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Report, per account, which guardrails are in force (prevent, detect, correct, trail)",
		Long: `check reads, for every account and region in scope, which controls are in force:

  prevent  an SCP or RCP on the root, an OU on the account's path or the account
           whose text denies dynamodb:UpdateContinuousBackups on every table to
           all but a few named principals (the text is analysed; names mean
           nothing). A deny narrowed by another condition, limited to some
           tables, or exempting patterns that match ordinary roles (or, with
           --allow-principal, anything outside those patterns) does not count.
           not_applicable for the management account: SCPs never govern it.
  detect   in every region: Config rule DYNAMODB_PITR_ENABLED with a recording
           configuration recorder, or pitrguard's event handler
  correct  in every region: that rule's automatic remediation with
           AWSConfigRemediation-EnablePITRForDynamoDbTable, or the handler
  trail    an organization (or account) CloudTrail trail logging management
           events in every region

pitrguard's event handler is present in a region when an ENABLED EventBridge
rule on the default bus matches source aws.dynamodb with eventName
UpdateContinuousBackups or CreateTable and targets a Lambda function that exists;
a rule that only forwards to another bus is unknown (the handler behind it is
not checked).

Each control is yes, no, unknown (could not be read; the reason says why) or
not_applicable. The guardrail coverage is accounts with all four / all accounts.
Each run is recorded in the history database. It only reads.`,
		Example: `  pitrguard guardrails check --org --regions us-east-1,eu-west-1
  pitrguard guardrails check --org --format json --output guardrails.json --fail-on missing
  pitrguard guardrails check --org --allow-principal 'arn:aws:iam::*:role/pitrguard-*'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Args = append([]string{"pitrguard"}, f.args...)
			if !cmd.Flags().Changed("regions") && g.Region != "" {
				o.Target.Regions = []string{g.Region} // docs/conventions.md: --region without --regions scopes the check
			}
			if err := checkFormat(o.Format, "table", "json"); err != nil {
				return err
			}
			if err := checkOutputPath("output", o.Output); err != nil {
				return err
			}
			for _, v := range o.FailOn {
				if v = strings.ToLower(strings.TrimSpace(v)); v != "missing" && v != "unknown" {
					return FlagErrorf("--fail-on %q is not supported; use missing, unknown, or both separated by a comma", v)
				}
			}
			if _, err := o.Target.validate(); err != nil {
				return err
			}
			for _, a := range o.Allow {
				if err := guardrails.CheckPrincipal(strings.TrimSpace(a)); err != nil {
					return FlagErrorf("--allow-principal: %v", err)
				}
			}
			return guardrailsCheckRun(cmd.Context(), f, g, o)
		},
	}
	addTargetFlags(cmd, &o.Target)
	_ = cmd.Flags().MarkHidden("price-file")
	_ = cmd.Flags().MarkHidden("config")
	fl := cmd.Flags()
	fl.StringSliceVar(&o.Allow, "allow-principal", nil, "the principal patterns your SCP/RCP may exempt; an exemption outside them counts as weakening (default: any exemption that does not match ordinary roles or users)")
	fl.StringSliceVar(&o.FailOn, "fail-on", nil, "exit 3 when an account lacks a control (missing) or a control could not be read (unknown)")
	fl.BoolVar(&o.AllowPartial, "allow-partial", false, "exit 0 even when some accounts or regions could not be checked")
	formatFlag(cmd, &o.Format, "table", "json")
	outputFlag(cmd, &o.Output, "the report")
	return cmd
}

func guardrailsCheckRun(ctx context.Context, f *Factory, g *GlobalOptions, o *guardrailsCheckOptions) error {
	scope, _ := o.Target.validate()
	db, err := f.openStore(ctx, g)
	if err != nil {
		return err
	}
	defer closeStore(db)
	p, err := f.awsProvider(ctx, g, &o.Target)
	if err != nil {
		return err
	}
	runID, err := beginGuardrailsRun(ctx, db, p, o, f.Now())
	if err != nil {
		return err
	}
	if f.IO.IsStderrTTY() && !g.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "Checking guardrails of %s as %s\n", describeScope(scope), p.Caller().ARN)
	}
	rep := check.Run(ctx, p, check.Params{Scope: scope, Allow: trimAll(o.Allow)})
	if db != nil {
		if err := recordGuardrails(context.WithoutCancel(ctx), db, runID, rep, ctx.Err() != nil, f); err != nil {
			fmt.Fprintf(f.IO.ErrOut, "warning: could not record the run in %s: %v\n", db.Path(), err)
		}
	}
	if err := writeGuardrailsReport(f, o, rep); err != nil {
		return err
	}
	if !g.Quiet && (o.Format == "table" || o.Output != "") {
		writeGuardrailsCoverage(f.IO.ErrOut, rep.Summary)
	}
	return guardrailsCheckExit(ctx, o, rep)
}

// beginGuardrailsRun opens the run in the history (0 without a store).
func beginGuardrailsRun(ctx context.Context, db store.Store, p *awsx.Provider, o *guardrailsCheckOptions, now time.Time) (int64, error) {
	if db == nil {
		return 0, nil
	}
	return db.BeginRun(ctx, "guardrails", p.Caller().ARN, store.Argv(o.Args), now)
}

// trimAll is vs with the spaces around each value removed.
func trimAll(vs []string) []string {
	var out []string
	for _, v := range vs {
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

// writeGuardrailsReport writes the report in --format to --output or stdout.
func writeGuardrailsReport(f *Factory, o *guardrailsCheckOptions, rep *check.Report) error {
	return writeOutput(f, o.Output, func(w io.Writer) error {
		if o.Format == "json" {
			return report.WriteJSON(w, rep)
		}
		return writeGuardrailsTable(w, f, o.Output != "", rep)
	})
}

// writeGuardrailsCoverage prints the coverage KPI line.
func writeGuardrailsCoverage(w io.Writer, s check.Summary) {
	fmt.Fprintf(w, "Guardrail coverage: %.1f%% (%d of %d accounts fully guarded; prevent %d, detect %d, correct %d, trail %d; %d with unknowns)\n",
		s.Coverage*100, s.FullyGuarded, s.Accounts, s.Prevent, s.Detect, s.Correct, s.Trail, s.Unknown)
}

// guardrailsFailOn maps each --fail-on value to the control status it fails on.
var guardrailsFailOn = map[string]check.Status{"missing": check.No, "unknown": check.Unknown}

// guardrailsCheckExit is the check's exit: interrupted (130), incomplete
// without --allow-partial (1), then a control matching --fail-on (3).
func guardrailsCheckExit(ctx context.Context, o *guardrailsCheckOptions, rep *check.Report) error {
	if ctx.Err() != nil {
		return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted")}
	}
	if !rep.Summary.Complete && !o.AllowPartial {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("coverage incomplete: %d account(s)/region(s) could not be checked (see errors); pass --allow-partial to exit 0 anyway", len(rep.Errors))}
	}
	for _, v := range o.FailOn {
		if st, ok := guardrailsFailOn[strings.ToLower(strings.TrimSpace(v))]; ok && rep.AnyAccountHas(st) {
			return &ExitError{Code: ExitFindings}
		}
	}
	return nil
}

func recordGuardrails(ctx context.Context, db store.Store, runID int64, rep *check.Report, interrupted bool, f *Factory) error {
	recs := make([]store.GuardrailCheck, 0, len(rep.Accounts))
	for _, a := range rep.Accounts {
		d, err := json.Marshal(a.Details)
		if err != nil {
			return err
		}
		recs = append(recs, store.GuardrailCheck{Account: a.Account, Management: a.Management, Prevent: string(a.Prevent),
			Detect: string(a.Detect), Correct: string(a.Correct), Trail: string(a.Trail), Details: d})
	}
	if err := db.AddGuardrailChecks(ctx, runID, recs); err != nil {
		return err
	}
	status := "completed"
	if interrupted {
		status = "interrupted"
	}
	return db.FinishRun(ctx, runID, status, rep.Summary.Complete, rep.Summary, rep.Errors, f.Now())
}

func writeGuardrailsTable(w io.Writer, f *Factory, toFile bool, rep *check.Report) error {
	rows := make([][]string, 0, len(rep.Accounts))
	for _, a := range rep.Accounts {
		path := strings.Join(a.OUPath, "/")
		if path == "" {
			path = "-"
		}
		var why []string
		for _, d := range a.Details {
			if d.Status == check.No || d.Status == check.Unknown {
				where := d.Control
				if d.Region != "" {
					where += "@" + d.Region
				}
				why = append(why, where+": "+d.Reason)
			}
		}
		note := "-"
		if len(why) > 0 {
			note = why[0]
			if len(why) > 1 {
				note += fmt.Sprintf(" (+%d more; see --format json)", len(why)-1)
			}
		}
		rows = append(rows, []string{a.Account, path, string(a.Prevent), string(a.Detect), string(a.Correct), string(a.Trail), note})
	}
	tty := f.IO.IsStdoutTTY() && !toFile
	if err := report.Table(w, report.Style{Aligned: tty}, []string{"ACCOUNT", "OU PATH", "PREVENT", "DETECT", "CORRECT", "TRAIL", "FIRST GAP"}, rows); err != nil {
		return err
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(f.IO.ErrOut, "error: %s %s %s: %s\n", e.Account, e.Region, e.Code, e.Message)
	}
	return nil
}

// guardrailsHistoryCell renders a guardrails run's coverage KPI for `history`.
func guardrailsHistoryCell(summary json.RawMessage) string {
	var s check.Summary
	if json.Unmarshal(summary, &s) != nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%% guarded (%d/%d accounts)", s.Coverage*100, s.FullyGuarded, s.Accounts)
}
