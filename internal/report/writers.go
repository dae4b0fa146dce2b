package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Formats lists the audit output formats.
var Formats = []string{"table", "json", "csv"}

// Style says how the table writer may decorate output.
type Style struct {
	// Aligned pads columns (a terminal); otherwise cells are tab-separated.
	Aligned bool
	// Color adds ANSI colours to verdicts.
	Color bool
	// Width, when > 0 and Aligned, is the terminal's width: rows are fitted
	// to it by truncating the Shrink columns with "…" (as gh and kubectl do).
	// 0 prints every cell in full (--wide, or the width is unknown).
	Width int
	// Shrink lists the columns that may be truncated, first shrunk first.
	Shrink []int
	// Optional lists the columns that may be left out, first dropped first,
	// when the rows still do not fit after shrinking.
	Optional []int
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// WriteAuditCSV writes one row per table, reading the tables one at a time.
func WriteAuditCSV(w io.Writer, a *Audit) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"account", "region", "name", "arn", "status", "tier", "owner", "verdict", "reasons",
		"pitr_status", "recovery_period_days", "earliest_restorable", "latest_restorable", "size_bytes",
		"lsi_size_bytes", "item_count", "billing_mode", "deletion_protection", "exemption", "pitr_monthly_cost_usd", "tags"})
	if err := a.EachTable(func(t *TableResult) error { return cw.Write(csvRow(t)) }); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// csvRow is one table's CSV record (the columns of WriteAuditCSV's header).
func csvRow(t *TableResult) []string {
	period, earliest, latest := "", "", ""
	if t.PITR.RecoveryPeriodDays != nil {
		period = strconv.Itoa(*t.PITR.RecoveryPeriodDays)
	}
	if t.PITR.EarliestRestorable != nil {
		earliest = t.PITR.EarliestRestorable.Format("2006-01-02T15:04:05Z07:00")
	}
	if t.PITR.LatestRestorable != nil {
		latest = t.PITR.LatestRestorable.Format("2006-01-02T15:04:05Z07:00")
	}
	ex := ""
	if t.Exemption != nil {
		ex = t.Exemption.Reason
	}
	return []string{t.Account, t.Region, t.Name, t.ARN, t.Status, t.Tier, t.Owner, string(t.Verdict),
		joinReasons(t.Reasons, ";"), t.PITR.Status, period, earliest, latest, strconv.FormatInt(t.SizeBytes, 10),
		strconv.FormatInt(t.LSISizeBytes, 10), strconv.FormatInt(t.ItemCount, 10), t.BillingMode,
		strconv.FormatBool(t.DeletionProtection), ex, strconv.FormatFloat(t.PITRMonthlyCostUSD, 'f', 4, 64), tagString(t.Tags)}
}

func joinReasons[T ~string](rs []T, sep string) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, sep)
}

func tagString(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + tags[k]
	}
	return strings.Join(parts, ";")
}

