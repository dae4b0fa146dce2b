package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/history"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/rungroup"
	"github.com/pitrguard/pitrguard/internal/store"
	"github.com/pitrguard/pitrguard/internal/trend"
)

type historyOptions struct {
	Limit        int
	Kind         string
	Format       string
	RunGroup     string
	AllowPartial bool
	Trend        bool
}

// runKinds are the kinds of run recorded in the history database.
var runKinds = []string{"audit", "drill", "enable", "guardrails", "restore"}

func (o *historyOptions) validate(g *GlobalOptions) error {
	if o.Limit < 1 {
		return FlagErrorf("--limit must be at least 1, got %d", o.Limit)
	}
	formats := []string{"table", "json"}
	if o.RunGroup != "" {
		formats = report.Formats
	}
	if err := checkFormat(o.Format, formats...); err != nil {
		return err
	}
	if o.Trend && (o.RunGroup != "" || o.Kind != "" && o.Kind != "audit") {
		return FlagErrorf("--trend charts audits (a run group counts as one); drop --run-group and --kind")
	}
	if o.Kind != "" && !slices.Contains(runKinds, o.Kind) {
		return FlagErrorf("--kind %q is not a kind of run; use %s", o.Kind, orList(runKinds))
	}
	if g.NoStore {
		return FlagErrorf("history reads the history database; drop --no-store")
	}
	return nil
}

func newHistoryCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	opts := &historyOptions{}
	cmd := &cobra.Command{
		Use:     "history",
		GroupID: "audit",
		Short:   "List recent runs with their KPIs",
		Long: `History lists the runs recorded in the history database, newest first, with
each audit's compliance rate, counts and coverage.

--trend draws instead one sparkline of the compliance rate (0–100%) and one
of the snapshot-gap tables over the last --limit audits, with the first and
last values; the shards of a run group count as one audit. With --format
json it prints the points.`,
		Example: `  pitrguard history
  pitrguard history --kind audit --limit 50 --format json
  pitrguard history --db ./team.db

  # Sparklines of the compliance rate and snapshot gaps over the last 30 audits
  pitrguard history --trend --limit 30
  pitrguard history --trend --format json

  # The shards of one audit, merged into the report one audit would print
  pitrguard history --db postgres://pitrguard@db/pitrguard --run-group g1 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.validate(g); err != nil {
				return err
			}
			if opts.Trend {
				return trendRun(cmd.Context(), f, g, opts)
			}
			return listRuns(cmd.Context(), f, g, opts)
		},
	}
	addStoreFlags(cmd, g)
	cmd.AddCommand(newJournalCmd(f, g), newDrillsHistoryCmd(f, g))
	cmd.Flags().IntVar(&opts.Limit, "limit", 20, "how many runs to list (with --trend: audits to chart)")
	cmd.Flags().BoolVar(&opts.Trend, "trend", false, "chart the compliance rate and snapshot gaps per audit as sparklines (run groups merged)")
	cmd.Flags().StringVar(&opts.Kind, "kind", "", "only runs of this kind: "+orList(runKinds))
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(runKinds, cobra.ShellCompDirectiveNoFileComp))
	formatFlag(cmd, &opts.Format, "table", "json")
	cmd.Flags().Lookup("format").Usage = "output format: table or json (with --run-group also csv)"
	cmd.Flags().StringVar(&opts.RunGroup, "run-group", "", "print the shards of this run group as one audit report (the envelope `audit --format json` prints)")
	cmd.Flags().BoolVar(&opts.AllowPartial, "allow-partial", false, "with --run-group: exit 0 even when a shard is missing or incomplete")
	return cmd
}

// trendRun prints the sparklines (or the points) of the last --limit audits.
func trendRun(ctx context.Context, f *Factory, g *GlobalOptions, opts *historyOptions) error {
	db, err := openHistory(ctx, f, g)
	if err != nil {
		return err
	}
	defer closeStore(db)
	var audits []trend.Audit
	where := "the history database (none yet)"
	if db != nil {
		where = db.Path()
		if audits, err = trend.Audits(ctx, db, time.Time{}, opts.Limit); err != nil {
			return fmt.Errorf("read audits from %s: %w", db.Path(), err)
		}
	}
	points := trend.Points(audits)
	if opts.Format == "json" {
		if err := report.WriteJSON(f.IO.Out, map[string]any{"schema_version": report.SchemaVersion, "points": points}); err != nil {
			return err
		}
	} else if err := trend.Write(f.IO.Out, points); err != nil {
		return err
	}
	if len(points) == 0 {
		return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no audits recorded in %s; run `pitrguard audit` first", where)}
	}
	return nil
}

// openHistory opens the history database for reading; a database that does
// not exist yet is nil (no runs), and is never created by reading.
func openHistory(ctx context.Context, f *Factory, g *GlobalOptions) (store.Store, error) {
	db, err := f.openStoreForReading(ctx, g)
	if errors.Is(err, store.ErrNoDatabase) {
		return nil, nil
	}
	return db, err
}

func listRuns(ctx context.Context, f *Factory, g *GlobalOptions, opts *historyOptions) error {
	db, err := openHistory(ctx, f, g)
	if err != nil {
		return err
	}
	defer closeStore(db)
	if opts.RunGroup != "" {
		return runGroupRun(ctx, f, db, opts)
	}
	var runs []store.Run
	where := "the history database (none yet)"
	if db != nil {
		where = db.Path()
		if runs, err = db.Runs(ctx, opts.Kind, opts.Limit); err != nil {
			return fmt.Errorf("read history from %s: %w", db.Path(), err)
		}
	}
	switch {
	case len(runs) == 0 && opts.Kind != "":
		if opts.Format == "json" {
			if err := writeHistory(f, opts.Format, runs); err != nil {
				return err
			}
		}
		return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no %s runs recorded in %s", opts.Kind, where)}
	case len(runs) == 0 && opts.Format == "table":
		fmt.Fprintln(f.IO.ErrOut, "No runs recorded yet. Run `pitrguard audit` first.")
		return nil
	}
	return writeHistory(f, opts.Format, runs)
}

// runGroupRun prints the shards of a run group merged as one audit.
func runGroupRun(ctx context.Context, f *Factory, db store.Store, opts *historyOptions) error {
	if db == nil {
		return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no run of run group %q is recorded: the history database does not exist yet", opts.RunGroup)}
	}
	parts, err := history.Parts(ctx, db, opts.RunGroup)
	if err != nil {
		return fmt.Errorf("read run group %s from %s: %w", opts.RunGroup, db.Path(), err)
	}
	if len(parts) == 0 {
		return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no run of run group %q is recorded in %s (see `pitrguard history` for recent runs)", opts.RunGroup, db.Path())}
	}
	merged, err := rungroup.Merge(parts)
	if err != nil {
		return err
	}
	return writeMerged(f, opts.Format, "", opts.AllowPartial, merged)
}

type historyRun struct {
	ID               int64           `json:"id"`
	Kind             string          `json:"kind"`
	StartedAt        string          `json:"started_at"`
	FinishedAt       *string         `json:"finished_at"`
	Status           string          `json:"status"`
	Caller           string          `json:"caller"`
	CoverageComplete bool            `json:"coverage_complete"`
	Summary          json.RawMessage `json:"summary"`
	RunGroup         string          `json:"run_group,omitempty"`
	Shard            int             `json:"shard,omitempty"`
	Shards           int             `json:"shards,omitempty"`
}

func writeHistory(f *Factory, format string, runs []store.Run) error {
	if format == "json" {
		out := make([]historyRun, 0, len(runs))
		for _, r := range runs {
			h := historyRun{ID: r.ID, Kind: r.Kind, StartedAt: r.StartedAt.UTC().Format("2006-01-02T15:04:05Z"),
				Status: r.Status, Caller: r.Caller, CoverageComplete: r.CoverageComplete, Summary: r.Summary,
				RunGroup: r.RunGroup, Shard: r.Shard, Shards: r.Shards}
			if r.FinishedAt != nil {
				s := r.FinishedAt.UTC().Format("2006-01-02T15:04:05Z")
				h.FinishedAt = &s
			}
			out = append(out, h)
		}
		return report.WriteJSON(f.IO.Out, map[string]any{"schema_version": report.SchemaVersion, "runs": out})
	}
	rows := make([][]string, 0, len(runs))
	for _, r := range runs {
		var s policy.Summary
		_ = json.Unmarshal(r.Summary, &s)
		cov := "complete"
		if !r.CoverageComplete {
			cov = "INCOMPLETE"
		}
		rate := "-"
		// A failed audit judged nothing: its empty summary is not 0% compliance.
		if r.Kind == "audit" && r.Status != store.StatusRunning && r.Status != store.StatusFailed {
			rate = fmt.Sprintf("%.1f%%", s.ComplianceRate*100)
		}
		if r.Kind == "guardrails" && r.Status != "running" {
			rate = guardrailsHistoryCell(r.Summary) // guardrail coverage, not table compliance
		}
		rows = append(rows, []string{strconv.FormatInt(r.ID, 10), r.StartedAt.UTC().Format("2006-01-02 15:04:05"), r.Kind, r.Status,
			strconv.Itoa(s.Tables), rate, strconv.Itoa(s.NonCompliant), strconv.Itoa(s.Unknown), strconv.Itoa(s.SnapshotGapTables),
			fmt.Sprintf("%.2f", s.GapMonthlyCostUSD), cov, groupString(r), shortCaller(r.Caller)})
	}
	tty := f.IO.IsStdoutTTY()
	return report.Table(f.IO.Out, report.Style{Aligned: tty},
		[]string{"RUN", "STARTED (UTC)", "KIND", "STATUS", "TABLES", "COMPLIANCE", "NON_COMPLIANT", "UNKNOWN", "GAP_CRITICAL", "GAP$/MO", "COVERAGE", "GROUP", "CALLER"}, rows)
}

// groupString is "g1 2/4" for a shard of a run group, "-" otherwise.
func groupString(r store.Run) string {
	if r.Shards == 0 {
		return "-"
	}
	group := r.RunGroup
	if group == "" {
		group = "(no group)"
	}
	return fmt.Sprintf("%s %d/%d", group, r.Shard, r.Shards)
}

func shortCaller(arn string) string {
	if i := strings.LastIndex(arn, ":"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

type journalOptions struct {
	Limit  int
	RunID  int64
	Format string
}

func newJournalCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	o := &journalOptions{}
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "List the changes pitrguard made, newest first",
		Long: `Journal lists every change pitrguard made or tried to make (enable), with the
caller identity, time, table, the state before and after, and the result.
--run N names a run; a run that is not in the database exits 5.`,
		Example: `  pitrguard history journal
  pitrguard history journal --run 12 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.Limit < 1:
				return FlagErrorf("--limit must be at least 1, got %d", o.Limit)
			case o.RunID < 0:
				return FlagErrorf("--run must be a run id (a positive number, see `pitrguard history`), got %d", o.RunID)
			case g.NoStore:
				return FlagErrorf("journal reads the history database; drop --no-store")
			}
			if err := checkFormat(o.Format, "table", "json"); err != nil {
				return err
			}
			return journalRun(cmd.Context(), f, g, o)
		},
	}
	cmd.Flags().IntVar(&o.Limit, "limit", 50, "how many entries to list")
	cmd.Flags().Int64Var(&o.RunID, "run", 0, "only the changes of this run (an id from `pitrguard history`)")
	formatFlag(cmd, &o.Format, "table", "json")
	return cmd
}

