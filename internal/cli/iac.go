package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/iac"
	"github.com/pitrguard/pitrguard/internal/iacscan"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
)

type iacOptions struct {
	Vars        []string
	VarFiles    []string
	Params      []string
	ParamsFile  string
	MinDays     int
	ConfigFile  string
	Tier        string
	Format      string
	Output      string
	FailOn      []string
	DryRun      bool
	MaxFileSize string
}

// iacFailOn are the --fail-on values of iac scan (docs/conventions.md).
var iacFailOn = []string{"non-compliant", "unknown", "conditional"}

func newIACCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "iac",
		GroupID: "prevent",
		Short:   "Scan and fix Terraform, CloudFormation, SAM, CDK output and plans for PITR",
		Long: `iac checks infrastructure code for DynamoDB point-in-time recovery: Terraform
(aws_dynamodb_table and each replica {} block, aws_dynamodb_table_replica;
.tf and .tf.json, override files, variables, tfvars, locals, count, for_each,
dynamic blocks, local modules (with count and for_each) and registry modules
in .terraform/modules), Terraform plan JSON, CloudFormation and SAM (Table,
GlobalTable replicas, SimpleTable; parameters, Mappings, Conditions, Fn::If,
Fn::FindInMap, Fn::Select, Fn::Sub, Fn::Join, AWS::NoValue), CDK output
(cdk.out/*.template.json) and the resources of serverless.yml.

Each table and replica is judged by the same policy as the audit (tiers,
exemptions, require_pitr, min_recovery_days; --config, else ./pitrguard.yaml,
else the built-in defaults), tiered by its literal name and tags. The account
and, for most tables, the region are those it is deployed to, so a tier or
exemption that reads them (or a name or tag that is an unresolved expression)
makes the verdict UNKNOWN when it would change it. Unresolvable values are
UNKNOWN with the deciding input; values that differ by input are CONDITIONAL,
saying which.

Only regular files are read, each up to --max-file-size; a symbolic link is
followed only when its target is inside a scanned path, so a scan of an
untrusted pull request stays bounded.`,
	}
	cmd.AddCommand(newIACScanCmd(f), newIACFixCmd(f))
	return cmd
}

func addIACFlags(cmd *cobra.Command, o *iacOptions) {
	fl := cmd.Flags()
	fl.StringArrayVar(&o.Vars, "var", nil, "Terraform variable, k=v (repeatable)")
	fl.StringArrayVar(&o.VarFiles, "var-file", nil, "Terraform .tfvars file (repeatable; terraform.tfvars and *.auto.tfvars are read anyway)")
	fl.StringArrayVar(&o.Params, "param", nil, "CloudFormation parameter, k=v (repeatable; overrides Default)")
	fl.StringVar(&o.ParamsFile, "params-file", "", "CloudFormation parameters JSON file")
	fl.IntVar(&o.MinDays, "min-recovery-days", 0, "also fail recovery windows shorter than this (1–35), on top of the policy's tiers")
	fl.StringVar(&o.ConfigFile, "config", "", "policy file (default: ./pitrguard.yaml if present, else built-in defaults)")
	fl.StringVar(&o.MaxFileSize, "max-file-size", iac.FormatSize(iac.DefaultMaxFileBytes), "largest file read (e.g. 10MB, 512KB); a larger file is reported, not read")
}

// build turns the flags into scan options; bad input is a usage error (2).
func (o *iacOptions) build(f *Factory) (iacscan.Options, *config.Config, error) {
	so := iacscan.Options{Vars: map[string]string{}, Params: map[string]string{}, VarFiles: o.VarFiles, Now: f.Now(), Env: tfVarEnv(os.Environ())}
	if wd, err := os.Getwd(); err == nil {
		so.Base = wd
	}
	max, err := iac.ParseSize(o.MaxFileSize)
	if err != nil {
		return so, nil, FlagErrorf("--max-file-size %v", err)
	}
	so.MaxFileBytes = max
	// Explicit files are checked before anything is read: a FIFO or a device
	// would block or never end (issue 16 #2).
	explicit := iac.Limits{MaxBytes: max, Roots: []string{string(filepath.Separator)}}
	if err := o.buildInputs(&so, explicit); err != nil {
		return so, nil, err
	}
	if o.MinDays < 0 || o.MinDays > 35 {
		return so, nil, FlagErrorf("--min-recovery-days must be 1 to 35")
	}
	so.Rules.MinRecoveryDays = o.MinDays
	if err := o.checkPolicyFile(explicit); err != nil {
		return so, nil, err
	}
	cfg, err := loadConfig(o.ConfigFile)
	if err != nil {
		return so, nil, err
	}
	so.Rules.Policy = policy.New(cfg, f.Now())
	return so, cfg, nil
}

