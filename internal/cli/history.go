package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
)

type historyOptions struct {
	Limit  int
	Kind   string
	Format string
}

func newHistoryCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	opts := &historyOptions{}
	cmd := &cobra.Command{
		Use:     "history",
		GroupID: "audit",
		Short:   "List recent runs with their KPIs",
		Long: `History lists the runs recorded in the history database, newest first, with
each audit's compliance rate, counts and coverage.`,
		Example: `  pitrguard history
  pitrguard history --limit 50 --format json
  pitrguard history --db ./team.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Limit < 1 {
				return FlagErrorf("--limit must be at least 1")
			}
			if opts.Format != "table" && opts.Format != "json" {
				return FlagErrorf("--format %q is not supported; use table or json", opts.Format)
			}
			if g.NoStore {
				return FlagErrorf("history reads the history database; drop --no-store")
			}
			db, err := f.openStore(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			runs, err := db.Runs(cmd.Context(), opts.Kind, opts.Limit)
			if err != nil {
				return fmt.Errorf("read history from %s: %w", db.Path(), err)
			}
			return writeHistory(f, opts.Format, runs)
		},
	}
	cmd.AddCommand(newJournalCmd(f, g), newDrillsHistoryCmd(f, g))
	cmd.Flags().IntVar(&opts.Limit, "limit", 20, "how many runs to list")
	cmd.Flags().StringVar(&opts.Kind, "kind", "", "only runs of this kind (audit, enable)")
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "table", "output format: table or json")
	return cmd
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
}

func writeHistory(f *Factory, format string, runs []store.Run) error {
	if format == "json" {
		out := make([]historyRun, 0, len(runs))
		for _, r := range runs {
			h := historyRun{ID: r.ID, Kind: r.Kind, StartedAt: r.StartedAt.UTC().Format("2006-01-02T15:04:05Z"),
				Status: r.Status, Caller: r.Caller, CoverageComplete: r.CoverageComplete, Summary: r.Summary}
			if r.FinishedAt != nil {
				s := r.FinishedAt.UTC().Format("2006-01-02T15:04:05Z")
				h.FinishedAt = &s
			}
			out = append(out, h)
		}
		return report.WriteJSON(f.IO.Out, map[string]any{"schema_version": report.SchemaVersion, "runs": out})
	}
	if len(runs) == 0 {
		fmt.Fprintln(f.IO.ErrOut, "No runs recorded yet. Run `pitrguard audit` first.")
		return nil
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
		if r.Kind == "audit" && r.Status != "running" {
			rate = fmt.Sprintf("%.1f%%", s.ComplianceRate*100)
		}
		if r.Kind == "guardrails" && r.Status != "running" {
			rate = guardrailsHistoryCell(r.Summary) // guardrail coverage, not table compliance
		}
		rows = append(rows, []string{strconv.FormatInt(r.ID, 10), r.StartedAt.UTC().Format("2006-01-02 15:04:05"), r.Kind, r.Status,
			strconv.Itoa(s.Tables), rate, strconv.Itoa(s.NonCompliant), strconv.Itoa(s.Unknown), strconv.Itoa(s.SnapshotGapTables),
			fmt.Sprintf("%.2f", s.GapMonthlyCostUSD), cov, shortCaller(r.Caller)})
	}
	tty := f.IO.IsStdoutTTY()
	return report.Table(f.IO.Out, report.Style{Aligned: tty},
		[]string{"RUN", "STARTED (UTC)", "KIND", "STATUS", "TABLES", "COMPLIANCE", "NON_COMPLIANT", "UNKNOWN", "GAP_CRITICAL", "GAP$/MO", "COVERAGE", "CALLER"}, rows)
}

func shortCaller(arn string) string {
	if i := strings.LastIndex(arn, ":"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

func newJournalCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	var limit int
	var runID int64
	var format string
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "List the changes pitrguard made, newest first",
		Long: `Journal lists every change pitrguard made or tried to make (enable), with the
caller identity, time, table, the state before and after, and the result.`,
		Example: `  pitrguard history journal
  pitrguard history journal --run 12 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return FlagErrorf("--limit must be at least 1")
			}
			if format != "table" && format != "json" {
				return FlagErrorf("--format %q is not supported; use table or json", format)
			}
			if g.NoStore {
				return FlagErrorf("journal reads the history database; drop --no-store")
			}
			db, err := f.openStore(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			entries, err := db.Journal(cmd.Context(), runID, limit)
			if err != nil {
				return fmt.Errorf("read the journal from %s: %w", db.Path(), err)
			}
			if entries == nil {
				entries = []store.JournalEntry{}
			}
			if format == "json" {
				return report.WriteJSON(f.IO.Out, map[string]any{"schema_version": report.SchemaVersion, "journal": entries})
			}
			if len(entries) == 0 {
				fmt.Fprintln(f.IO.ErrOut, "No changes journaled yet.")
				return nil
			}
			rows := make([][]string, 0, len(entries))
			for _, e := range entries {
				rows = append(rows, []string{e.At.UTC().Format("2006-01-02 15:04:05"), strconv.FormatInt(e.RunID, 10), e.Account, e.Region,
					e.Table, e.Action, stateString(e.Before), stateString(e.After), e.Result, shortCaller(e.Caller), e.Error})
			}
			return report.Table(f.IO.Out, report.Style{Aligned: f.IO.IsStdoutTTY()},
				[]string{"AT (UTC)", "RUN", "ACCOUNT", "REGION", "TABLE", "ACTION", "BEFORE", "AFTER", "RESULT", "CALLER", "ERROR"}, rows)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "how many entries to list")
	cmd.Flags().Int64Var(&runID, "run", 0, "only the changes of this run")
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	return cmd
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
			if limit < 1 || (format != "table" && format != "json") {
				return FlagErrorf("--limit must be at least 1 and --format table or json")
			}
			if g.NoStore {
				return FlagErrorf("drills are read from the history database; drop --no-store")
			}
			db, err := f.openStore(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer db.Close()
			ds, err := db.Drills(cmd.Context(), limit)
			if err != nil {
				return fmt.Errorf("read drills from %s: %w", db.Path(), err)
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
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "how many drills to list")
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	return cmd
}