func journalRun(ctx context.Context, f *Factory, g *GlobalOptions, o *journalOptions) error {
	db, err := openHistory(ctx, f, g)
	if err != nil {
		return err
	}
	defer closeStore(db)
	var entries []store.JournalEntry
	if db != nil {
		if entries, err = db.Journal(ctx, o.RunID, o.Limit); err != nil {
			return fmt.Errorf("read the journal from %s: %w", db.Path(), err)
		}
	}
	if len(entries) == 0 && o.RunID != 0 {
		if err := checkRunExists(ctx, db, o.RunID); err != nil {
			return err
		}
	}
	if entries == nil {
		entries = []store.JournalEntry{}
	}
	if o.Format == "json" {
		return report.WriteJSON(f.IO.Out, map[string]any{"schema_version": report.SchemaVersion, "journal": entries})
	}
	if len(entries) == 0 {
		if o.RunID != 0 {
			fmt.Fprintf(f.IO.ErrOut, "Run %d made no changes.\n", o.RunID)
		} else {
			fmt.Fprintln(f.IO.ErrOut, "No changes journaled yet.")
		}
		return nil
	}
	rows := make([][]string, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, []string{e.At.UTC().Format("2006-01-02 15:04:05"), strconv.FormatInt(e.RunID, 10), e.Account, e.Region,
			e.Table, e.Action, stateString(e.Before), stateString(e.After), e.Result, shortCaller(e.Caller), e.Error})
	}
	return report.Table(f.IO.Out, report.Style{Aligned: f.IO.IsStdoutTTY()},
		[]string{"AT (UTC)", "RUN", "ACCOUNT", "REGION", "TABLE", "ACTION", "BEFORE", "AFTER", "RESULT", "CALLER", "ERROR"}, rows)
}

