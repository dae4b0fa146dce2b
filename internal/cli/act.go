package cli

// Shared by the commands that act on selected tables (enable, drill): the
// selector flags, the audit they select from, clients, confirmation, and the
// exit-code rules for coverage and selectors that match nothing.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/pricing"
	"github.com/pitrguard/pitrguard/internal/selection"
)

// SelectOptions are the selector flags of enable and drill.
type SelectOptions struct {
	Tables []string
	Tiers  []string
	Owner  string
}

func addSelectFlags(cmd *cobra.Command, s *SelectOptions, verb string) {
	fl := cmd.Flags()
	fl.StringArrayVar(&s.Tables, "table", nil, verb+" this table, by name or ARN (repeatable)")
	fl.StringSliceVar(&s.Tiers, "tier", nil, "only tables of this tier (repeatable)")
	fl.StringVar(&s.Owner, "owner", "", "only tables whose owner tag has this value")
}

// criteria parses the selectors. Tables given only by ARN name their own
// accounts and regions (added to the scope); an ARN outside an explicit
// --regions can never match (exit 2).
func (s *SelectOptions) criteria(t *TargetOptions, regionsSet bool) (selection.Criteria, error) {
	c := selection.Criteria{Tiers: s.Tiers, Owner: s.Owner}
	if s.Owner != "" && strings.TrimSpace(s.Owner) == "" {
		return c, FlagErrorf("--owner is blank; give the owner tag's value")
	}
	for _, v := range s.Tables {
		ref, err := selection.ParseTable(v)
		if err != nil {
			return c, FlagErrorf("--table: %v", err)
		}
		c.Tables = append(c.Tables, ref)
	}
	if len(c.Tables) == 0 || slices.ContainsFunc(c.Tables, func(r model.TableRef) bool { return r.Account == "" }) {
		return c, nil
	}
	for _, r := range c.Tables {
		if regionsSet && !slices.Contains(t.Regions, "all") && !slices.Contains(t.Regions, r.Region) {
			return c, FlagErrorf("--table %s is in %s, which --regions %s leaves out: it can never match; add the region or drop --regions",
				r.ARN(), r.Region, strings.Join(t.Regions, ","))
		}
		t.Accounts = append(t.Accounts, r.Account)
		if !regionsSet {
			t.Regions = append(slices.DeleteFunc(t.Regions, func(s string) bool { return s == "all" }), r.Region)
		}
	}
	return c, nil
}

// checkTiers refuses a --tier the policy does not define (it can never match).
func checkTiers(cfg *config.Config, tiers []string) error {
	known := []string{cfg.DefaultTier}
	for _, t := range cfg.Tiers {
		known = append(known, t.Name)
	}
	for _, t := range tiers {
		if !slices.ContainsFunc(known, func(k string) bool { return strings.EqualFold(k, t) }) {
			return FlagErrorf("--tier %q is not a tier of the policy (%s); tiers are: %s", t, cfg.Source, strings.Join(known, ", "))
		}
	}
	return nil
}

// selectionInputs loads the policy and prices a selection is judged with.
func selectionInputs(t *TargetOptions, tiers []string) (*config.Config, *pricing.Table, error) {
	cfg, err := loadConfig(t.ConfigFile)
	if err != nil {
		return nil, nil, err
	}
	if err := checkTiers(cfg, tiers); err != nil {
		return nil, nil, err
	}
	prices, err := loadPrices(t.PriceFile)
	return cfg, prices, err
}

// auditFunc is the audit enable and drill select from.
// A non-nil prog shows the audit's progress and is closed when it ends.
func auditFunc(p *awsx.Provider, prm audit.Params, prog progress) func(context.Context) *audit.Result {
	return func(ctx context.Context) *audit.Result {
		if prog == nil {
			return audit.Run(ctx, p, prm)
		}
		prm.Progress = prog
		defer prog.Done()
		return audit.Run(ctx, p, prm)
	}
}

