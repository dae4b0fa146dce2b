package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/store"
	"github.com/pitrguard/pitrguard/internal/testhttp"
	"github.com/pitrguard/pitrguard/internal/testpg"
)

const (
	acct1 = "111111111111"
	acct2 = "222222222222"
)

// estate is the latest audit of the page tests: every verdict, three tiers,
// two accounts and two regions.
func estate() []tbl {
	return []tbl{
		{Account: acct1, Region: "us-east-1", Name: "orders", Tier: "critical", Owner: "payments", Verdict: model.Compliant, PITR: true, Days: 35, Cost: 4.5},
		{Account: acct1, Region: "us-east-1", Name: "sessions", Tier: "critical", Verdict: model.NonCompliant, Reasons: []model.Reason{model.ReasonPITRDisabled}, Cost: 2.25},
		{Account: acct1, Region: "eu-west-1", Name: "users", Tier: "standard", Owner: "identity", Verdict: model.Compliant, PITR: true, Days: 7, Cost: 1},
		{Account: acct2, Region: "us-east-1", Name: "events", Tier: "standard", Owner: "analytics", Verdict: model.NonCompliant, Reasons: []model.Reason{model.ReasonPITRDisabled}, Cost: 3},
		{Account: acct2, Region: "us-east-1", Name: "scratch-1", Tier: "standard", Owner: "data", Verdict: model.Exempt},
		{Account: acct2, Region: "eu-west-1", Name: "cache", Tier: "ephemeral", Verdict: model.Skipped},
		{Account: acct2, Region: "eu-west-1", Name: "ledger", Tier: "critical", Owner: "payments", Verdict: model.Unknown, Reasons: []model.Reason{model.ReasonAccessDenied}},
	}
}

