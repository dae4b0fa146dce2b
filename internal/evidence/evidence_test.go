package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/store"
)

var update = flag.Bool("update", false, "rewrite testdata/report.golden.json")

func jsonOf(t *testing.T, r *Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGoldenJSON: the JSON form of a fixed history at a fixed clock.
func TestGoldenJSON(t *testing.T) {
	got := jsonOf(t, build(t, fixture(t)))
	path := filepath.Join("testdata", "report.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("report JSON differs from %s (-want +got):\n%s", path, diff)
	}
	if err := Verify(want); err != nil {
		t.Errorf("the golden report does not verify: %v", err)
	}
}

func TestSections(t *testing.T) {
	r := build(t, fixture(t))
	// Scope: the latest audit, its gap, the runs of the period.
	if s := r.Scope; !s.Measured || s.Tables != 5 || len(s.Accounts) != 2 || s.CoverageComplete || len(s.Gaps) != 1 ||
		s.Gaps[0].Account != "333333333333" || s.Audits != 3 || s.Runs["audit"] != 3 || s.Runs["drill"] != 3 || s.Runs["enable"] != 1 || s.Runs["restore"] != 1 {
		t.Errorf("scope: %+v", s)
	}
	// KPIs: the latest audit's summary, MTTR from the two passed drills of the period.
	k := r.KPIs
	if !k.Measured || *k.ComplianceRate != 0.25 || *k.OpenFindings != 3 || *k.SnapshotGapTables != 0 || *k.PITRMonthlyCostUSD != 4 || *k.BackupMonthlyCostUSD != 3.25 {
		t.Errorf("kpis: rate %v open %v gap %v pitr %v backup %v", *k.ComplianceRate, *k.OpenFindings, *k.SnapshotGapTables, *k.PITRMonthlyCostUSD, k.BackupMonthlyCostUSD)
	}
	// Drills of the period that timed a restore: 100 s and 320 s (passed) and
	// 50 s (its checks failed after the restore); the 999 s one is outside.
	// Nearest rank, as `pitrguard drill` and serve compute it.
	if m := k.MTTR; !m.Measured || m.Drills != 3 || *m.MedianSeconds != 100 || *m.P90Seconds != 320 {
		t.Errorf("mttr: %+v median %v p90 %v (want 3 drills, 100, 320: the 999 s drill is outside the period)", m, deref(m.MedianSeconds), deref(m.P90Seconds))
	}
	if sp := k.Spend; !sp.Measured || sp.Month != "2026-10" || *sp.ResilienceCostShare != 0.2 || *sp.DynamoDBSpendUSD != 200 {
		t.Errorf("spend: %+v", sp)
	}
	if len(r.Trend.Points) != 3 || r.Trend.Points[0].ComplianceRate != 1.0/3 || r.Trend.Points[2].ComplianceRate != 0.25 {
		t.Errorf("trend: %+v", r.Trend.Points)
	}
	// Findings: open streaks.
	open := map[string]Finding{}
	for _, f := range r.Findings.Tables {
		open[f.Table] = f
	}
	if len(open) != 3 {
		t.Fatalf("open tables: %+v", r.Findings.Tables)
	}
	if e := open["events"]; !e.OpenSince.Equal(days(30)) || e.DaysOpen != 29 || !e.SincePeriodStart || e.Owner != "analytics" {
		t.Errorf("events (open in every audit of the period, and before): %+v", e)
	}
	if u := open["users"]; !u.OpenSince.Equal(days(1)) || u.DaysOpen != 0 || u.SincePeriodStart || u.Verdict != "UNKNOWN" {
		t.Errorf("users (open, compliant, open again): %+v", u)
	}
	if x := open["tmp-old"]; !x.OpenSince.Equal(days(1)) || len(x.Reasons) != 2 {
		t.Errorf("tmp-old: %+v", x)
	}
	if bo := r.Findings.ByOwner; len(bo) != 2 || bo[0].Key != "analytics" || bo[0].NonCompliant != 2 || bo[1].Key != "identity" || bo[1].Unknown != 1 {
		t.Errorf("by owner: %+v", bo)
	}
	// Exceptions: the expired one flagged.
	ex := r.Exceptions
	if len(ex.Exemptions) != 2 || ex.Expired != 1 || ex.ExemptNow != 1 {
		t.Fatalf("exceptions: %+v", ex)
	}
	if s, tmp := ex.Exemptions[0], ex.Exemptions[1]; s.Expired || *s.DaysLeft != 127 || len(s.Tables) != 1 || !tmp.Expired || *tmp.DaysLeft != -24 || tmp.Tables[0] != acctB+"/us-east-1/tmp-old" {
		t.Errorf("exemptions: %+v (days left %d) %+v (days left %d)", s, *s.DaysLeft, tmp, *tmp.DaysLeft)
	}
	// Drills: only those of the period, with their checks; tables never drilled.
	d := r.Drills
	if len(d.Drills) != 3 || d.Passed != 2 || d.Failed != 1 || len(d.Drills[0].Checks) != 2 || !d.Drills[0].StartedAt.Equal(days(10)) {
		t.Errorf("drills: %+v", d)
	}
	if len(d.NeverDrilled) != 0 {
		t.Errorf("never drilled: %+v (ledger, the only table with PITR, was drilled)", d.NeverDrilled)
	}
	// Changes: journal, event handler, restore.
	c := r.Changes
	if len(c.Journal) != 1 || c.Journal[0].Table != "users" || len(c.EventActions) != 1 || len(c.Restores) != 1 ||
		c.Restores[0].Source != acctB+"/us-east-1/ledger" || c.Restores[0].DurationSeconds != 95.5 || c.Runs["enable"] != 1 {
		t.Errorf("changes: %+v", c)
	}
	if g := r.Guardrails; !g.Measured || len(g.Accounts) != 2 || g.ByLayer["correct"]["no"] != 1 || g.Summary.FullyGuarded != 1 {
		t.Errorf("guardrails: %+v", g)
	}
	if b := r.Backup; !b.Measured || *b.RequiredTables != 2 || *b.RequiredUncovered != 1 {
		t.Errorf("backup: %+v", b)
	}
	if len(r.Controls.Rows) != 8 || r.Controls.Rows[1].ID != "A1.3" || len(r.Controls.Rows[1].Measured) != 1 {
		t.Errorf("controls: %+v", r.Controls.Rows)
	}
	// Integrity: every run read, and a hash that verifies and breaks on an edit.
	if got := r.Integrity.RunIDs; len(got) != 3+3+1+1+1 || got[0] != 2 {
		t.Errorf("run ids: %v (want the 3 audits of the period, 3 drills, the enable, the restore and the guardrails check)", got)
	}
	data := jsonOf(t, r)
	if err := Verify(data); err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(data, []byte(`"compliance_rate": 0.25`), []byte(`"compliance_rate": 0.9`), 1)
	if bytes.Equal(edited, data) || Verify(edited) == nil {
		t.Error("an edited report still verifies")
	}
	// The sed recipe the report prints gives the same bytes Verify hashes.
	blank := regexp.MustCompile(`(?m)^(    "sha256": )"[0-9a-f]*"`).ReplaceAll(data, []byte(`${1}""`))
	c2 := *r
	c2.Integrity.SHA256 = ""
	if !bytes.Equal(blank, jsonOf(t, &c2)) {
		t.Error("blanking the hash in the file does not give the hashed form")
	}
}

// TestOutsideThePeriod: a shorter period leaves out the older audits and
// drills, and open streaks start at its first audit.
func TestOutsideThePeriod(t *testing.T) {
	r, err := Build(context.Background(), fixture(t), Options{Now: now, Since: 7 * 24 * time.Hour, SinceText: "7d", Policy: testPolicy(t)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Scope.Audits != 1 || len(r.Drills.Drills) != 2 || r.KPIs.MTTR.Drills != 2 || *r.KPIs.MTTR.MedianSeconds != 50 || *r.KPIs.MTTR.P90Seconds != 320 || len(r.Trend.Points) != 1 {
		t.Errorf("7d: audits %d drills %d mttr %+v", r.Scope.Audits, len(r.Drills.Drills), r.KPIs.MTTR)
	}
	for _, f := range r.Findings.Tables {
		if !f.OpenSince.Equal(days(1)) || !f.SincePeriodStart {
			t.Errorf("%s: open since %s", f.Table, f.OpenSince)
		}
	}
}

// TestNothingRecorded: an empty history gives a report where every section
// says "not measured yet" and holds no figure.
func TestNothingRecorded(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := Build(context.Background(), db, Options{Now: now, Since: 90 * 24 * time.Hour, SinceText: "90d"})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]Status{"scope": r.Scope.Status, "kpis": r.KPIs.Status, "mttr": r.KPIs.MTTR.Status, "spend": r.KPIs.Spend.Status,
		"trend": r.Trend.Status, "findings": r.Findings.Status, "exceptions": r.Exceptions.Status, "drills": r.Drills.Status,
		"changes": r.Changes.Status, "guardrails": r.Guardrails.Status, "backup": r.Backup.Status, "controls": r.Controls.Status} {
		if s.Measured || !strings.HasPrefix(s.Note, NotMeasured+": ") || len(s.Note) < len(NotMeasured)+20 {
			t.Errorf("%s: %+v; want not measured, with how to measure it", name, s)
		}
	}
	k := r.KPIs
	if k.ComplianceRate != nil || k.Tables != nil || k.OpenFindings != nil || k.SnapshotGapTables != nil || k.PITRMonthlyCostUSD != nil ||
		k.MTTR.MedianSeconds != nil || k.Spend.ResilienceCostShare != nil || r.Backup.RequiredTables != nil {
		t.Errorf("figures without data: %+v", k)
	}
	data := jsonOf(t, r)
	for _, arr := range []string{`"gaps": null`, `"points": null`, `"drills": null`, `"journal": null`, `"run_ids": null`, `"exemptions": null`} {
		if bytes.Contains(data, []byte(arr)) {
			t.Errorf("JSON has %s: arrays are never null", arr)
		}
	}
	if err := Verify(data); err != nil {
		t.Error(err)
	}
	var h, m bytes.Buffer
	if err := WriteHTML(&h, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&m, r); err != nil {
		t.Fatal(err)
	}
	figure := regexp.MustCompile(`\d+\.\d%|\$\d`)
	for name, out := range map[string]string{"html": h.String(), "markdown": m.String()} {
		if loc := figure.FindStringIndex(out); loc != nil {
			t.Errorf("%s shows a figure with nothing recorded: %q", name, out[max(0, loc[0]-80):loc[1]+20])
		}
		if c := strings.Count(out, NotMeasured); c < 10 {
			t.Errorf("%s says %q %d times, want every section", name, NotMeasured, c)
		}
	}
	if strings.Contains(h.String(), "<script") || strings.Contains(h.String(), "http://") || strings.Contains(h.String(), "https://") {
		t.Error("the HTML refers to a script or a URL")
	}
}

// TestFormats: the HTML and the Markdown hold the sections and the figures
// of the JSON form.
func TestFormats(t *testing.T) {
	r := build(t, fixture(t))
	var h, m bytes.Buffer
	if err := WriteHTML(&h, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&m, r); err != nil {
		t.Fatal(err)
	}
	html, md := h.String(), m.String()
	for _, id := range []string{"scope", "kpis", "findings", "exceptions", "drills", "changes", "coverage", "controls", "integrity"} {
		if !strings.Contains(html, `<section id="`+id+`"`) {
			t.Errorf("HTML lacks section %s", id)
		}
	}
	for i, title := range []string{"Scope and coverage", "Key figures", "Non-compliant and unknown", "Exceptions register", "Restore drills", "Changes",
		"Guardrail and backup coverage", "Control mapping", "Integrity"} {
		if !strings.Contains(md, "## "+string(rune('1'+i))+". "+title) {
			t.Errorf("Markdown lacks section %d. %s", i+1, title)
		}
	}
	for _, want := range []string{`data-kpi="compliance_rate" data-value="0.25"`, `data-kpi="mttr_median_seconds" data-value="100"`, `class="expired"`,
		r.Integrity.SHA256, "@media print", "@page", "@top-left{content:\"DynamoDB backup and recovery evidence · 5 tables, 2 accounts, 1 region · 2026-08-26 to 2026-11-24\"", "counter(pages)", `data-chart="compliance" data-points="3"`} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if n := strings.Count(html, `<circle class="pt"`); n != 9 {
		t.Errorf("%d chart points of class pt, want 9 (3 charts × 3 audits)", n)
	}
	for _, want := range []string{"| Compliance rate (all tiers) | 25.0% |", "**EXPIRED**", r.Integrity.SHA256, "29 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
}

// reportJSON decodes the JSON form generically (for the browser test).
func reportJSON(t *testing.T, r *Report) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(jsonOf(t, r), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSpendFromTheNewestAuditThatReadIt: audits may read Cost Explorer less
// often than they run; the spend is the newest measured one of the period,
// naming the audit that read it, and none outside the period is used.
func TestSpendFromTheNewestAuditThatReadIt(t *testing.T) {
	db := fixture(t)
	later := addAudit(t, db, now.Add(-time.Hour), nil, nil, events, ledger) // reads no Cost Explorer
	r := build(t, db)
	sp := r.KPIs.Spend
	if !sp.Measured || sp.Audit == nil || len(sp.Audit.RunIDs) != 1 || sp.Audit.RunIDs[0] != 4 || !sp.Audit.At.Equal(days(1)) ||
		sp.DynamoDBSpendUSD == nil || *sp.DynamoDBSpendUSD != 200 || sp.Month != "2026-10" {
		t.Errorf("spend: %+v (audit %+v)", sp, sp.Audit)
	}
	if la := r.KPIs.Audit; la == nil || la.RunIDs[0] != later {
		t.Errorf("the other KPIs are still the latest audit's (run %d): %+v", later, la)
	}
	if !strings.Contains(sp.Note, days(1).UTC().Format("2006-01-02 15:04 UTC")) {
		t.Errorf("the note does not say which audit read the spend: %q", sp.Note)
	}
	r, err := Build(context.Background(), db, Options{Now: now, Since: 2 * time.Hour, SinceText: "2h", Policy: testPolicy(t)})
	if err != nil {
		t.Fatal(err)
	}
	if r.KPIs.Spend.Measured || r.KPIs.Spend.DynamoDBSpendUSD != nil {
		t.Errorf("a spend read before the period is used: %+v", r.KPIs.Spend)
	}
}

// An audit that failed before it judged a table (recorded as status failed,
// no table, an empty summary) is neither the latest audit nor a point of the
// trend: its zeros were never measured.
func TestFailedAuditIsNotAnAudit(t *testing.T) {
	db := fixture(t)
	before := build(t, db)
	ctx := context.Background()
	id, err := db.StartRun(ctx, store.RunStart{Kind: "audit", Caller: "arn:aws:iam::111111111111:user/auditor", Args: "pitrguard audit --org", StartedAt: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EndRun(ctx, id, store.RunEnd{Status: store.StatusFailed, Summary: struct{}{}, Errors: []any{}, Finished: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r := build(t, db)
	if r.KPIs.ComplianceRate == nil || *r.KPIs.ComplianceRate != *before.KPIs.ComplianceRate || *r.KPIs.Tables != *before.KPIs.Tables ||
		r.KPIs.Audit.RunIDs[0] != before.KPIs.Audit.RunIDs[0] {
		t.Errorf("KPIs after a failed audit: rate %v, tables %v, audit %+v; want those of run %d", r.KPIs.ComplianceRate, r.KPIs.Tables, r.KPIs.Audit, before.KPIs.Audit.RunIDs[0])
	}
	if len(r.Trend.Points) != len(before.Trend.Points) || r.Scope.Audits != before.Scope.Audits || len(r.Findings.Tables) != len(before.Findings.Tables) {
		t.Errorf("trend points %d (want %d), audits %d, findings %d (want %d)", len(r.Trend.Points), len(before.Trend.Points), r.Scope.Audits,
			len(r.Findings.Tables), len(before.Findings.Tables))
	}
}

// A failed Cost Explorer query is an error of the audit, not a gap in its
// coverage: the scope section lists no gap and says coverage is complete.
func TestSpendErrorIsNoCoverageGap(t *testing.T) {
	db := fixture(t)
	ctx := context.Background()
	at := now.Add(-time.Hour)
	id, err := db.StartRun(ctx, store.RunStart{Kind: "audit", Caller: "arn:aws:iam::111111111111:user/auditor", Args: "pitrguard audit --cost-explorer", StartedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddTables(ctx, id, []store.TableRecord{events.record(t), ledger.record(t)}); err != nil {
		t.Fatal(err)
	}
	errs := []map[string]string{{"account": acctA, "region": "us-east-1", "table": "", "code": "AccessDeniedException",
		"reason": "spend_unreadable", "message": "cannot read the DynamoDB spend from Cost Explorer"}}
	info := map[string]any{"status": "completed", "accounts": 2, "account_regions": 2}
	if err := db.EndRun(ctx, id, store.RunEnd{Status: "completed", Coverage: true, Summary: summaryOf([]tbl{events, ledger}, nil), Errors: errs, Info: info, Finished: at}); err != nil {
		t.Fatal(err)
	}
	r := build(t, db)
	if !r.Scope.CoverageComplete || len(r.Scope.Gaps) != 0 || !strings.Contains(r.Scope.Note, "read every account-region") {
		t.Errorf("scope: coverage %v, gaps %+v, note %q; want complete with no gap", r.Scope.CoverageComplete, r.Scope.Gaps, r.Scope.Note)
	}
}

// A control whose evidence is drills, restores and the MTTR is not shown as
// evidenced by the KPIs section when the history holds audits only: the
// compliance figures there say nothing about recovery.
func TestControlWithoutRecoveryDataHasNoData(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "audits.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	addAudit(t, db, days(2), nil, nil, events, ledger)
	r := build(t, db)
	if !r.KPIs.Measured || r.KPIs.MTTR.Measured {
		t.Fatalf("fixture: kpis %v, mttr %v", r.KPIs.Measured, r.KPIs.MTTR.Measured)
	}
	for _, c := range r.Controls.Rows {
		if c.ID == "§164.308(a)(7)(ii)(B)" && len(c.Measured) != 0 {
			t.Errorf("%s (%s) is shown with data in %v, but no drill, restore or MTTR is recorded", c.ID, c.Title, c.Measured)
		}
	}
}

// Cost Explorer measured no DynamoDB spend at all: the share has nothing to
// divide by (null in the JSON form), but it was measured — the HTML and
// Markdown must not say "not measured yet" for it.
func TestNoDynamoDBSpendIsMeasured(t *testing.T) {
	db := fixture(t)
	addAudit(t, db, now.Add(-time.Hour), map[string]any{"spend_month": "2026-10", "dynamodb_spend_usd": 0.0, "pitr_spend_usd": 0.0, "backup_spend_usd": 0.0,
		"resilience_cost_share": nil}, nil, events, ledger)
	r := build(t, db)
	if sp := r.KPIs.Spend; !sp.Measured || sp.ResilienceCostShare != nil || sp.DynamoDBSpendUSD == nil || *sp.DynamoDBSpendUSD != 0 {
		t.Fatalf("spend: %+v", sp)
	}
	var h, m bytes.Buffer
	if err := WriteHTML(&h, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&m, r); err != nil {
		t.Fatal(err)
	}
	card := regexp.MustCompile(`data-kpi="resilience_cost_share" data-value=""><span class="v">([^<]*)<`).FindStringSubmatch(h.String())
	if card == nil || strings.Contains(card[1], NotMeasured) || !strings.Contains(card[1], "no DynamoDB spend") {
		t.Errorf("HTML share card: %q; want it to say there was no DynamoDB spend", card)
	}
	if strings.Contains(h.String(), "; share "+NotMeasured) {
		t.Error("HTML spend line says the share was not measured")
	}
	if !strings.Contains(m.String(), "| PITR + backup share of DynamoDB spend | n/a (no DynamoDB spend) |") {
		t.Error("Markdown share row does not say there was no DynamoDB spend")
	}
}

// An audit of a narrower scope (another --regions or --accounts) with
// complete coverage did not look at the tables outside it: their absence
// from it does not end their open streak.
func TestOpenSinceSurvivesANarrowerAudit(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "scopes.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eu := tbl{account: acctB, region: "eu-west-1", name: "orders", owner: "shop", tier: "standard", verdict: "NON_COMPLIANT", pitr: "DISABLED", reasons: []string{"pitr_disabled"}}
	gone := tbl{account: acctA, name: "gone", owner: "analytics", tier: "standard", verdict: "NON_COMPLIANT", pitr: "DISABLED", reasons: []string{"pitr_disabled"}}
	addAudit(t, db, days(30), nil, nil, events, gone, eu) // the whole estate
	addAudit(t, db, days(15), nil, nil, events)           // us-east-1 only (--regions us-east-1): complete, gone was deleted
	addAudit(t, db, days(1), nil, nil, events, gone, eu)  // the whole estate again; gone was recreated
	r := build(t, db)
	since := map[string]time.Time{}
	for _, f := range r.Findings.Tables {
		since[f.Table] = f.OpenSince
	}
	if !since["orders"].Equal(days(30)) {
		t.Errorf("orders open since %s; want %s (the us-east-1 audit did not read eu-west-1)", since["orders"], days(30))
	}
	if !since["gone"].Equal(days(1)) || !since["events"].Equal(days(30)) {
		t.Errorf("gone open since %s (want %s: absent from an audit that read its account-region), events since %s", since["gone"], days(1), since["events"])
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

// TestDrillThatNeverRestoredIsNotADrill: a drill that failed before its
// restore (restore_seconds 0) proved nothing, so its table is still listed
// as never drilled, and it adds nothing to the MTTR.
func TestDrillThatNeverRestoredIsNotADrill(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	addAudit(t, db, days(2), nil, nil, ledger)
	addDrill(t, db, days(1), "ledger", 0, "failed")
	r := build(t, db)
	if nd := r.Drills.NeverDrilled; len(nd) != 1 || nd[0].Table != "ledger" {
		t.Errorf("never drilled: %+v, want ledger (its only drill never restored)", nd)
	}
	if len(r.Drills.Drills) != 1 || r.Drills.Failed != 1 {
		t.Errorf("the failed drill is still listed: %+v", r.Drills)
	}
	if m := r.KPIs.MTTR; m.Measured || m.MedianSeconds != nil {
		t.Errorf("mttr from a drill that timed no restore: %+v", m)
	}
}

// TestMarkdownCell: a cell keeps its table row intact and cannot inject
// HTML into a Markdown renderer.
func TestMarkdownCell(t *testing.T) {
	for in, want := range map[string]string{
		"a|b":                          `a\|b`,
		"line\nbreak":                  "line break",
		"<script>alert(1)</script>":    "&lt;script&gt;alert(1)&lt;/script&gt;",
		"R&D <team>":                   "R&amp;D &lt;team&gt;",
		"arn:aws:dynamodb:*:1:table/x": "arn:aws:dynamodb:*:1:table/x",
	} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}
