package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/iacscan"
	"github.com/pitrguard/pitrguard/internal/report"
)

type iacOptions struct {
	Vars       []string
	VarFiles   []string
	Params     []string
	ParamsFile string
	MinDays    int
	ConfigFile string
	Tier       string
	Format     string
	Output     string
	FailOn     []string
	DryRun     bool
}

func newIACCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "iac",
		GroupID: "prevent",
		Short:   "Scan and fix Terraform, CloudFormation, SAM, CDK output and plans for PITR",
		Long: `iac checks infrastructure code for DynamoDB point-in-time recovery: Terraform
(aws_dynamodb_table and each replica {} block, aws_dynamodb_table_replica;
variables, tfvars, locals, count, for_each, dynamic blocks, local modules and
registry modules in .terraform/modules), Terraform plan JSON, CloudFormation
and SAM (Table, GlobalTable replicas, SimpleTable; parameters, Conditions,
Fn::If, AWS::NoValue), CDK output (cdk.out/*.template.json) and the resources
of serverless.yml. Unresolvable values are UNKNOWN with the deciding input;
values that differ by input are CONDITIONAL, saying which.`,
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
	fl.IntVar(&o.MinDays, "min-recovery-days", 0, "also fail recovery windows shorter than this (1–35)")
	fl.StringVar(&o.ConfigFile, "config", "", "policy file; with --tier, that tier's min_recovery_days is the window rule")
	fl.StringVar(&o.Tier, "tier", "", "tier of the policy file whose min_recovery_days applies")
}

func (o *iacOptions) build(f *Factory) (iacscan.Options, error) {
	so := iacscan.Options{Vars: map[string]string{}, Params: map[string]string{}, VarFiles: o.VarFiles, Now: f.Now()}
	if wd, err := os.Getwd(); err == nil {
		so.Base = wd
	}
	for _, kv := range o.Vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return so, FlagErrorf("--var %q: write it as name=value", kv)
		}
		so.Vars[k] = v
	}
	if o.ParamsFile != "" {
		ps, err := iacscan.LoadParams(o.ParamsFile)
		if err != nil {
			return so, &ExitError{Code: ExitUsage, Err: err}
		}
		so.Params = ps
	}
	for _, kv := range o.Params {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return so, FlagErrorf("--param %q: write it as Name=value", kv)
		}
		so.Params[k] = v
	}
	for _, vf := range o.VarFiles {
		if _, err := os.Stat(vf); err != nil {
			return so, FlagErrorf("--var-file %s: %v", vf, err)
		}
	}
	if o.MinDays < 0 || o.MinDays > 35 {
		return so, FlagErrorf("--min-recovery-days must be 1 to 35")
	}
	so.Rules.MinRecoveryDays = o.MinDays
	if o.Tier != "" {
		cfg, err := config.Load(o.ConfigFile)
		if err != nil {
			return so, &ExitError{Code: ExitUsage, Err: fmt.Errorf("policy file: %w", err)}
		}
		found := false
		for _, t := range cfg.Tiers {
			if strings.EqualFold(t.Name, o.Tier) {
				found = true
				if so.Rules.MinRecoveryDays == 0 {
					so.Rules.MinRecoveryDays = t.MinRecoveryDays
				}
			}
		}
		if !found {
			return so, FlagErrorf("--tier %q is not a tier of %s", o.Tier, cfg.Source)
		}
	}
	return so, nil
}

func newIACScanCmd(f *Factory) *cobra.Command {
	o := &iacOptions{}
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Report the PITR verdict of every DynamoDB table and replica in IaC files",
		Example: `  pitrguard iac scan .
  pitrguard iac scan infra/ --var-file prod.tfvars --format sarif --output pitrguard.sarif
  pitrguard iac scan template.yaml --param Env=prod --fail-on unknown
  pitrguard iac scan cdk.out/ plan.json --min-recovery-days 14

Suppress a finding with a reason (and optionally an end date):
  # pitrguard:ignore rebuilt nightly from S3 until=2027-03-31
Peers' directives are honoured too (checkov CKV_AWS_28/165, trivy/tfsec
AVD-AWS-0024, kics-scan ignore-block, cfn_nag W78, cfn-guard DYNAMODB_PITR_ENABLED).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, paths []string) error {
			if !slices.Contains(iacscan.Formats, o.Format) {
				return FlagErrorf("--format %q is not supported; use one of: %s", o.Format, strings.Join(iacscan.Formats, ", "))
			}
			for _, v := range o.FailOn {
				if v != "unknown" {
					return FlagErrorf("--fail-on %q is not supported; use unknown (FAIL always fails)", v)
				}
			}
			so, err := o.build(f)
			if err != nil {
				return err
			}
			r := iacscan.Scan(paths, so)
			if err := writeOutput(f, o.Output, func(w io.Writer) error { return writeIAC(f, w, o.Format, o.Output != "", r) }); err != nil {
				return err
			}
			for _, e := range r.Errors {
				fmt.Fprintf(f.IO.ErrOut, "error: %s:%d: %s\n", e.File, e.Line, e.Message)
			}
			s := r.Summary
			if o.Format == "text" {
				fmt.Fprintf(f.IO.ErrOut, "\n%d pass, %d fail, %d unknown, %d conditional, %d not applicable, %d suppressed, %d info\n",
					s.Pass, s.Fail, s.Unknown, s.Conditional, s.NotApplicable, s.Suppressed, s.Info)
			}
			switch {
			case len(r.Errors) > 0:
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d file(s) could not be parsed (the others were scanned)", len(r.Errors))}
			case s.Fail > 0 || (len(o.FailOn) > 0 && s.Unknown+s.Conditional > 0):
				return &ExitError{Code: ExitFindings}
			}
			return nil
		},
	}
	addIACFlags(cmd, o)
	cmd.Flags().StringVarP(&o.Format, "format", "f", "text", "output format: text, json, sarif or junit")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "write the report to this file")
	cmd.Flags().StringSliceVar(&o.FailOn, "fail-on", nil, "also exit 3 on UNKNOWN and CONDITIONAL findings (unknown)")
	return cmd
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
edit is re-parsed and re-scanned, and kept only if the resource then passes;
files are replaced atomically. Running fix twice changes nothing the second time.`,
		Example: `  pitrguard iac fix . --dry-run      # show the diff
  pitrguard iac fix infra/ templates/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, paths []string) error {
			so, err := o.build(f)
			if err != nil {
				return err
			}
			res, err := iacscan.Fix(paths, so, o.DryRun)
			if err != nil {
				return err
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
			verb := "Fixed"
			if o.DryRun {
				verb = "Would change"
			}
			fmt.Fprintf(f.IO.ErrOut, "%s %d file(s); %d finding(s) left for a person.\n", verb, len(res.Changes), len(res.Manual))
			if len(res.Remaining.Errors) > 0 {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d file(s) could not be parsed", len(res.Remaining.Errors))}
			}
			if !o.DryRun && res.Remaining.Summary.Fail > 0 {
				return &ExitError{Code: ExitFindings}
			}
			return nil
		},
	}
	addIACFlags(cmd, o)
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print a unified diff instead of writing")
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
