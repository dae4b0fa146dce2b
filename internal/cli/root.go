// Package cli is pitrguard's command line: one constructor per command, a
// Factory with lazily built dependencies, and one table of exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/audit"
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

	// spill tunes the on-disk spill of the streamed audit (tests force
	// small runs and merges over several levels); spillStats, if set, is
	// told what it did. inMemoryAudit makes audit hold its tables in memory
	// instead: the reference the streamed output is compared with.
	spill         audit.SpillOptions
	spillStats    func(audit.SpillStats)
	inMemoryAudit bool
}

// GlobalOptions are the flags shared by several commands. --quiet and
// --debug are on every command; the AWS flags only on commands that call AWS
// (addAWSFlags), the history flags only on commands that use the history
// database (addStoreFlags). docs/conventions.md lists them.
type GlobalOptions struct {
	Profile        string
	Region         string
	Endpoint       string
	DBPath         string
	NoStore        bool
	Quiet          bool
	Debug          bool
	MaxAttempts    int
	MaxBackoff     time.Duration
	RequestTimeout time.Duration
	CPUProfile     string
	MemProfile     string
}

// addAWSFlags registers the AWS connection flags (--profile, --region,
// --endpoint-url, --max-attempts, --request-timeout) on cmd and its
// subcommands. Every command that calls AWS calls it once in its constructor
// (or NewRootCmd does); calling it again is a no-op. The values are checked
// before the command runs (checkAWSFlags), so a bad region, URL or count is a
// usage error (exit 2) before any work starts.
func addAWSFlags(cmd *cobra.Command, g *GlobalOptions) {
	pf := cmd.PersistentFlags()
	if pf.Lookup("endpoint-url") != nil {
		return
	}
	pf.StringVar(&g.Profile, "profile", "", "AWS shared-config profile (default: the standard credential chain)")
	pf.StringVar(&g.Region, "region", "", "home region for STS, Organizations and EC2 calls (default: from the AWS config, else us-east-1); without --regions also the one region scanned (audit, enable, drill); for restore the table's region")
	pf.StringVar(&g.Endpoint, "endpoint-url", "", "send every AWS call to this endpoint, e.g. an emulator (AWS_ENDPOINT_URL works too)")
	pf.IntVar(&g.MaxAttempts, "max-attempts", 8, "attempts per AWS call, including the first (retries throttling, 5xx and timeouts with backoff); at least 1")
	durationFlag(pf, &g.RequestTimeout, "request-timeout", awsx.DefaultRequestTimeout, "longest wait for one attempt of one AWS call before it is retried")
	pf.DurationVar(&g.MaxBackoff, "retry-max-backoff", 20*time.Second, "longest wait between attempts of one AWS call")
	_ = pf.MarkHidden("retry-max-backoff")
	_ = cmd.RegisterFlagCompletionFunc("region", completeRegions)
}

// dbFlagUsage is --db's help, the same on every command.
const dbFlagUsage = "history database: a SQLite file, or a postgres://… URL shared by shards and services (default: $PITRGUARD_DB, else ~/.local/share/pitrguard/pitrguard.db)"

// addStoreFlags registers the history database flags (--db, --no-store) on
// cmd and its subcommands; calling it again is a no-op.
func addStoreFlags(cmd *cobra.Command, g *GlobalOptions) {
	pf := cmd.PersistentFlags()
	if pf.Lookup("db") != nil {
		return
	}
	pf.StringVar(&g.DBPath, "db", "", dbFlagUsage)
	pf.BoolVar(&g.NoStore, "no-store", false, "do not record this run in the history database")
}

// checkAWSFlags validates the AWS flags of commands that have them.
func checkAWSFlags(cmd *cobra.Command, g *GlobalOptions) error {
	if cmd.Flag("endpoint-url") == nil {
		return nil
	}
	if g.MaxAttempts < 1 {
		return FlagErrorf("--max-attempts must be at least 1 (1 = no retries), got %d", g.MaxAttempts)
	}
	if g.MaxBackoff <= 0 {
		return FlagErrorf("--retry-max-backoff must be greater than zero, got %s", g.MaxBackoff)
	}
	if err := awsx.CheckEndpoint(g.Endpoint); err != nil {
		return FlagErrorf("--endpoint-url: %v", err)
	}
	if g.Region != "" {
		if err := awsx.CheckRegion(g.Region); err != nil {
			return FlagErrorf("--region: %v", err)
		}
	}
	return nil
}