// ddbClient is the DynamoDB client of an account-region.
func ddbClient(ctx context.Context, p *awsx.Provider, account, region string) (*dynamodb.Client, error) {
	cfg, err := p.Account(ctx, account)
	if err != nil {
		return nil, err
	}
	return dynamodb.NewFromConfig(awsx.ForRegion(cfg, region)), nil
}

// askYes asks on the terminal and reports whether the answer was "yes".
func askYes(f *Factory, prompt string) bool {
	fmt.Fprint(f.IO.ErrOut, prompt)
	var line string
	_, _ = fmt.Fscanln(f.IO.In, &line)
	return strings.EqualFold(strings.TrimSpace(line), "yes")
}

// listShown is how many tables a confirmation lists before "and N more".
const listShown = 20

// writeList prints up to listShown lines and a count of the rest.
func writeList(w io.Writer, lines []string) {
	for i, l := range lines {
		if i == listShown {
			fmt.Fprintf(w, "  … and %d more (see the plan: --format json or --output)\n", len(lines)-listShown)
			return
		}
		fmt.Fprintln(w, "  "+l)
	}
}

// outcome is what decides the exit code of an acting command after its
// report was written.
type outcome struct {
	coverage     bool
	allowPartial bool
	errors       []model.ScanError
	unmatched    []string
	matched      bool // some table was selected
}

// exit returns the error for incomplete coverage (exit 1 unless
// --allow-partial) or a selector that matched nothing (exit 5), or nil.
func (o outcome) exit(f *Factory) error {
	for _, e := range o.errors {
		where := e.Account + "/" + e.Region
		if e.Table != "" {
			where += "/" + e.Table
		}
		fmt.Fprintf(f.IO.ErrOut, "error: %s: %s: %s\n", where, e.Code, e.Message)
	}
	if !o.coverage && !o.allowPartial {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("coverage incomplete: %d account(s)/region(s) could not be scanned (see errors); their tables were not considered; pass --allow-partial to exit 0 anyway", countScopeErrors(o.errors))}
	}
	if len(o.unmatched) > 0 {
		what := "nothing was done"
		if o.matched {
			what = "the other selectors were acted on"
		}
		return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("%s matched no table in the scanned accounts and regions; %s", strings.Join(o.unmatched, ", "), what)}
	}
	return nil
}

// deprecatedNote is the flag annotation that holds a deprecation message.
const deprecatedNote = "pitrguard_deprecated"

// deprecationsToStderr takes the deprecation messages of cmd's flags away
// from pflag, which prints them through cobra's OutOrStderr — stdout once
// the root has SetOut — where they would corrupt JSON output; the flags stay
// hidden and warnDeprecated prints the messages to stderr instead.
func deprecationsToStderr(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if fl.Deprecated == "" {
			return
		}
		if fl.Annotations == nil {
			fl.Annotations = map[string][]string{}
		}
		fl.Annotations[deprecatedNote] = []string{fl.Deprecated}
		fl.Deprecated, fl.Hidden = "", true
	})
}

// routeDeprecations applies deprecationsToStderr to every command of the
// tree and makes each command warn on w about the deprecated flags it was
// given, before it runs: cobra would print them on stdout, into JSON.
func routeDeprecations(root *cobra.Command, w io.Writer) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		deprecationsToStderr(c)
		if run := c.RunE; run != nil {
			c.RunE = func(cmd *cobra.Command, args []string) error {
				warnDeprecated(cmd, w)
				return run(cmd, args)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// warnDeprecated warns on stderr about each deprecated flag that was used.
func warnDeprecated(cmd *cobra.Command, w io.Writer) {
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if msg := fl.Annotations[deprecatedNote]; len(msg) > 0 {
			fmt.Fprintf(w, "Flag --%s has been deprecated, %s\n", fl.Name, msg[0])
		}
	})
}
