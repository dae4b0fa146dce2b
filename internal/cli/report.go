package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pitrguard/pitrguard/internal/evidence"
)

// reportOptions are the flags of `pitrguard report`.
type reportOptions struct {
	Since      time.Duration
	SinceText  string
	Format     string
	Output     string
	ConfigFile string

	formatSet bool
}

// reportFormats are the formats of the evidence report; the first is the default.
var reportFormats = []string{"html", "json", "md"}

// reportExtensions pick the format from --output's extension when --format is not given.
var reportExtensions = map[string]string{".html": "html", ".htm": "html", ".json": "json", ".md": "md", ".markdown": "md"}

func newReportCmd(f *Factory, g *GlobalOptions) *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:     "report",
		GroupID: "audit",
		Short:   "Write the evidence report for auditors (HTML, JSON or Markdown) from the history",
		Long: `Report writes one document of evidence about DynamoDB backup and recovery over
a period (--since, default 90d), built from what the history database recorded:

  1. scope and coverage: accounts, regions, runs, and what could not be read
  2. KPIs now and their trend per audit (a run group counts as one audit):
     compliance rate overall and per tier, snapshot gaps, MTTR from drills,
     PITR and AWS Backup cost, and the share of DynamoDB spend when
     'audit --cost-explorer' measured it
  3. non-compliant and unknown tables by owner and account, open since when
  4. the exceptions register (the policy's exemptions; expired ones flagged)
  5. restore drills with their checks and timings; tables never drilled
  6. changes: the journal, the event handler's actions, restores
  7. guardrail and AWS Backup coverage, when recorded
  8. SOC 2 and HIPAA control mapping: which sections evidence which control
  9. integrity: the SHA-256 of the JSON form and the runs it was built from

A section without data says "not measured yet" and how to measure it; no
figure is ever made up. The HTML is one self-contained file (inline CSS and
SVG charts, nothing fetched) that prints to PDF with a page per section and a
running header. The format follows --output's extension (.html, .json, .md),
else html; --format overrides it. It only reads the history.

Exit codes: 0 written; 2 bad flags; 5 nothing is recorded in the history yet.`,
		Example: `  # The last 90 days as one HTML file for the auditor
  pitrguard report --output evidence.html

  # The data behind it, with its hash, for your records
  pitrguard report --since 90d --output evidence.json

  # Markdown for a wiki page, from a shared history, with the policy's exemptions
  pitrguard report --since 30d --format md --db postgres://pitrguard@db/pitrguard --config pitrguard.yaml

  # Check a JSON report was not edited (prints the hash in it)
  sed -E 's/^(    "sha256": )"[0-9a-f]*"/\1""/' evidence.json | sha256sum`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.formatSet = cmd.Flags().Changed("format")
			o.SinceText = cmd.Flags().Lookup("since").Value.String()
			if err := o.validate(g); err != nil {
				return err
			}
			return reportRun(cmd.Context(), f, g, o)
		},
	}
	addStoreFlags(cmd, g)
	fl := cmd.Flags()
	durationFlag(fl, &o.Since, "since", 90*24*time.Hour, "the period the report covers, ending now")
	formatFlag(cmd, &o.Format, reportFormats...)
	fl.Lookup("format").Usage = "output format: html, json or md (default: from --output's extension, else html)"
	fl.Lookup("format").DefValue = ""
	outputFlag(cmd, &o.Output, "the report")
	fl.StringVar(&o.ConfigFile, "config", "", "policy file (default: ./pitrguard.yaml if present, else built-in defaults)")
	return cmd
}

func (o *reportOptions) validate(g *GlobalOptions) error {
	if g.NoStore {
		return FlagErrorf("report reads the history database; drop --no-store")
	}
	if !o.formatSet && o.Output != "" {
		if ext, ok := reportExtensions[strings.ToLower(filepath.Ext(o.Output))]; ok {
			o.Format = ext
		}
	}
	if err := checkFormat(o.Format, reportFormats...); err != nil {
		return err
	}
	return checkOutputPath("output", o.Output)
}

func reportRun(ctx context.Context, f *Factory, g *GlobalOptions, o *reportOptions) error {
	cfg, err := loadConfig(o.ConfigFile)
	if err != nil {
		return err
	}
	db, err := openHistory(ctx, f, g)
	if err != nil {
		return err
	}
	defer closeStore(db)
	if db == nil {
		return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no history to report on: the history database does not exist yet; run `pitrguard audit` first (or pass --db)")}
	}
	if runs, err := db.Runs(ctx, "", 1); err != nil {
		return fmt.Errorf("read history from %s: %w", db.Path(), err)
	} else if len(runs) == 0 {
		return &ExitError{Code: ExitNoMatch, Err: fmt.Errorf("no history to report on: nothing is recorded in %s yet; run `pitrguard audit` first", db.Path())}
	}
	r, err := evidence.Build(ctx, db, evidence.Options{Now: f.Now(), Since: o.Since, SinceText: o.SinceText, Policy: cfg})
	if err != nil {
		return fmt.Errorf("build the report from %s: %w", db.Path(), err)
	}
	if err := writeOutput(f, o.Output, func(w io.Writer) error { return writeEvidence(w, o.Format, r) }); err != nil {
		return err
	}
	if !g.Quiet {
		reportSummary(f.IO.ErrOut, o, r)
	}
	return nil
}

func writeEvidence(w io.Writer, format string, r *evidence.Report) error {
	switch format {
	case "json":
		return evidence.WriteJSON(w, r)
	case "md":
		return evidence.WriteMarkdown(w, r)
	}
	return evidence.WriteHTML(w, r)
}

// reportSummary tells on stderr what the report holds (stdout may be the report).
func reportSummary(w io.Writer, o *reportOptions, r *evidence.Report) {
	if r.Scope.Audits == 0 {
		fmt.Fprintf(w, "warning: no audit is recorded from %s to %s; the report says \"not measured yet\" where it has no data\n",
			r.Period.From.Format(time.DateOnly), r.Period.To.Format(time.DateOnly))
	}
	where := "stdout"
	if o.Output != "" {
		where = o.Output
	}
	var empty []string
	for name, st := range map[string]evidence.Status{"kpis": r.KPIs.Status, "findings": r.Findings.Status, "exceptions": r.Exceptions.Status,
		"drills": r.Drills.Status, "changes": r.Changes.Status, "guardrails": r.Guardrails.Status, "backup": r.Backup.Status} {
		if !st.Measured {
			empty = append(empty, name)
		}
	}
	fmt.Fprintf(w, "Evidence report (%s) for %s to %s: %d audit(s), %d drill(s) → %s\nSHA-256 of its data: %s\n", o.Format,
		r.Period.From.Format(time.DateOnly), r.Period.To.Format(time.DateOnly), r.Scope.Audits, len(r.Drills.Drills), where, r.Integrity.SHA256)
	if len(empty) > 0 {
		fmt.Fprintf(w, "Not measured yet: %s\n", orList(slices.Sorted(slices.Values(empty))))
	}
}