// tfVarEnv collects TF_VAR_name variables: Terraform reads them before any
// tfvars file, and so does the scan.
func tfVarEnv(environ []string) map[string]string {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "TF_VAR_") && len(k) > len("TF_VAR_") {
			env[strings.TrimPrefix(k, "TF_VAR_")] = v
		}
	}
	return env
}

// buildInputs reads --var, --params-file, --param and checks each --var-file,
// in that order, into so.
func (o *iacOptions) buildInputs(so *iacscan.Options, explicit iac.Limits) error {
	if err := parseKVInto(so.Vars, o.Vars, "--var %q: write it as name=value"); err != nil {
		return err
	}
	if o.ParamsFile != "" {
		if err := explicit.CheckFile(o.ParamsFile); err != nil {
			return FlagErrorf("--params-file %v", err)
		}
		ps, err := iacscan.LoadParams(o.ParamsFile, explicit.MaxBytes)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
		so.Params = ps
	}
	if err := parseKVInto(so.Params, o.Params, "--param %q: write it as Name=value"); err != nil {
		return err
	}
	for _, vf := range o.VarFiles {
		if err := explicit.CheckFile(vf); err != nil {
			return FlagErrorf("--var-file %v", err)
		}
	}
	return nil
}

// parseKVInto adds each name=value of kvs to dst; a pair without a name is a
// usage error worded by msg (which takes the pair).
func parseKVInto(dst map[string]string, kvs []string, msg string) error {
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return FlagErrorf(msg, kv)
		}
		dst[k] = v
	}
	return nil
}

// checkPolicyFile vets the policy file before it is read: the --config given,
// or the default file when it exists.
func (o *iacOptions) checkPolicyFile(explicit iac.Limits) error {
	policyFile := o.ConfigFile
	if policyFile == "" {
		policyFile = config.DefaultFile
	}
	if _, err := os.Lstat(policyFile); err == nil || o.ConfigFile != "" {
		if err := explicit.CheckFile(policyFile); err != nil {
			return FlagErrorf("--config %v", err)
		}
	}
	return nil
}