// completeTiers offers the tier names of the command's policy file (--config,
// else ./pitrguard.yaml, else the built-in tiers).
func completeTiers(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	path := ""
	if fl := cmd.Flag("config"); fl != nil {
		path = fl.Value.String()
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := []string{cfg.DefaultTier}
	for _, t := range cfg.Tiers {
		if !slices.Contains(names, t.Name) {
			names = append(names, t.Name)
		}
	}
	slices.Sort(names)
	return names, cobra.ShellCompDirectiveNoFileComp
}

func completeRegions(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, p := range awsx.Partitions() {
		out = append(out, p.Regions...)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// versionString is what both `pitrguard --version` and `pitrguard version` print.
func versionString() string { return "pitrguard " + Version + "\n" }

// Main runs pitrguard with the process's arguments and streams and returns the
// exit code. The first Ctrl-C cancels the run cleanly; a second one exits at once.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore default handling: a second Ctrl-C kills the process
	}()
	var spill audit.SpillStats
	f := &Factory{IO: iostreams.System(), Now: time.Now, Getenv: os.Getenv, spillStats: func(s audit.SpillStats) { spill = s }}
	code := Run(ctx, os.Args[1:], f)
	writeMemStats(os.Getenv("PITRGUARD_STATS_FILE"), spill)
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
	if awsx.Version != Version { // written once: shards may run in one process (tests)
		awsx.Version = Version
	}
	if lambdaMode(args, f.Getenv) {
		args = []string{"lambda"} // the binary is the function's bootstrap
	}
	f.args = args
	root := NewRootCmd(f)
	routeDeprecations(root, f.IO.ErrOut)
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
	root.SetVersionTemplate(versionString())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	pf := root.PersistentFlags()
	pf.BoolVarP(&g.Quiet, "quiet", "q", false, "no progress bar or KPI summary on stderr (errors are still shown)")
	pf.BoolVar(&g.Debug, "debug", false, "log debugging details to stderr, including the AWS SDK's own messages (retries, credential lookups)")
	pf.StringVar(&g.CPUProfile, "cpuprofile", "", "write a CPU profile to this file")
	pf.StringVar(&g.MemProfile, "memprofile", "", "write a heap profile to this file at exit")
	_ = pf.MarkHidden("cpuprofile")
	_ = pf.MarkHidden("memprofile")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkAWSFlags(cmd, g); err != nil {
			return err
		}
		return g.startProfiles()
	}
	root.PersistentPostRunE = func(*cobra.Command, []string) error { return g.stopProfiles() }

	root.AddGroup(&cobra.Group{ID: "audit", Title: "Audit and report:"}, &cobra.Group{ID: "act", Title: "Act on tables:"}, &cobra.Group{ID: "prevent", Title: "Prevent in code:"})
	audit, history, enable, restore, drill := newAuditCmd(f, g, nil), newHistoryCmd(f, g), newEnableCmd(f, g), newRestoreCmd(f, g), newDrillCmd(f, g)
	handleEvent, lambda, guardrails := newHandleEventCmd(f, g), newLambdaCmd(f, g), newGuardrailsCmd(f, g)
	guardrailsCheck, _, _ := guardrails.Find([]string{"check"})
	// Commands register their shared flags here until their own constructors
	// call addAWSFlags / addStoreFlags (both are idempotent).
	for _, c := range []*cobra.Command{audit, enable, restore, drill, handleEvent, lambda, guardrailsCheck} {
		addAWSFlags(c, g)
	}
	for _, c := range []*cobra.Command{audit, history, enable, restore, drill, handleEvent, lambda, guardrailsCheck} {
		addStoreFlags(c, g)
	}
	for _, c := range []*cobra.Command{enable, drill} {
		if c.Flags().Lookup("tier") != nil {
			_ = c.RegisterFlagCompletionFunc("tier", completeTiers)
		}
	}
	root.AddCommand(audit, history, newReportCmd(f, g), enable, restore, drill, newIACCmd(f), guardrails, newIAMPolicyCmd(f), newVersionCmd(f),
		newMergeCmd(f), handleEvent, lambda, newDeployCmd(f), newServeCmd(f, g), newBackupCmd(f, g))
	return root
}

func newVersionCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprint(f.IO.Out, versionString())
			return nil
		},
	}
}

// awsProvider builds the AWS provider for a command.
func (f *Factory) awsProvider(ctx context.Context, g *GlobalOptions, t *TargetOptions) (*awsx.Provider, error) {
	opts := awsx.Options{
		Profile: g.Profile, Region: g.Region, Endpoint: g.Endpoint,
		MaxAttempts: g.MaxAttempts, MaxBackoff: g.MaxBackoff, RequestTimeout: g.RequestTimeout,
		Credentials: f.Credentials, Logger: f.logger(g),
	}
	if t != nil {
		opts.RoleName, opts.ExternalID = t.RoleName, t.ExternalID
	}
	return awsx.New(ctx, opts)
}

// logger is pitrguard's debug log: stderr with --debug, nowhere otherwise.
// The AWS SDK's own messages go through it, so they never reach stderr unasked.
func (f *Factory) logger(g *GlobalOptions) *slog.Logger {
	if !g.Debug {
		return nil
	}
	return slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// openStore opens the history database (a file, or a postgres:// URL) unless
// --no-store, creating it if needed. The result is nil with --no-store: close
// it with closeStore.
func (f *Factory) openStore(ctx context.Context, g *GlobalOptions) (store.Store, error) {
	if g.NoStore {
		return nil, nil
	}
	target, err := g.dbTarget()
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, target)
}

// openStoreForReading opens the history database for a command that only
// reads: it never creates the database or its directory, and works on a
// read-only file (issue 16 #3).
func (f *Factory) openStoreForReading(ctx context.Context, g *GlobalOptions) (store.Store, error) {
	target, err := g.dbTarget()
	if err != nil {
		return nil, err
	}
	return store.OpenExisting(ctx, target)
}

// dbTarget is --db, else $PITRGUARD_DB, else the default file.
func (g *GlobalOptions) dbTarget() (string, error) {
	if g.DBPath != "" {
		return g.DBPath, nil
	}
	return store.DefaultPath()
}

// closeStore closes a store opened by openStore; nil (--no-store) is fine.
func closeStore(db store.Store) {
	if db != nil {
		db.Close()
	}
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
