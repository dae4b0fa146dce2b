// Package cli is pitrguard's command line: one constructor per command, a
// Factory with lazily built dependencies, and one table of exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/awsx"
	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/pricing"
	"github.com/pitrguard/pitrguard/internal/store"
)

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "dev"

// Factory holds what commands need, built lazily so that --help never
// touches AWS or the disk.
type Factory struct {
	IO  *iostreams.IOStreams
	Now func() time.Time
	// Credentials, if set, replaces the standard credential chain (tests).
	Credentials aws.CredentialsProvider
	// Getenv reads the environment (tests may replace it).
	Getenv func(string) string

	args []string // the command line, recorded with each run
}

// GlobalOptions are flags shared by every command.
type GlobalOptions struct {
	Profile     string
	Region      string
	Endpoint    string
	DBPath      string
	NoStore     bool
	Quiet       bool
	MaxAttempts int
	MaxBackoff  time.Duration
	CPUProfile  string
	MemProfile  string
}

// Main runs pitrguard with the process's arguments and streams and returns the
// exit code. The first Ctrl-C cancels the run cleanly; a second one exits at once.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore default handling: a second Ctrl-C kills the process
	}()
	f := &Factory{IO: iostreams.System(), Now: time.Now, Getenv: os.Getenv}
	code := Run(ctx, os.Args[1:], f)
	writeMemStats(os.Getenv("PITRGUARD_STATS_FILE"))
	return code
}

// Run executes one command line and returns the exit code.
func Run(ctx context.Context, args []string, f *Factory) int {
	if f.Now == nil {
		f.Now = time.Now
	}
	if f.Getenv == nil {
		f.Getenv = os.Getenv
	}
	awsx.Version = Version
	f.args = args
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	if ctx.Err() != nil && code != ExitUsage {
		code = ExitInterrupted
	}
	var ee *ExitError
	if errors.As(err, &ee) && ee.Err == nil {
		return code
	}
	fmt.Fprintf(f.IO.ErrOut, "Error: %s\n", err)
	var fe *FlagError
	if errors.As(err, &fe) || isCobraUsageError(err) {
		fmt.Fprintf(f.IO.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return ExitUsage
	}
	return code
}

// isCobraUsageError recognises cobra's own argument and flag errors, which
// are not FlagErrors.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "invalid argument",
		"flag needs an argument", "accepts ", "requires at least", "requires at most", "if any flags in the group"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	g := &GlobalOptions{}
	root := &cobra.Command{
		Use:   "pitrguard <command> [flags]",
		Short: "Keep every DynamoDB table recoverable to any second, and prove it",
		Long: `pitrguard audits point-in-time recovery (PITR) on every Amazon DynamoDB table in
your AWS accounts and regions, judges each table against a policy (tiers,
minimum recovery window, exemptions), estimates the cost, and keeps a history.`,
		Example: `  # Audit every table of the organization in two regions
  pitrguard audit --org --regions us-east-1,eu-west-1

  # Machine-readable output for a pipeline; fail when a table is non-compliant
  pitrguard audit --org --format json --output audit.json --fail-on non-compliant

  # Recent runs with their KPIs
  pitrguard history`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.Profile, "profile", "", "AWS shared-config profile (default: the standard credential chain)")
	pf.StringVar(&g.Region, "region", "", "home region for STS, Organizations and EC2 calls (default: from the AWS config, else us-east-1); for restore the table's region, for enable and drill without --regions the region scanned")
	pf.StringVar(&g.Endpoint, "endpoint-url", "", "send every AWS call to this endpoint, e.g. an emulator (AWS_ENDPOINT_URL works too)")
	pf.StringVar(&g.DBPath, "db", "", "history database file (default: $PITRGUARD_DB, else ~/.local/share/pitrguard/pitrguard.db)")
	pf.BoolVar(&g.NoStore, "no-store", false, "do not record this run in the history database")
	pf.BoolVarP(&g.Quiet, "quiet", "q", false, "no progress bar or summary on stderr")
	pf.IntVar(&g.MaxAttempts, "max-attempts", 8, "attempts per AWS call, including the first (retries throttling and 5xx with backoff)")
	pf.DurationVar(&g.MaxBackoff, "retry-max-backoff", 20*time.Second, "longest wait between attempts of one AWS call")
	_ = pf.MarkHidden("retry-max-backoff")
	pf.StringVar(&g.CPUProfile, "cpuprofile", "", "write a CPU profile to this file")
	pf.StringVar(&g.MemProfile, "memprofile", "", "write a heap profile to this file at exit")
	_ = pf.MarkHidden("cpuprofile")
	_ = pf.MarkHidden("memprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return g.startProfiles() }
	root.PersistentPostRunE = func(*cobra.Command, []string) error { return g.stopProfiles() }

	root.AddGroup(&cobra.Group{ID: "audit", Title: "Audit and report:"}, &cobra.Group{ID: "act", Title: "Act on tables:"}, &cobra.Group{ID: "prevent", Title: "Prevent in code:"})
	root.AddCommand(newAuditCmd(f, g, nil), newHistoryCmd(f, g), newEnableCmd(f, g), newRestoreCmd(f, g), newDrillCmd(f, g), newIACCmd(f), newGuardrailsCmd(f, g), newIAMPolicyCmd(f), newVersionCmd(f))
	return root
}

func newVersionCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(f.IO.Out, "pitrguard %s\n", Version)
			return nil
		},
	}
}

// awsProvider builds the AWS provider for a command.
func (f *Factory) awsProvider(ctx context.Context, g *GlobalOptions, t *TargetOptions) (*awsx.Provider, error) {
	opts := awsx.Options{
		Profile: g.Profile, Region: g.Region, Endpoint: g.Endpoint,
		MaxAttempts: g.MaxAttempts, MaxBackoff: g.MaxBackoff, Credentials: f.Credentials,
	}
	if t != nil {
		opts.RoleName, opts.ExternalID = t.RoleName, t.ExternalID
	}
	return awsx.New(ctx, opts)
}

// openStore opens the history database unless --no-store.
func (f *Factory) openStore(ctx context.Context, g *GlobalOptions) (*store.SQLite, error) {
	if g.NoStore {
		return nil, nil
	}
	path := g.DBPath
	if path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	return store.Open(ctx, path)
}

// loadPrices reads the price table; a bad --price-file is a usage error (exit 2).
func loadPrices(path string) (*pricing.Table, error) {
	t, err := pricing.Load(path)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	return t, nil
}

// loadConfig reads the policy; a bad file is a usage error (exit 2).
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("policy file: %w", err)}
	}
	return cfg, nil
}
