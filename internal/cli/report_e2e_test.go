package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/evidence"
	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/store"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

const reportPolicy = `tiers:
  - name: critical
    match: { tags: { env: [prod] } }
default_tier: standard
owner_tags: [owner]
exemptions:
  - table: "scratch-*"
    reason: rebuilt nightly from S3
    owner: data-platform
    expires: 2027-03-31
  - table: "tmp-*"
    reason: migration leftovers
    owner: analytics
    expires: 2026-10-31
`

// TestReportJSON builds the report end to end from a history the real
// commands recorded against moto: three audits, an enable and a drill.
func TestReportJSON(t *testing.T) {
	e := newEnv(t, 1)
	policy := e.writeFile(t, "pitrguard.yaml", reportPolicy)
	m := e.members[0]
	e.tables(t, testaws.ManagementAccount, "us-east-1", testaws.TableSpec{Name: "ledger", PITR: true, Items: 5, Tags: map[string]string{"env": "prod", "owner": "payments"}})
	e.tables(t, m, "us-east-1",
		testaws.TableSpec{Name: "events", Tags: map[string]string{"owner": "analytics"}},
		testaws.TableSpec{Name: "users", Tags: map[string]string{"owner": "identity"}},
		testaws.TableSpec{Name: "scratch-1", Tags: map[string]string{"owner": "data-platform"}})
	at := func(d int) time.Time { return fixedNow.Add(-time.Duration(d) * 24 * time.Hour) }
	must := func(r result, what string) result {
		t.Helper()
		if r.code != ExitOK {
			t.Fatalf("%s: exit %d\n%s", what, r.code, r.errOut)
		}
		return r
	}
	audit := []string{"audit", "--org", "--regions", "us-east-1", "--config", policy, "--format", "json"}
	must(e.runAt(t, at(20), audit...), "audit 1")
	must(e.runAt(t, at(10), audit...), "audit 2")
	must(e.runAt(t, at(5), "enable", "--org", "--regions", "us-east-1", "--config", policy, "--owner", "identity", "--apply", "--yes", "--format", "json"), "enable")
	last := must(e.runAt(t, at(2), audit...), "audit 3").audit(t)
	must(e.runAt(t, at(1), "drill", "--table", "ledger", "--regions", "us-east-1", "--yes", "--format", "json", "--poll", "10ms"), "drill")

	out := filepath.Join(e.dir, "evidence.json")
	r := must(e.run(t, "report", "--since", "90d", "--config", policy, "-o", out), "report")
	if !strings.Contains(r.errOut, "Evidence report (json)") || !strings.Contains(r.errOut, "3 audit(s), 1 drill(s)") {
		t.Errorf("stderr: %s", r.errOut)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := evidence.Verify(data); err != nil {
		t.Error(err)
	}
	var rep evidence.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}

	// kpis equal the latest audit's stored summary.
	h := must(e.run(t, "history", "--kind", "audit", "--format", "json"), "history")
	var hist struct {
		Runs []struct {
			ID      int64           `json:"id"`
			Summary json.RawMessage `json:"summary"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(h.out), &hist); err != nil || len(hist.Runs) != 3 {
		t.Fatalf("history: %v\n%s", err, h.out)
	}
	var stored struct {
		ComplianceRate    float64 `json:"compliance_rate"`
		SnapshotGapTables int     `json:"snapshot_gap_tables"`
		Tables            int     `json:"tables"`
	}
	if err := json.Unmarshal(hist.Runs[0].Summary, &stored); err != nil {
		t.Fatal(err)
	}
	k := rep.KPIs
	if k.ComplianceRate == nil || *k.ComplianceRate != stored.ComplianceRate || *k.ComplianceRate != last.Summary.ComplianceRate ||
		*k.SnapshotGapTables != stored.SnapshotGapTables || *k.Tables != stored.Tables || k.Audit.RunIDs[0] != hist.Runs[0].ID {
		t.Errorf("kpis %v/%v/%v of run %v; stored summary of run %d: %+v", *k.ComplianceRate, *k.SnapshotGapTables, *k.Tables, k.Audit.RunIDs, hist.Runs[0].ID, stored)
	}
	if *k.ComplianceRate != 2.0/3 {
		t.Errorf("compliance rate %v: want 2/3 (ledger and users compliant, events not, scratch-1 exempt)", *k.ComplianceRate)
	}
	if s := rep.Scope; s.Tables != 4 || len(s.Accounts) != 2 || s.Runs["audit"] != 3 || s.Runs["drill"] != 1 || s.Runs["enable"] != 1 || !s.CoverageComplete {
		t.Errorf("scope: %+v", s)
	}
	if len(rep.Findings.Tables) != 1 {
		t.Fatalf("open tables: %+v", rep.Findings.Tables)
	}
	if f := rep.Findings.Tables[0]; f.Table != "events" || f.Owner != "analytics" || !f.OpenSince.Equal(at(20)) || f.DaysOpen != 18 || !f.SincePeriodStart {
		t.Errorf("events: %+v; want open since the first audit, 18 days", f)
	}
	if ex := rep.Exceptions; len(ex.Exemptions) != 2 || ex.Expired != 1 || ex.ExemptNow != 1 {
		t.Errorf("exceptions: %+v", ex)
	}
	if d := rep.Drills; len(d.Drills) != 1 || d.Passed != 1 || len(d.Drills[0].Checks) == 0 || d.Drills[0].Table != "ledger" || !rep.KPIs.MTTR.Measured {
		t.Errorf("drills: %+v", d)
	}
	if len(rep.Drills.NeverDrilled) != 1 || rep.Drills.NeverDrilled[0].Table != "users" {
		t.Errorf("never drilled: %+v (users got PITR from the enable and was never drilled)", rep.Drills.NeverDrilled)
	}
	if c := rep.Changes; len(c.Journal) != 1 || c.Journal[0].Table != "users" || c.Journal[0].Action == "" || c.Runs["enable"] != 1 {
		t.Errorf("changes: %+v", c.Journal)
	}
	if len(rep.Trend.Points) != 3 || rep.Trend.Points[0].ComplianceRate != 1.0/3 {
		t.Errorf("trend: %+v", rep.Trend.Points)
	}
	if len(rep.Controls.Rows) != 8 || rep.Guardrails.Measured || rep.Backup.Measured || rep.KPIs.Spend.Measured {
		t.Errorf("controls %d; guardrails, backup and spend were not recorded and must say so", len(rep.Controls.Rows))
	}

	// An edited report no longer verifies.
	if err := evidence.Verify([]byte(strings.Replace(string(data), `"days_open": 18`, `"days_open": 1`, 1))); err == nil {
		t.Error("an edited report verifies")
	}
	// The Markdown and HTML forms, chosen by the extension.
	mdPath := filepath.Join(e.dir, "evidence.md")
	must(e.run(t, "report", "-o", mdPath, "--config", policy), "report md")
	md, _ := os.ReadFile(mdPath)
	for _, want := range []string{"## 1. Scope and coverage", "## 5. Restore drills", "## 9. Integrity", "| analytics | " + m + " | us-east-1 | events |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	html := must(e.run(t, "report", "-q"), "report html to stdout")
	if !strings.HasPrefix(html.out, "<!DOCTYPE html>") || html.errOut != "" {
		t.Errorf("html to stdout: %.60q, stderr %q", html.out, html.errOut)
	}
}

func TestReportErrors(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) result {
		ios, _, out, errOut := iostreams.Test()
		code := Run(context.Background(), args, &Factory{IO: ios, Now: func() time.Time { return fixedNow }})
		return result{code: code, out: out.String(), errOut: errOut.String()}
	}
	none := filepath.Join(dir, "none.db")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"report", "--db", none}, ExitNoMatch, "no history to report on"},
		{[]string{"report", "--db", none, "--since", "0d"}, ExitUsage, "greater than zero"},
		{[]string{"report", "--db", none, "--since", "ninety days"}, ExitUsage, "is not a duration"},
		{[]string{"report", "--db", none, "--format", "pdf"}, ExitUsage, `--format "pdf" is not supported; use html, json or md`},
		{[]string{"report", "--db", none, "-o", filepath.Join(dir, "missing", "r.html")}, ExitUsage, "does not exist"},
		{[]string{"report", "--db", none, "--no-store"}, ExitUsage, "drop --no-store"},
		{[]string{"report", "--db", none, "--config", filepath.Join(dir, "nope.yaml")}, ExitUsage, "policy file"},
	} {
		r := run(c.args...)
		if r.code != c.code || !strings.Contains(r.errOut, c.msg) || r.out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d and %q", c.args, r.code, r.errOut, r.out, c.code, c.msg)
		}
	}
	if _, err := os.Stat(none); err == nil {
		t.Error("report created a history database")
	}
	// A history database with no run in it: nothing to report either.
	empty := filepath.Join(dir, "empty.db")
	db, err := store.Open(context.Background(), empty)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	out := filepath.Join(dir, "r.html")
	if r := run("report", "--db", empty, "-o", out); r.code != ExitNoMatch || !strings.Contains(r.errOut, "nothing is recorded in") {
		t.Errorf("empty history: exit %d %s", r.code, r.errOut)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a report was written with nothing recorded")
	}
}