// Table prints rows with a header: aligned on a terminal, TSV when piped.
// Alignment measures the visible width of each cell, so ANSI colour codes do
// not shift the columns after them.
func Table(w io.Writer, st Style, header []string, rows [][]string) error {
	return TableRows(w, st, header, func(fn func([]string) error) error {
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// TableRows is Table for rows made on demand: each calls fn for every row
// in order and stops at fn's first error. TSV is written as the rows come;
// aligned output calls each twice — once to measure the columns, once to
// print — so no more than one row is ever held.
func TableRows(w io.Writer, st Style, header []string, each func(fn func([]string) error) error) error {
	if !st.Aligned {
		bw := bufio.NewWriterSize(w, 64<<10)
		line := func(r []string) error {
			bw.WriteString(strings.Join(r, "\t"))
			return bw.WriteByte('\n')
		}
		if err := line(header); err != nil {
			return err
		}
		if err := each(line); err != nil {
			return err
		}
		return bw.Flush()
	}
	widths := make([]int, len(header))
	measure := func(r []string) error {
		for i, c := range r {
			widths[i] = max(widths[i], visibleWidth(c))
		}
		return nil
	}
	measure(header)
	if err := each(measure); err != nil {
		return err
	}
	gap := colGap
	if st.Width > 0 {
		gap = fitWidths(widths, st.Width, st.Shrink, st.Optional)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	line := func(r []string) error {
		first := true
		for i, c := range r {
			if widths[i] < 0 {
				continue // left out to fit the terminal
			}
			if !first {
				bw.WriteString(strings.Repeat(" ", gap))
			}
			first = false
			c = truncate(c, widths[i])
			bw.WriteString(c)
			if !lastShown(widths, i) {
				bw.WriteString(strings.Repeat(" ", widths[i]-visibleWidth(c)))
			}
		}
		return bw.WriteByte('\n')
	}
	line(header)
	if err := each(line); err != nil {
		return err
	}
	return bw.Flush()
}

func lastShown(widths []int, i int) bool {
	for _, w := range widths[i+1:] {
		if w >= 0 {
			return false
		}
	}
	return true
}

const (
	colGap      = 2 // spaces between columns
	minColWidth = 8 // a shrunk column keeps at least this many characters
)

// fitWidths makes a row fit in width: it narrows the shrinkable columns, in
// order, to minColWidth; then narrows the gap between columns to one space;
// then leaves out optional columns (width -1). It returns the gap.
func fitWidths(widths []int, width int, shrink, optional []int) int {
	gap := colGap
	total := func() int {
		n, t := 0, 0
		for _, w := range widths {
			if w >= 0 {
				n++
				t += w
			}
		}
		return t + (n-1)*gap
	}
	for _, i := range shrink {
		if over := total() - width; over > 0 && i >= 0 && i < len(widths) && widths[i] > minColWidth {
			widths[i] -= min(over, widths[i]-minColWidth)
		}
	}
	if total() > width {
		gap = 1
	}
	for _, i := range optional {
		if total() > width && i >= 0 && i < len(widths) {
			widths[i] = -1
		}
	}
	return gap
}

// visibleWidth is the number of characters a cell shows: runes, without
// ANSI escape sequences.
func visibleWidth(s string) int {
	n, esc := 0, false
	for _, r := range s {
		switch {
		case esc:
			esc = r != 'm'
		case r == '\x1b':
			esc = true
		default:
			n++
		}
	}
	return n
}

// truncate shortens s to width visible characters, ending in "…". Cells with
// colour codes are never truncated (only short verdict cells carry them).
func truncate(s string, width int) string {
	if visibleWidth(s) <= width || strings.ContainsRune(s, '\x1b') || width < 1 {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

const (
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[90m"
	ansiReset  = "\x1b[0m"
)

func colorVerdict(st Style, v string) string {
	if !st.Color {
		return v
	}
	c := ""
	switch v {
	case "COMPLIANT":
		c = ansiGreen
	case "NON_COMPLIANT":
		c = ansiRed
	case "UNKNOWN":
		c = ansiYellow
	case "EXEMPT", "SKIPPED":
		c = ansiDim
	}
	if c == "" {
		return v
	}
	return c + v + ansiReset
}

// WriteAuditTable prints one line per table. Aligned, it reads the tables
// twice (widths, then rows); as TSV, once.
func WriteAuditTable(w io.Writer, st Style, a *Audit) error {
	// On a narrow terminal, long reasons are cut first, then owners, table
	// names and tiers; if that is not enough, the cost, owner and days
	// columns are left out. --wide shows every column and cell in full.
	st.Shrink, st.Optional = []int{7, 8, 2, 3}, []int{9, 8, 5}
	return TableRows(w, st, []string{"ACCOUNT", "REGION", "TABLE", "TIER", "PITR", "DAYS", "VERDICT", "REASONS", "OWNER", "PITR$/MO"},
		func(fn func([]string) error) error {
			return a.EachTable(func(t *TableResult) error { return fn(auditTableRow(st, t)) })
		})
}

// auditTableRow is one table's line in WriteAuditTable.
func auditTableRow(st Style, t *TableResult) []string {
	period := "-"
	if t.PITR.RecoveryPeriodDays != nil {
		period = strconv.Itoa(*t.PITR.RecoveryPeriodDays)
	}
	reasons := joinReasons(t.Reasons, ",")
	if reasons == "" && t.Exemption != nil {
		reasons = "exempt: " + t.Exemption.Reason
	}
	if reasons == "" {
		reasons = "-"
	}
	owner := t.Owner
	if owner == "" {
		owner = "-"
	}
	cost := fmt.Sprintf("%.2f", t.PITRMonthlyCostUSD)
	if t.CostEstimated {
		cost += "~"
	}
	return []string{t.Account, t.Region, t.Name, t.Tier, t.PITR.Status, period,
		colorVerdict(st, string(t.Verdict)), reasons, owner, cost}
}

// WriteAuditSummary prints the KPIs and errors in a few human lines.
func WriteAuditSummary(w io.Writer, a *Audit) {
	s := a.Summary
	fmt.Fprintf(w, "\nTables: %d  compliant %d  non-compliant %d  exempt %d  unknown %d  skipped %d\n",
		s.Tables, s.Compliant, s.NonCompliant, s.Exempt, s.Unknown, s.Skipped)
	fmt.Fprintf(w, "Compliance rate: %.1f%%  (compliant / (compliant + non-compliant + unknown))\n", s.ComplianceRate*100)
	tiers := make([]string, 0, len(s.ByTier))
	for name := range s.ByTier {
		tiers = append(tiers, name)
	}
	sort.Strings(tiers)
	for _, name := range tiers {
		ts := s.ByTier[name]
		fmt.Fprintf(w, "  tier %-20s %5d tables  %5.1f%% compliant\n", name, ts.Tables, ts.ComplianceRate*100)
	}
	fmt.Fprintf(w, "Critical tables without PITR (snapshot gap): %d\n", s.SnapshotGapTables)
	fmt.Fprintf(w, "Cost to close PITR gaps: $%.2f/month  (PITR now: $%.2f/month)\n", s.GapMonthlyCostUSD, s.PITRMonthlyCostUSD)
	if s.BackupRequiredTables > 0 {
		fmt.Fprintf(w, "AWS Backup: %d tables require it, %d covered, %d not covered  (backup storage: $%.2f/month)\n",
			s.BackupRequiredTables, s.BackupCoveredTables, s.BackupRequiredUncovered, s.BackupMonthlyCostUSD)
	}
	if s.DynamoDBSpendUSD != nil {
		share := "n/a (no DynamoDB spend)"
		if s.ResilienceCostShare != nil {
			share = fmt.Sprintf("%.1f%%", *s.ResilienceCostShare*100)
		}
		fmt.Fprintf(w, "Spend in %s (Cost Explorer): DynamoDB $%.2f, PITR $%.2f, backup $%.2f; resilience share %s\n",
			s.SpendMonth, *s.DynamoDBSpendUSD, *s.PITRSpendUSD, *s.BackupSpendUSD, share)
	}
	if s.CoverageComplete {
		fmt.Fprintf(w, "Coverage: complete (%s, %s)\n", plural(a.Run.Accounts, "account"), plural(a.Run.Targets, "account-region"))
	} else {
		fmt.Fprintf(w, "Coverage: INCOMPLETE — %s, %s scanned; see errors below\n", plural(a.Run.Accounts, "account"), plural(a.Run.Targets, "account-region"))
	}
	WriteAuditErrors(w, a)
}

// WriteAuditErrors prints the run's errors (nothing when there are none).
// --quiet still shows them: they explain an incomplete coverage or UNKNOWNs.
func WriteAuditErrors(w io.Writer, a *Audit) {
	if len(a.Errors) > 0 {
		fmt.Fprintf(w, "Errors (%d):\n", len(a.Errors))
		for _, e := range a.Errors {
			where := e.Account
			if where == "" {
				where = "run"
			}
			if e.Region != "" {
				where += "/" + e.Region
			}
			if e.Table != "" {
				where += "/" + e.Table
			}
			fmt.Fprintf(w, "  %s: %s: %s\n", where, e.Code, e.Message)
		}
	}
}

// WriteAuditJSON writes the audit envelope like WriteJSON, but encodes one
// table at a time as EachTable yields it, so a report is never held in
// memory (a streamed audit's tables are read from its spill).
func WriteAuditJSON(w io.Writer, a *Audit) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	// Every value is encoded as WriteJSON encodes it: no HTML escaping
	// (json.MarshalIndent would write & < > as \u0026 \u003c \u003e).
	var fb bytes.Buffer
	fenc := json.NewEncoder(&fb)
	fenc.SetEscapeHTML(false)
	fenc.SetIndent("  ", "  ")
	field := func(name string, v any, last bool) error {
		fb.Reset()
		if err := fenc.Encode(v); err != nil {
			return err
		}
		fmt.Fprintf(bw, "  %q: %s", name, bytes.TrimRight(fb.Bytes(), "\n"))
		if !last {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		return nil
	}
	bw.WriteString("{\n")
	if err := field("schema_version", a.SchemaVersion, false); err != nil {
		return err
	}
	if err := field("generated_at", a.GeneratedAt, false); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	n := 0
	err := a.EachTable(func(t *TableResult) error {
		buf.Reset()
		if err := enc.Encode(t); err != nil {
			return err
		}
		if n == 0 {
			bw.WriteString("  \"tables\": [\n    ")
		} else {
			bw.WriteString(",\n    ")
		}
		n++
		_, err := bw.Write(bytes.TrimRight(buf.Bytes(), "\n"))
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		bw.WriteString("  \"tables\": [],\n")
	} else {
		bw.WriteString("\n  ],\n")
	}
	if err := field("errors", a.Errors, false); err != nil {
		return err
	}
	if err := field("summary", a.Summary, false); err != nil {
		return err
	}
	if err := field("run", a.Run, true); err != nil {
		return err
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// plural is "1 account" or "3 accounts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