func newIACScanCmd(f *Factory) *cobra.Command {
	o := &iacOptions{}
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Report the PITR verdict of every DynamoDB table and replica in IaC files",
		Long: `scan reports one verdict per table and replica: PASS, FAIL, EXEMPT (a policy
exemption), UNKNOWN, CONDITIONAL (differs by input), NOT_APPLICABLE (not
created) or SUPPRESSED (an in-file directive), with the policy tier.

Exit codes: 0 nothing matched --fail-on; 3 a finding matched --fail-on
(default non-compliant: any FAIL); 2 bad flags, or a file that could not be
read or parsed (the others are still reported); 5 no IaC file under the
paths, or no finding in the --tier given; 130 interrupted.`,
		Example: `  pitrguard iac scan .
  pitrguard iac scan infra/ --var-file prod.tfvars --format sarif --output pitrguard.sarif
  pitrguard iac scan template.yaml --param Env=prod --fail-on non-compliant,unknown
  pitrguard iac scan cdk.out/ plan.json --config pitrguard.yaml --tier critical

Suppress a finding with a reason (and optionally an end date):
  # pitrguard:ignore rebuilt nightly from S3 until=2027-03-31
Peers' directives are honoured too (checkov CKV_AWS_28/165, trivy/tfsec
AVD-AWS-0024, kics-scan ignore-block, cfn_nag W78, cfn-guard DYNAMODB_PITR_ENABLED).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, paths []string) error {
			return iacScanRun(c.Context(), f, o, paths)
		},
	}
	addIACFlags(cmd, o)
	formatFlag(cmd, &o.Format, iacscan.Formats...)
	outputFlag(cmd, &o.Output, "the report")
	cmd.Flags().StringSliceVar(&o.FailOn, "fail-on", []string{"non-compliant"}, "exit 3 when findings have these verdicts: non-compliant (alias fail), unknown (UNKNOWN and CONDITIONAL), conditional (comma-separated)")
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions(iacFailOn, cobra.ShellCompDirectiveNoFileComp))
	cmd.Flags().StringVar(&o.Tier, "tier", "", "report only the tables and replicas of this policy tier (exit 5 when there is none)")
	return cmd
}

// iacScanRun validates the scan flags, scans paths, writes the report and
// turns the findings into the exit code.
func iacScanRun(ctx context.Context, f *Factory, o *iacOptions, paths []string) error {
	fail, so, err := o.validateScan(f)
	if err != nil {
		return err
	}
	r := iacscan.ScanContext(ctx, paths, so)
	if r.Interrupted {
		return &ExitError{Code: ExitInterrupted, Err: errors.New("interrupted: the scan did not finish")}
	}
	if r.Scanned == 0 && len(r.Errors) == 0 {
		return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no Terraform, CloudFormation, SAM, CDK output, serverless.yml or plan file under %s: nothing to scan", strings.Join(paths, ", "))}
	}
	if o.Tier != "" {
		r.KeepTier(o.Tier)
	}
	if err := writeOutput(f, o.Output, func(w io.Writer) error { return writeIAC(f, w, o.Format, o.Output != "", r) }); err != nil {
		return err
	}
	writeIACDiagnostics(f, o.Format, r)
	return iacScanExit(o.Tier, fail, r)
}

// validateScan checks the scan-only flags (format, --fail-on, --output,
// --tier) around the shared ones, in the order users see their errors.
func (o *iacOptions) validateScan(f *Factory) (map[string]bool, iacscan.Options, error) {
	if o.Format == "text" {
		fmt.Fprintln(f.IO.ErrOut, "warning: --format text is deprecated; use --format table")
		o.Format = "table"
	}
	if err := checkFormat(o.Format, iacscan.Formats...); err != nil {
		return nil, iacscan.Options{}, err
	}
	fail, err := parseIACFailOn(o.FailOn)
	if err != nil {
		return nil, iacscan.Options{}, err
	}
	if err := checkOutputPath("output", o.Output); err != nil {
		return nil, iacscan.Options{}, err
	}
	so, cfg, err := o.build(f)
	if err != nil {
		return nil, so, err
	}
	if o.Tier != "" && !hasTier(cfg, o.Tier) {
		return nil, so, FlagErrorf("--tier %q is not a tier of %s (tiers: %s)", o.Tier, cfg.Source, strings.Join(tierNames(cfg), ", "))
	}
	return fail, so, nil
}

// writeIACDiagnostics prints the unreadable files and, for the table format,
// the verdict counts to stderr.
func writeIACDiagnostics(f *Factory, format string, r *iacscan.Report) {
	for _, e := range r.Errors {
		fmt.Fprintf(f.IO.ErrOut, "error: %s:%d: %s\n", e.File, e.Line, e.Message)
	}
	if format == "table" {
		s := r.Summary
		fmt.Fprintf(f.IO.ErrOut, "\n%d pass, %d fail, %d exempt, %d unknown, %d conditional, %d not applicable, %d suppressed, %d info\n",
			s.Pass, s.Fail, s.Exempt, s.Unknown, s.Conditional, s.NotApplicable, s.Suppressed, s.Info)
	}
}

// iacScanExit is the scan's exit: unreadable files (2), an empty --tier (5),
// then findings matching --fail-on (3).
func iacScanExit(tier string, fail map[string]bool, r *iacscan.Report) error {
	s := r.Summary
	switch {
	case len(r.Errors) > 0:
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d file(s) could not be read or parsed (the others were scanned)", len(r.Errors))}
	case tier != "" && len(r.Findings) == 0:
		return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no table or replica is in tier %q", tier)}
	case iacFailOnMatches(fail, s):
		return &ExitError{Code: ExitFindings}
	}
	return nil
}

// iacFailOnMatches reports whether the summary has a verdict --fail-on names.
func iacFailOnMatches(fail map[string]bool, s iacscan.Summary) bool {
	return (fail["non-compliant"] && s.Fail > 0) || (fail["unknown"] && s.Unknown+s.Conditional > 0) || (fail["conditional"] && s.Conditional > 0)
}

// parseIACFailOn reads --fail-on: non-compliant (or its IaC alias fail),
// unknown (UNKNOWN and CONDITIONAL, as before) and conditional.
func parseIACFailOn(vs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, v := range vs {
		v = strings.ToLower(strings.TrimSpace(v))
		if v == "fail" {
			v = "non-compliant"
		}
		if !slices.Contains(iacFailOn, v) {
			return nil, FlagErrorf("--fail-on %q is not supported; use %s (comma-separated)", v, orList(iacFailOn))
		}
		out[v] = true
	}
	return out, nil
}

func hasTier(cfg *config.Config, name string) bool {
	return slices.ContainsFunc(tierNames(cfg), func(n string) bool { return strings.EqualFold(n, name) })
}

func tierNames(cfg *config.Config) []string {
	var out []string
	for _, t := range cfg.Tiers {
		out = append(out, t.Name)
	}
	if !slices.ContainsFunc(out, func(n string) bool { return strings.EqualFold(n, cfg.DefaultTier) }) {
		out = append(out, cfg.DefaultTier)
	}
	return out
}

func writeIAC(f *Factory, w io.Writer, format string, toFile bool, r *iacscan.Report) error {
	switch format {
	case "json":
		return report.WriteJSON(w, r)
	case "sarif":
		return iacscan.WriteSARIF(w, Version, r)
	case "junit":
		return iacscan.WriteJUnit(w, r)
	}
	return iacscan.WriteText(w, f.IO.IsStdoutTTY() && !toFile, r)
}

func newIACFixCmd(f *Factory) *cobra.Command {
	o := &iacOptions{}
	cmd := &cobra.Command{
		Use:   "fix PATH...",
		Short: "Make the minimal edit that turns each failing table or replica into a pass",
		Long: `fix edits IaC files so that failing tables and replicas pass: it adds
point_in_time_recovery { enabled = true } or flips false to true, sets
point_in_time_recovery = true on replicas, adds or flips
PointInTimeRecoverySpecification in CloudFormation (YAML and JSON, keeping
comments, order and indentation), and for a value driven by a variable,
parameter or module input changes that default or input rather than inlining
true. Conditionals are never rewritten: they are listed for a person. Each
edit is tried on a temporary copy, re-parsed and re-scanned, and kept only if
the resource then passes; files are replaced atomically. Running fix twice
changes nothing the second time.

fix writes only files that are among the PATHs given, or under them, once
symbolic links are resolved: an edit elsewhere (a --var-file outside them, a
module outside them) is refused and listed for a person. With --dry-run
nothing is written anywhere.`,
		Example: `  pitrguard iac fix . --dry-run      # show the diff
  pitrguard iac fix infra/ templates/
  pitrguard iac fix infra/ envs/prod.tfvars --var-file envs/prod.tfvars`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, paths []string) error {
			so, _, err := o.build(f)
			if err != nil {
				return err
			}
			res, err := iacscan.Fix(paths, so, o.DryRun)
			if err != nil {
				return err
			}
			if res.Remaining.Scanned == 0 && len(res.Remaining.Errors) == 0 {
				return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no Terraform, CloudFormation, SAM, CDK output, serverless.yml or plan file under %s: nothing to fix", strings.Join(paths, ", "))}
			}
			for _, c := range res.Changes {
				name := relPath(c.File)
				if o.DryRun {
					fmt.Fprint(f.IO.Out, iacscan.UnifiedDiff(name, c.Before, c.After))
				}
				for _, fx := range c.Fixes {
					fmt.Fprintf(f.IO.ErrOut, "%s: %s\n", name, fx)
				}
			}
			for _, m := range res.Manual {
				fmt.Fprintf(f.IO.ErrOut, "needs a person: %s\n", m)
			}
			for _, e := range res.Remaining.Errors {
				fmt.Fprintf(f.IO.ErrOut, "error: %s:%d: %s\n", e.File, e.Line, e.Message)
			}
			verb := "Fixed"
			if o.DryRun {
				verb = "Would change"
			}
			fmt.Fprintf(f.IO.ErrOut, "%s %d file(s); %d finding(s) left for a person.\n", verb, len(res.Changes), len(res.Manual))
			if len(res.Remaining.Errors) > 0 {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d file(s) could not be read or parsed", len(res.Remaining.Errors))}
			}
			if !o.DryRun && res.Remaining.Summary.Fail > 0 {
				return &ExitError{Code: ExitFindings}
			}
			return nil
		},
	}
	addIACFlags(cmd, o)
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print a unified diff instead of writing (nothing is written anywhere)")
	// --tier used to pick the window rule; the policy now tiers each resource.
	cmd.Flags().StringVar(&o.Tier, "tier", "", "")
	_ = cmd.Flags().MarkDeprecated("tier", "fix follows the policy's tiers (--config); --tier is ignored")
	return cmd
}

// relPath shows a path relative to the working directory when it is under it.
func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}
