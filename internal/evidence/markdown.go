package evidence

import (
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the report as Markdown: the same sections and
// figures as the HTML, without charts (the trend is a table).
func WriteMarkdown(w io.Writer, r *Report) error {
	m := &md{w: w}
	m.f("# %s\n\nPeriod **%s** to **%s** (%s) · generated %s by pitrguard · policy: %s\n\n", r.Title, day(r.Period.From), day(r.Period.To),
		r.Period.Since, stamp(r.GeneratedAt), r.Scope.Policy)

	s := r.Scope
	m.f("## 1. Scope and coverage\n\n")
	if s.Measured {
		m.f("Latest audit: run %s at %s. %d tables in %d account(s) and %d region(s); %d account(s), %d account-region(s) scanned. Coverage complete: %s.\n\n",
			ids(s.LatestAudit.RunIDs), stamp(s.LatestAudit.At), s.Tables, len(s.Accounts), len(s.Regions), s.AccountsScanned, s.AccountRegions, yesNo(s.CoverageComplete))
		m.f("Accounts with tables: %s. Regions: %s.\n\n", join(s.Accounts), join(s.Regions))
		m.table([]string{"Account", "Region", "Code", "Why"}, len(s.Gaps), func(i int) []string {
			g := s.Gaps[i]
			return []string{g.Account, g.Region, g.Code, g.Message}
		})
	}
	m.note(s.Status)

	k := r.KPIs
	m.f("## 2. Key figures now, and their trend\n\n")
	m.note(k.Status)
	m.table([]string{"Figure", "Value"}, 1, nil)
	for _, row := range [][2]string{{"Compliance rate (all tiers)", pct(k.ComplianceRate)}, {"Tables non-compliant or unknown", count(k.OpenFindings)},
		{"Critical tables without PITR", count(k.SnapshotGapTables)}, {"MTTR median (drills)", secs(k.MTTR.MedianSeconds)},
		{"MTTR p90 (drills)", secs(k.MTTR.P90Seconds)}, {"PITR cost, estimate ($/month)", usd(k.PITRMonthlyCostUSD)},
		{"AWS Backup cost, estimate ($/month)", usd(k.BackupMonthlyCostUSD)}, {"Cost to close PITR gaps ($/month)", usd(k.GapMonthlyCostUSD)},
		{"DynamoDB spend " + k.Spend.Month + " (Cost Explorer)", usd(k.Spend.DynamoDBSpendUSD)}, {"PITR + backup share of DynamoDB spend", share(k.Spend)}} {
		m.f("| %s | %s |\n", row[0], cell(row[1]))
	}
	m.f("\n")
	m.table([]string{"Tier", "Tables", "Compliant", "Non-compliant", "Unknown", "Compliance rate"}, len(k.ByTier), func(i int) []string {
		t := k.ByTier[i]
		return []string{t.Tier, itoa(t.Tables), itoa(t.Compliant), itoa(t.NonCompliant), itoa(t.Unknown), pctOf(t.ComplianceRate)}
	})
	m.f("### Trend\n\n")
	m.note(r.Trend.Status)
	m.table([]string{"Audit (UTC)", "Runs", "Tables", "Compliance", "Non-compliant", "Unknown", "Snapshot gap", "PITR $/month"}, len(r.Trend.Points), func(i int) []string {
		p := r.Trend.Points[i]
		return []string{stamp(p.At), ids(p.RunIDs), itoa(p.Tables), pctOf(p.ComplianceRate), itoa(p.NonCompliant), itoa(p.Unknown), itoa(p.SnapshotGapTables), fmt.Sprintf("%.2f", p.PITRMonthlyCostUSD)}
	})

	f := r.Findings
	m.f("## 3. Non-compliant and unknown tables\n\n")
	m.note(f.Status)
	m.table([]string{"Owner", "Account", "Region", "Table", "Tier", "Verdict", "Reasons", "Open since", "Days open"}, len(f.Tables), func(i int) []string {
		x := f.Tables[i]
		since := stamp(x.OpenSince)
		if x.SincePeriodStart {
			since += " (or before)"
		}
		return []string{x.Owner, x.Account, x.Region, x.Table, x.Tier, x.Verdict, join(x.Reasons), since, itoa(x.DaysOpen)}
	})

	e := r.Exceptions
	m.f("## 4. Exceptions register\n\n")
	m.note(e.Status)
	m.table([]string{"Tables (pattern)", "Reason", "Owner", "Expires", "State", "Matched tables"}, len(e.Exemptions), func(i int) []string {
		x := e.Exemptions[i]
		st := "in force"
		switch {
		case x.Expired:
			st = "**EXPIRED**"
		case x.DaysLeft != nil:
			st = itoa(*x.DaysLeft) + " day(s) left"
		}
		return []string{x.Table, x.Reason, x.Owner, orDash(x.Expires), st, join(x.Tables)}
	})

	d := r.Drills
	m.f("## 5. Restore drills\n\n")
	m.note(d.Status)
	m.table([]string{"Started (UTC)", "Table", "Restore point", "Restore s", "Total s", "Result", "Cleanup", "Checks"}, len(d.Drills), func(i int) []string {
		x := d.Drills[i]
		var checks []string
		for _, c := range x.Checks {
			mark := "✓"
			if !c.OK {
				mark = "✗"
			}
			checks = append(checks, mark+" "+c.Name)
		}
		return []string{stamp(x.StartedAt), x.Account + "/" + x.Region + "/" + x.Table, stampPtr(x.RestorePoint), fmt.Sprintf("%.1f", x.RestoreSeconds),
			fmt.Sprintf("%.1f", x.TotalSeconds), x.Result, x.Cleanup, join(checks)}
	})
	if len(d.NeverDrilled) > 0 {
		m.f("Tables with PITR never drilled:\n\n")
		m.table([]string{"Account", "Region", "Table", "Tier"}, len(d.NeverDrilled), func(i int) []string {
			x := d.NeverDrilled[i]
			return []string{x.Account, x.Region, x.Table, x.Tier}
		})
	}

	c := r.Changes
	m.f("## 6. Changes\n\n")
	m.note(c.Status)
	m.table([]string{"At (UTC)", "Who", "Table", "What", "Before", "After", "Result"}, len(c.Journal), func(i int) []string {
		x := c.Journal[i]
		return []string{stamp(x.At), x.Caller, x.Account + "/" + x.Region + "/" + x.Table, x.Action, state(x.Before), state(x.After), x.Result}
	})
	m.table([]string{"At (UTC)", "Event", "Actor", "Table", "Action", "Result"}, len(c.EventActions), func(i int) []string {
		x := c.EventActions[i]
		return []string{stamp(x.At), x.EventName, x.Actor, x.Account + "/" + x.Region + "/" + x.Table, x.Action, x.Result}
	})
	m.table([]string{"At (UTC)", "Run", "Who", "Source", "Target", "Seconds", "Status"}, len(c.Restores), func(i int) []string {
		x := c.Restores[i]
		return []string{stamp(x.At), itoa64(x.RunID), x.Caller, x.Source, x.Target, fmt.Sprintf("%.1f", x.DurationSeconds), x.Status}
	})

	m.f("## 7. Guardrail and backup coverage\n\n### Guardrails\n\n")
	g := r.Guardrails
	m.note(g.Status)
	m.table([]string{"Account", "Prevent", "Detect", "Correct", "Trail"}, len(g.Accounts), func(i int) []string {
		x := g.Accounts[i]
		return []string{x.Account, x.Prevent, x.Detect, x.Correct, x.Trail}
	})
	m.f("### AWS Backup\n\n")
	b := r.Backup
	if b.Measured {
		m.f("%s table(s) require AWS Backup, %s covered, %s not covered; estimate %s/month.\n\n", count(b.RequiredTables), count(b.CoveredTables), count(b.RequiredUncovered), usd(b.MonthlyCostUSD))
	}
	m.note(b.Status)

	m.f("## 8. Control mapping\n\n")
	m.note(r.Controls.Status)
	m.table([]string{"Framework", "Control", "What this report shows", "Sections", "With data"}, len(r.Controls.Rows), func(i int) []string {
		x := r.Controls.Rows[i]
		return []string{x.Framework, x.ID + " " + x.Title, x.Shows, join(x.Sections), join(x.Measured)}
	})

	in := r.Integrity
	m.f("## 9. Integrity\n\n%s of %s: `%s`\n\nBuilt from runs: %s.\n", in.Algorithm, in.Covers, in.SHA256, orDash(ids(in.RunIDs)))
	return m.err
}

type md struct {
	w   io.Writer
	err error
}

func (m *md) f(format string, a ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, a...)
	}
}

func (m *md) note(s Status) {
	if s.Note != "" {
		if s.Measured {
			m.f("_%s._\n\n", s.Note)
		} else {
			m.f("**%s**\n\n", cell(s.Note))
		}
	}
}

// table prints a header and n rows; with row nil it prints the header only.
func (m *md) table(head []string, n int, row func(int) []string) {
	if n == 0 {
		return
	}
	m.f("| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)))
	if row == nil {
		return
	}
	for i := range n {
		cells := row(i)
		for j := range cells {
			cells[j] = cell(cells[j])
		}
		m.f("| %s |\n", strings.Join(cells, " | "))
	}
	m.f("\n")
}

// cell makes s one Markdown table cell: a pipe would end the cell, a newline
// the row, and `<` or `&` could start raw HTML in a renderer.
var cellEscaper = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;", "&", "&amp;")

func cell(s string) string { return cellEscaper.Replace(s) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func itoa(n int) string { return fmt.Sprint(n) }

func itoa64(n int64) string { return fmt.Sprint(n) }