// recordHistory writes the page tests' history: an older audit, the latest
// one (with an error), an audit still running, drills and a journal entry.
// It returns the latest audit's run id and summary.
func recordHistory(t *testing.T, db store.Store) (int64, policy.Summary) {
	t.Helper()
	ctx := context.Background()
	older := estate()[:3]
	older[0].Verdict, older[0].PITR, older[0].Reasons = model.NonCompliant, false, []model.Reason{model.ReasonPITRDisabled}
	recordAudit(t, db, auditSpec{Tables: older, Started: now.Add(-48 * time.Hour)})
	id, sum := recordAudit(t, db, auditSpec{Tables: estate(), Incomplete: true, Started: now.Add(-2 * time.Hour),
		Errors: []model.ScanError{{Account: acct2, Region: "ap-south-1", Code: "AccessDeniedException", Reason: model.ReasonAccessDenied, Message: "cannot assume the role"}}})
	// Still running: passed over until it ends.
	recordAudit(t, db, auditSpec{Tables: []tbl{{Account: acct1, Region: "us-east-1", Name: "brand-new", Tier: "standard", Verdict: model.Compliant, PITR: true, Days: 35}},
		Status: store.StatusRunning, Started: now.Add(-time.Minute)})
	drillRun, err := db.BeginRun(ctx, "drill", "arn:aws:iam::111111111111:user/ops", "drill", now.Add(-100*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rp := now.Add(-26 * time.Hour)
	for _, d := range []store.Drill{ // in the order they ran
		// Older than the MTTR window.
		{StartedAt: now.Add(-100 * 24 * time.Hour), Account: acct1, Region: "us-east-1", Table: "orders", ScratchTable: "orders-drill-0",
			RestoreSeconds: 5000, TotalSeconds: 6000, Result: "passed", Cleanup: "deleted"},
		{StartedAt: now.Add(-24 * time.Hour), Account: acct1, Region: "us-east-1", Table: "orders", ScratchTable: "orders-drill-1", RestorePoint: &rp,
			RestoreSeconds: 120, TotalSeconds: 180, Result: "passed", Cleanup: "deleted"},
		{StartedAt: now.Add(-20 * time.Hour), Account: acct1, Region: "eu-west-1", Table: "users", ScratchTable: "users-drill-1",
			RestoreSeconds: 300, TotalSeconds: 400, Result: "failed", Cleanup: "deleted"},
		{StartedAt: now.Add(-10 * time.Hour), Account: acct1, Region: "us-east-1", Table: "orders", ScratchTable: "orders-drill-2",
			RestoreSeconds: 60, TotalSeconds: 90, Result: "passed", Cleanup: "deleted"},
	} {
		d.RunID = drillRun
		if err := db.AddDrill(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	enableRun, err := db.BeginRun(ctx, "enable", "arn:aws:iam::111111111111:user/ops", "enable", now.Add(-30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddJournal(ctx, store.JournalEntry{RunID: enableRun, At: now.Add(-30 * time.Minute), Caller: "arn:aws:iam::111111111111:user/ops", Account: acct2,
		Region: "us-east-1", Table: "events", Action: "enable_pitr", Before: json.RawMessage(`{"enabled":false}`),
		After: json.RawMessage(`{"enabled":true,"days":35}`), Result: "applied"}); err != nil {
		t.Fatal(err)
	}
	return id, sum
}

var rowName = regexp.MustCompile(`<tr class="row">(?:<td>[^<]*</td>)*?<td><a href="[^"]*">([^<]+)</a>`)

// rowNames lists the table names of a page's rows, in order.
func rowNames(body string) []string {
	out := []string{}
	for _, m := range rowName.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func kpi(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`data-kpi="` + name + `" data-value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no KPI %s on the page", name)
	}
	return m[1]
}

func TestPagesAndFilters(t *testing.T) {
	checkPages(t, openSQLite(t))
}

// The same pages from a PostgreSQL history.
func TestPagesOnPostgres(t *testing.T) {
	pg := testpg.StartT(t)
	checkPages(t, openTarget(t, pg.DatabaseT(t)))
}

func checkPages(t *testing.T, db store.Store) {
	latestID, sum := recordHistory(t, db)
	srv := startSite(t, db, "")

	for _, path := range []string{"/", "/tables", "/tables/111111111111/us-east-1/orders", "/drills", "/journal", "/healthz", "/metrics"} {
		code, body, h := get(t, srv, http.MethodGet, path)
		if code != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: %d (%d bytes)", path, code, len(body))
		}
		if path != "/metrics" && path != "/healthz" {
			if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("GET %s: Content-Type %q", path, ct)
			}
			// Nothing is fetched from elsewhere and nothing runs.
			for _, bad := range []string{"<script", "http://", "https://", "@import", "url("} {
				if strings.Contains(body, bad) {
					t.Errorf("GET %s: the page contains %q", path, bad)
				}
			}
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("GET %s: no Content-Security-Policy", path)
		}
	}
	if code, body, _ := get(t, srv, http.MethodHead, "/"); code != http.StatusOK || body != "" {
		t.Errorf("HEAD /: %d %q", code, body)
	}

	// The overview: the latest finished audit (not the running one).
	_, body, _ := get(t, srv, http.MethodGet, "/")
	for name, want := range map[string]string{"compliance_rate": fmt.Sprint(sum.ComplianceRate), "tables": "7", "non_compliant": "2",
		"unknown": "1", "exempt": "1", "snapshot_gap_tables": "1", "pitr_monthly_cost_usd": fmt.Sprint(sum.PITRMonthlyCostUSD),
		"coverage_complete": "false", "errors": "1", "mttr_median": "120"} {
		if got := kpi(t, body, name); got != want {
			t.Errorf("overview KPI %s = %s, want %s", name, got, want)
		}
	}
	if sum.ComplianceRate != 0.4 || sum.PITRMonthlyCostUSD != 5.5 {
		t.Fatalf("fixture changed: %+v", sum)
	}
	for _, want := range []string{fmt.Sprintf("run <strong>%d</strong>", latestID), `data-tier="critical" data-value="0.3333333333333333"`,
		`data-tier="standard" data-value="0.5"`, "cannot assume the role", "ap-south-1"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if runs := strings.Count(body[strings.Index(body, `id="runs"`):], "<tr><td>"); runs != 5 {
		t.Errorf("recent runs: %d rows, want 3 audits, a drill and an enable\n%s", runs, body)
	}

	// Filters and search over the latest audit's tables.
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"users", "orders", "sessions", "cache", "ledger", "events", "scratch-1"}},
		{"verdict=non_compliant", []string{"sessions", "events"}},
		{"verdict=NON-COMPLIANT", []string{"sessions", "events"}},
		{"verdict=unknown", []string{"ledger"}},
		{"tier=critical", []string{"orders", "sessions", "ledger"}},
		{"tier=critical&verdict=compliant", []string{"orders"}},
		{"account=222222222222", []string{"cache", "ledger", "events", "scratch-1"}},
		{"owner=payments", []string{"orders", "ledger"}},
		{"owner=payments&account=111111111111&tier=critical", []string{"orders"}},
		{"q=EVE", []string{"events"}},
		{"q=arn:aws:dynamodb:eu-west-1", []string{"users", "cache", "ledger"}},
		{"q=analytics", []string{"events"}},
		{"q=no-such-table", []string{}},
		{"owner=nobody", []string{}},
		{"owner=-", []string{"sessions", "cache"}},
		{"owner=-&tier=critical", []string{"sessions"}},
	} {
		code, body, _ := get(t, srv, http.MethodGet, "/tables?"+tc.query)
		if code != http.StatusOK {
			t.Errorf("/tables?%s: %d", tc.query, code)
			continue
		}
		if diff := cmp.Diff(tc.want, rowNames(body)); diff != "" {
			t.Errorf("/tables?%s rows (-want +got):\n%s", tc.query, diff)
		}
		if !strings.Contains(body, fmt.Sprintf(`data-matched="%d"`, len(tc.want))) {
			t.Errorf("/tables?%s: the count does not say %d", tc.query, len(tc.want))
		}
		if tc.query == "" && strings.Contains(body, " selected") {
			t.Errorf("/tables without a filter preselects one")
		}
		if strings.Contains(body, "brand-new") {
			t.Errorf("/tables?%s lists a table of the audit still running", tc.query)
		}
	}
	for _, q := range []string{"verdict=bogus", "page=0", "page=x"} {
		if code, body, _ := get(t, srv, http.MethodGet, "/tables?"+q); code != http.StatusBadRequest || !strings.Contains(body, `id="problem"`) {
			t.Errorf("/tables?%s: %d, want 400 with the problem", q, code)
		}
	}

	// One table's history: both finished audits, newest first; its drills.
	_, body, _ = get(t, srv, http.MethodGet, "/tables/111111111111/us-east-1/orders")
	hist := body[strings.Index(body, `id="history"`):strings.Index(body, "<h2>Drills")]
	if got := strings.Count(hist, `<tr class="row">`); got != 2 ||
		strings.Index(hist, "v-compliant") > strings.Index(hist, "v-non_compliant") {
		t.Errorf("history: %d rows (want 2, COMPLIANT before NON_COMPLIANT):\n%s", got, hist)
	}
	if !strings.Contains(body, `id="verdict">COMPLIANT<`) {
		t.Errorf("table page:\n%s", body)
	}
	if got := strings.Count(body[strings.Index(body, `id="drills"`):], "deleted"); got != 3 {
		t.Errorf("orders was drilled 3 times, the page shows %d", got)
	}
	_, body, _ = get(t, srv, http.MethodGet, "/tables/222222222222/us-east-1/events")
	if !strings.Contains(body, "enable_pitr") || !strings.Contains(body, `{&#34;enabled&#34;:true,&#34;days&#34;:35}`) {
		t.Errorf("events' page lacks its journal entry")
	}

	// Drills and journal.
	_, body, _ = get(t, srv, http.MethodGet, "/drills")
	if got := rowNames(body); !slices.Equal(got, []string{"orders", "users", "orders", "orders"}) {
		t.Errorf("/drills rows: %v", got)
	}
	if !strings.Contains(body, "median <strong>120.0 s</strong>, p90 <strong>300.0 s</strong> (2 passed, 1 failed)") {
		t.Errorf("/drills MTTR:\n%s", body)
	}
	_, body, _ = get(t, srv, http.MethodGet, "/journal")
	if got := rowNames(body); !slices.Equal(got, []string{"events"}) {
		t.Errorf("/journal rows: %v", got)
	}

	// Not found, and nothing but GET/HEAD.
	for _, path := range []string{"/tables/111111111111/us-east-1/nope", "/nope", "/tables/111111111111/us-east-1"} {
		if code, _, _ := get(t, srv, http.MethodGet, path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
	for _, m := range []struct{ method, path string }{{http.MethodPost, "/"}, {http.MethodPost, "/tables"}, {http.MethodPut, "/metrics"},
		{http.MethodDelete, "/tables/111111111111/us-east-1/orders"}, {http.MethodPatch, "/healthz"}, {http.MethodPost, "/nope"}} {
		code, _, h := get(t, srv, m.method, m.path)
		if code != http.StatusMethodNotAllowed || h.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: %d (Allow %q), want 405", m.method, m.path, code, h.Get("Allow"))
		}
	}
	// Nothing above changed the history.
	runs, err := db.Runs(context.Background(), "", 100)
	if err != nil || len(runs) != 5 {
		t.Errorf("runs after the requests: %d %v", len(runs), err)
	}
}

// A run group counts as one audit: its shards merged on every page and in
// the metrics; a retried shard counts once; a group with a shard still
// running is passed over; a missing shard makes coverage incomplete.
func TestRunGroupIsOneAudit(t *testing.T) {
	db := openSQLite(t)
	all := estate()
	recordAudit(t, db, auditSpec{Tables: all[:1], Started: now.Add(-5 * time.Hour)})
	srv := startSite(t, db, "")

	// Shard 2's first attempt was interrupted, the retry completed; shard 3
	// is still running.
	t0 := now.Add(-time.Hour)
	recordAudit(t, db, auditSpec{Tables: all[:3], Group: "g1", Shard: 1, Shards: 3, Started: t0})
	recordAudit(t, db, auditSpec{Tables: all[3:4], Group: "g1", Shard: 2, Shards: 3, Status: store.StatusInterrupted, Incomplete: true, Started: t0})
	recordAudit(t, db, auditSpec{Tables: all[3:5], Group: "g1", Shard: 2, Shards: 3, Started: t0.Add(10 * time.Minute)})
	recordAudit(t, db, auditSpec{Tables: all[5:], Group: "g1", Shard: 3, Shards: 3, Status: store.StatusRunning, Started: t0})
	m := scrape(t, srv)
	if v, _ := m.Get("pitrguard_tables", "verdict", "compliant", "tier", "critical"); v != 1 || len(m.WithPrefix("pitrguard_tables{")) != 5 {
		t.Errorf("with a shard running the latest audit is the single one before it:\n%v", m)
	}

	// Shard 3 ends: the group is the latest audit, as one.
	shard3, _ := recordAudit(t, db, auditSpec{Tables: all[5:], Group: "g1", Shard: 3, Shards: 3, Started: t0.Add(20 * time.Minute)})
	_, whole := recordAudit(t, openSQLite(t), auditSpec{Tables: all}) // the unsharded audit's KPIs
	m = scrape(t, srv)
	want := map[string]float64{
		`pitrguard_compliance_rate{tier="all"}`: whole.ComplianceRate, `pitrguard_snapshot_gap_tables`: 1,
		`pitrguard_pitr_monthly_cost_usd`: whole.PITRMonthlyCostUSD, `pitrguard_last_audit_coverage_complete`: 1,
		`pitrguard_last_audit_errors`: 0, `pitrguard_last_audit_timestamp_seconds`: float64(t0.Unix()),
		`pitrguard_tables{tier="critical",verdict="unknown"}`: 1, `pitrguard_tables{tier="standard",verdict="exempt"}`: 1,
		`pitrguard_tables{tier="ephemeral",verdict="skipped"}`: 1, `pitrguard_tables{tier="standard",verdict="non_compliant"}`: 1,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	total := 0.0
	for _, v := range m.WithPrefix("pitrguard_tables{") {
		total += v
	}
	if total != 7 {
		t.Errorf("pitrguard_tables adds up to %v, want 7 (the retried shard counted once)", total)
	}
	_, body, _ := get(t, srv, http.MethodGet, "/")
	if !strings.Contains(body, fmt.Sprintf("run group <strong>g1</strong> (3 of 3 shards, runs 2, 4, %d)", shard3)) ||
		kpi(t, body, "tables") != "7" || kpi(t, body, "compliance_rate") != fmt.Sprint(whole.ComplianceRate) {
		t.Errorf("overview of the group:\n%s", body)
	}
	runs := body[strings.Index(body, `id="runs"`):]
	if strings.Count(runs, "<tr><td>") != 2 || !strings.Contains(runs, "group g1 (3/3 shards)") {
		t.Errorf("recent runs should be the group and the single audit:\n%s", runs)
	}
	_, body, _ = get(t, srv, http.MethodGet, "/tables")
	if got := rowNames(body); len(got) != 7 {
		t.Errorf("/tables of the group: %v", got)
	}

	// A group of which a shard never ran: coverage incomplete, the shard named.
	recordAudit(t, db, auditSpec{Tables: all[:2], Group: "g2", Shard: 1, Shards: 2, Started: now.Add(-time.Minute)})
	m = scrape(t, srv)
	if m[`pitrguard_last_audit_coverage_complete`] != 0 || m[`pitrguard_last_audit_errors`] != 1 {
		t.Errorf("a missing shard: coverage %v, errors %v", m[`pitrguard_last_audit_coverage_complete`], m[`pitrguard_last_audit_errors`])
	}
	_, body, _ = get(t, srv, http.MethodGet, "/")
	if !strings.Contains(body, "shard 2/2 of run group &#34;g2&#34; has no result") {
		t.Errorf("the missing shard is not named on the overview")
	}
}

// The metrics are the store's latest audit, read at scrape time: nothing
// about audits before the first one; optional fields (AWS Backup, Cost
// Explorer) only when the audit recorded them.
func TestMetricsFollowTheStore(t *testing.T) {
	db := openSQLite(t)
	srv := startSite(t, db, "")
	m := scrape(t, srv)
	if diff := cmp.Diff(testhttp.Samples{`pitrguard_drills{result="passed"}`: 0, `pitrguard_drills{result="failed"}`: 0}, m); diff != "" {
		t.Errorf("before any audit (-want +got):\n%s", diff)
	}

	_, sum := recordHistory(t, db)
	m = scrape(t, srv)
	want := testhttp.Samples{
		`pitrguard_compliance_rate{tier="all"}`: sum.ComplianceRate, `pitrguard_compliance_rate{tier="critical"}`: sum.ByTier["critical"].ComplianceRate,
		`pitrguard_compliance_rate{tier="standard"}`: 0.5, `pitrguard_compliance_rate{tier="ephemeral"}`: 1,
		`pitrguard_snapshot_gap_tables`: 1, `pitrguard_snapshot_gap_monthly_cost_usd`: sum.GapMonthlyCostUSD,
		`pitrguard_pitr_monthly_cost_usd`: 5.5, `pitrguard_last_audit_timestamp_seconds`: float64(now.Add(-2 * time.Hour).Unix()),
		`pitrguard_last_audit_coverage_complete`: 0, `pitrguard_last_audit_errors`: 1,
		`pitrguard_mttr_seconds{quantile="0.5"}`: 120, `pitrguard_mttr_seconds{quantile="0.9"}`: 300,
		`pitrguard_drills{result="passed"}`: 2, `pitrguard_drills{result="failed"}`: 1,
	}
	counts := map[[2]string]int{}
	for _, x := range estate() {
		counts[[2]string{x.Tier, strings.ToLower(string(x.Verdict))}]++
	}
	for _, tier := range []string{"critical", "standard", "ephemeral"} {
		for _, v := range verdicts {
			lv := strings.ToLower(string(v))
			want[testhttp.Key("pitrguard_tables", map[string]string{"tier": tier, "verdict": lv})] = float64(counts[[2]string{tier, lv}])
		}
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}

	// An audit of two shards that recorded AWS Backup coverage and Cost
	// Explorer spend: counts and costs add up, spend is the payer's.
	extra1 := map[string]any{"backup_required_tables": 3, "backup_covered_tables": 2, "backup_required_uncovered": 1, "backup_monthly_cost_usd": 1.25,
		"dynamodb_spend_usd": 400.0, "pitr_spend_usd": 30.0, "backup_spend_usd": 10.0, "resilience_cost_share": 0.1}
	extra2 := map[string]any{"backup_required_tables": 2, "backup_covered_tables": 2, "backup_required_uncovered": 0, "backup_monthly_cost_usd": 0.5,
		"dynamodb_spend_usd": 400.0, "pitr_spend_usd": 30.0, "backup_spend_usd": 10.0, "resilience_cost_share": 0.1}
	recordAudit(t, db, auditSpec{Tables: estate()[:2], Group: "b", Shard: 1, Shards: 2, Extra: extra1})
	recordAudit(t, db, auditSpec{Tables: estate()[2:], Group: "b", Shard: 2, Shards: 2, Extra: extra2})
	m = scrape(t, srv)
	for k, v := range map[string]float64{`pitrguard_backup_tables{state="required"}`: 5, `pitrguard_backup_tables{state="covered"}`: 4,
		`pitrguard_backup_tables{state="uncovered"}`: 1, `pitrguard_backup_monthly_cost_usd`: 1.75, `pitrguard_dynamodb_spend_usd`: 400,
		`pitrguard_pitr_spend_usd`: 30, `pitrguard_backup_spend_usd`: 10, `pitrguard_resilience_cost_share`: 0.1} {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	_, body, _ := get(t, srv, http.MethodGet, "/")
	for _, s := range []string{"Tables requiring AWS Backup</th><td class=\"num\">5", "$400.00", "10.0%"} {
		if !strings.Contains(body, s) {
			t.Errorf("the overview lacks %q", s)
		}
	}

	// Spend not measured (null, as audit writes it without --cost-explorer)
	// and no backup requirement: none of those series.
	recordAudit(t, db, auditSpec{Tables: estate(), Extra: map[string]any{"dynamodb_spend_usd": nil, "resilience_cost_share": nil}})
	m = scrape(t, srv)
	for k := range m {
		for _, p := range []string{"pitrguard_backup_", "pitrguard_dynamodb_spend", "pitrguard_pitr_spend", "pitrguard_resilience"} {
			if strings.HasPrefix(k, p) {
				t.Errorf("%s is exported though the audit did not measure it", k)
			}
		}
	}
	if _, body, _ := get(t, srv, http.MethodGet, "/"); strings.Contains(body, `id="extras"`) {
		t.Errorf("the overview shows backup and spend that were not measured")
	}
}

func TestTokenAndMethods(t *testing.T) {
	db := openSQLite(t)
	recordHistory(t, db)
	token := "s3cret-token-0123456789"
	srv := startSite(t, db, token)
	for _, path := range []string{"/", "/metrics", "/healthz", "/tables", "/nope"} {
		for _, h := range [][]string{nil, {"Authorization", "Bearer wrong-token-0123456789"}, {"Authorization", token},
			{"Authorization", "Basic " + token}, {"Authorization", "Bearer " + token + "x"}} {
			code, _, hdr := get(t, srv, http.MethodGet, path, h...)
			if code != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s with %v: %d, want 401", path, h, code)
			}
		}
		want := http.StatusOK
		if path == "/nope" {
			want = http.StatusNotFound
		}
		for _, scheme := range []string{"Bearer ", "bearer "} {
			if code, _, _ := get(t, srv, http.MethodGet, path, "Authorization", scheme+token); code != want {
				t.Errorf("GET %s with the token: %d, want %d", path, code, want)
			}
		}
	}
	// Without the token a POST is refused as unauthorized; with it, as a method.
	if code, _, _ := get(t, srv, http.MethodPost, "/"); code != http.StatusUnauthorized {
		t.Errorf("POST without token: %d", code)
	}
	if code, _, _ := get(t, srv, http.MethodPost, "/", "Authorization", "Bearer "+token); code != http.StatusMethodNotAllowed {
		t.Errorf("POST with token: %d", code)
	}
}

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]Address{
		"127.0.0.1:8080": {"127.0.0.1:8080", true}, "127.0.0.1": {"127.0.0.1:8080", true}, "localhost:0": {"localhost:0", true},
		"LOCALHOST": {"LOCALHOST:8080", true}, "[::1]:9000": {"[::1]:9000", true}, "::1": {"[::1]:8080", true}, "[::1]": {"[::1]:8080", true},
		"127.1.2.3:80": {"127.1.2.3:80", true}, "[::ffff:127.0.0.1]:1": {"[::ffff:127.0.0.1]:1", true},
		"0.0.0.0": {"0.0.0.0:8080", false}, "0.0.0.0:8080": {"0.0.0.0:8080", false}, ":0": {":0", false}, ":8080": {":8080", false},
		"[::]": {"[::]:8080", false}, "[::]:0": {"[::]:0", false}, "192.168.1.10:8080": {"192.168.1.10:8080", false},
		"dashboard.internal:8080": {"dashboard.internal:8080", false}, "[fe80::1%eth0]:80": {"[fe80::1%eth0]:80", false},
	} {
		got, err := ParseAddress(in)
		if err != nil || got != want {
			t.Errorf("ParseAddress(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "127.0.0.1:http", "127.0.0.1:99999", "127.0.0.1:-1", "[::1", "a:b:c", "127.0.0.1:80:80"} {
		if got, err := ParseAddress(in); err == nil {
			t.Errorf("ParseAddress(%q) = %+v, want an error", in, got)
		}
	}
	if !tokenMatches("abc", "abc") || tokenMatches("abc", "abd") || tokenMatches("", "abc") || tokenMatches("abcd", "abc") {
		t.Errorf("tokenMatches")
	}
}

func TestSize(t *testing.T) {
	for b, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 1 << 30: "1.0 GiB", 5 << 40: "5.0 TiB"} {
		if got := size(b); got != want {
			t.Errorf("size(%d) = %q, want %q", b, got, want)
		}
	}
}

// A history that cannot be read fails the scrape (Prometheus records up == 0)
// and the health check, and the pages say so: no stale or invented values.
func TestUnreadableStore(t *testing.T) {
	db := openSQLite(t)
	recordHistory(t, db)
	srv := startSite(t, db, "")
	scrape(t, srv) // the latest audit is read (and kept)
	db.Close()
	for path, want := range map[string]int{"/metrics": http.StatusInternalServerError, "/healthz": http.StatusServiceUnavailable,
		"/": http.StatusInternalServerError, "/tables": http.StatusInternalServerError, "/drills": http.StatusInternalServerError,
		"/journal": http.StatusInternalServerError, "/tables/111111111111/us-east-1/orders": http.StatusInternalServerError} {
		if code, body, _ := get(t, srv, http.MethodGet, path); code != want || strings.Contains(body, "pitrguard_compliance_rate") {
			t.Errorf("GET %s on a closed store: %d, want %d\n%s", path, code, want, body)
		}
	}
}

// An audit that failed before it judged a table (no table, an empty
// summary) is not the latest audit: /metrics keeps the previous one's
// figures, and the overview's run list shows no table count or rate for it.
func TestFailedAuditIsNotTheLatest(t *testing.T) {
	db := openSQLite(t)
	srv := startSite(t, db, "")
	_, sum := recordAudit(t, db, auditSpec{Tables: estate(), Started: now.Add(-2 * time.Hour)})
	ctx := context.Background()
	id, err := db.StartRun(ctx, store.RunStart{Kind: "audit", Caller: "arn:aws:sts::111111111111:assumed-role/auditor/ci", Args: "audit", StartedAt: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EndRun(ctx, id, store.RunEnd{Status: store.StatusFailed, Summary: struct{}{}, Errors: []any{}, Finished: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	m := scrape(t, srv)
	if got := m[`pitrguard_compliance_rate{tier="all"}`]; got != sum.ComplianceRate || m[`pitrguard_last_audit_timestamp_seconds`] != float64(now.Add(-2*time.Hour).Unix()) {
		t.Errorf("compliance %v at %v; want the completed audit's %v", got, m[`pitrguard_last_audit_timestamp_seconds`], sum.ComplianceRate)
	}
	_, body, _ := get(t, srv, http.MethodGet, "/")
	row := regexp.MustCompile(`<tr><td>` + strconv.FormatInt(id, 10) + `</td>.*\n.*`).FindString(body)
	if !strings.Contains(row, "failed") || strings.Contains(row, "0.0%") {
		t.Errorf("the failed run's row shows a compliance rate: %q", row)
	}
}