// checkRunExists returns an ExitNoMatch error when run id is not in db.
func checkRunExists(ctx context.Context, db store.Store, id int64) error {
	if db == nil {
		return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no run %d: the history database does not exist yet", id)}
	}
	runs, err := db.Runs(ctx, "", math.MaxInt32)
	if err != nil {
		return fmt.Errorf("read history from %s: %w", db.Path(), err)
	}
	if slices.ContainsFunc(runs, func(r store.Run) bool { return r.ID == id }) {
		return nil
	}
	return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no run %d in %s; `pitrguard history` lists the runs", id, db.Path())}
}

func stateString(raw json.RawMessage) string {
	var s struct {
		Enabled bool `json:"enabled"`
		Days    int  `json:"days"`
	}
	if len(raw) == 0 || string(raw) == "null" || json.Unmarshal(raw, &s) != nil {
		return "-"
	}
	if !s.Enabled {
		return "off"
	}
	return fmt.Sprintf("on/%dd", s.Days)
}

func newDrillsHistoryCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	var limit int
	var format string
	cmd := &cobra.Command{
		Use:   "drills",
		Short: "List recorded restore drills (evidence), newest first",
		Example: `  pitrguard history drills
  pitrguard history drills --format json > drill-evidence.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return FlagErrorf("--limit must be at least 1, got %d", limit)
			}
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			if g.NoStore {
				return FlagErrorf("drills are read from the history database; drop --no-store")
			}
			return drillsHistoryRun(cmd.Context(), f, g, limit, format)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "how many drills to list")
	formatFlag(cmd, &format, "table", "json")
	return cmd
}

func drillsHistoryRun(ctx context.Context, f *Factory, g *GlobalOptions, limit int, format string) error {
	db, err := openHistory(ctx, f, g)
	if err != nil {
		return err
	}
	defer closeStore(db)
	var ds []store.Drill
	if db != nil {
		if ds, err = db.Drills(ctx, limit); err != nil {
			return fmt.Errorf("read drills from %s: %w", db.Path(), err)
		}
	}
	if ds == nil {
		ds = []store.Drill{}
	}
	if format == "json" {
		return report.WriteJSON(f.IO.Out, map[string]any{"schema_version": report.SchemaVersion, "drills": ds})
	}
	if len(ds) == 0 {
		fmt.Fprintln(f.IO.ErrOut, "No drills recorded yet. Run `pitrguard drill`.")
		return nil
	}
	rows := make([][]string, 0, len(ds))
	for _, d := range ds {
		rp := "-"
		if d.RestorePoint != nil {
			rp = d.RestorePoint.UTC().Format("2006-01-02 15:04:05")
		}
		rows = append(rows, []string{d.StartedAt.UTC().Format("2006-01-02 15:04:05"), d.Account, d.Region, d.Table, rp,
			strings.ToUpper(d.Result), fmt.Sprintf("%.1f", d.RestoreSeconds), fmt.Sprintf("%.1f", d.TotalSeconds), d.Cleanup})
	}
	return report.Table(f.IO.Out, report.Style{Aligned: f.IO.IsStdoutTTY()},
		[]string{"STARTED (UTC)", "ACCOUNT", "REGION", "TABLE", "RESTORE POINT", "RESULT", "RESTORE_S", "TOTAL_S", "CLEANUP"}, rows)
}
