package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/drill"
	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/store"
	"github.com/pitrguard/pitrguard/internal/testaws"
	"github.com/pitrguard/pitrguard/internal/testhttp"
	"github.com/pitrguard/pitrguard/internal/testpg"
)

// served is a `pitrguard serve` running in-process on a real listener.
type served struct {
	URL    string // http://127.0.0.1:PORT
	cancel context.CancelFunc
	code   chan int
	mu     sync.Mutex
	errOut bytes.Buffer
}

var servingLine = regexp.MustCompile(`on http://([^/ ]+)/`)

// startServe runs `pitrguard serve ARGS` and waits for the address it
// prints on stderr (with --listen …:0 the port is chosen by the system).
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	pr, pw := io.Pipe()
	ios, _, _, _ := iostreams.Test()
	ios.ErrOut = pw
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{cancel: cancel, code: make(chan int, 1)}
	go func() {
		s.code <- Run(ctx, append([]string{"serve"}, args...), &Factory{IO: ios, Now: func() time.Time { return fixedNow }})
		pw.Close()
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.mu.Lock()
			s.errOut.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("serve ended before listening: exit %d\n%s", <-s.code, s.stderr())
		}
		a = strings.Replace(strings.Replace(a, "0.0.0.0:", "127.0.0.1:", 1), "[::]:", "127.0.0.1:", 1)
		s.URL = "http://" + a
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve printed no address in 30s:\n%s", s.stderr())
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *served) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errOut.String()
}

// stop ends the server as Ctrl-C does and checks it shut down cleanly.
func (s *served) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case code := <-s.code:
		if code != ExitOK {
			t.Errorf("serve ended with exit %d after Ctrl-C\n%s", code, s.stderr())
		}
	case <-time.After(20 * time.Second):
		t.Errorf("serve did not shut down within 20s of Ctrl-C")
	}
}

func (s *served) get(t *testing.T, path string, header ...string) (int, string) {
	t.Helper()
	code, body, _ := testhttp.Do(t, http.DefaultClient, http.MethodGet, s.URL+path, header...)
	return code, body
}

func (s *served) metrics(t *testing.T) testhttp.Samples {
	t.Helper()
	return testhttp.Scrape(t, http.DefaultClient, s.URL+"/metrics", "pitrguard_")
}

// wantMetrics is what /metrics must say after audit a, from the audit's own
// JSON: its summary, and its tables counted by tier and verdict.
func wantMetrics(a *report.Audit) testhttp.Samples {
	s := a.Summary
	want := testhttp.Samples{
		`pitrguard_compliance_rate{tier="all"}`:   s.ComplianceRate,
		`pitrguard_snapshot_gap_tables`:           float64(s.SnapshotGapTables),
		`pitrguard_snapshot_gap_monthly_cost_usd`: s.GapMonthlyCostUSD,
		`pitrguard_pitr_monthly_cost_usd`:         s.PITRMonthlyCostUSD,
		`pitrguard_last_audit_timestamp_seconds`:  float64(a.GeneratedAt.Unix()),
		`pitrguard_last_audit_coverage_complete`:  0,
		`pitrguard_last_audit_errors`:             float64(len(a.Errors)),
	}
	if s.CoverageComplete {
		want[`pitrguard_last_audit_coverage_complete`] = 1
	}
	for tier, ts := range s.ByTier {
		want[testhttp.Key("pitrguard_compliance_rate", map[string]string{"tier": tier})] = ts.ComplianceRate
	}
	tiers := map[string]bool{}
	for _, t := range a.Tables {
		tiers[t.Tier] = true
	}
	for tier := range tiers {
		for _, v := range []string{"COMPLIANT", "NON_COMPLIANT", "EXEMPT", "UNKNOWN", "SKIPPED"} {
			n := 0
			for _, t := range a.Tables {
				if t.Tier == tier && string(t.Verdict) == v {
					n++
				}
			}
			want[testhttp.Key("pitrguard_tables", map[string]string{"tier": tier, "verdict": strings.ToLower(v)})] = float64(n)
		}
	}
	return want
}

// TestServeMetricsMatchTheLatestAudit is issue 13's acceptance for serve: a
// real audit (and a drill) against moto through the real commands, then the
// real serve command on a listener; /metrics, parsed with Prometheus's own
// parser, says exactly what the audit's JSON says, and a second audit shows
// on the next scrape.
func TestServeMetricsMatchTheLatestAudit(t *testing.T) {
	e := newEnv(t, 2)
	seedSmallOrg(t, e)
	audit := []string{"audit", "--org", "--regions", "us-east-1,eu-west-1", "--config", "testdata/policy.yaml", "--format", "json"}
	r := e.run(t, audit...)
	if r.code != ExitOK {
		t.Fatalf("audit: exit %d\n%s", r.code, r.errOut)
	}
	first := r.audit(t)

	// A drill whose restore takes measurable time (CREATING for three polls).
	e.proxy.Add(&testaws.Rule{Op: "DescribeTable", TablePrefix: drill.Prefix + "orders-", Times: 3, Mutate: testaws.SetTableStatus("CREATING")})
	if d := e.run(t, "drill", "--table", "orders", "--regions", "us-east-1", "--yes", "--format", "json", "--poll", "50ms"); d.code != ExitOK && d.code != ExitFailure {
		t.Fatalf("drill: exit %d\n%s", d.code, d.errOut)
	}
	var drills struct {
		Drills []store.Drill `json:"drills"`
	}
	if err := json.Unmarshal([]byte(e.run(t, "history", "drills", "--format", "json").out), &drills); err != nil || len(drills.Drills) != 1 {
		t.Fatalf("recorded drills: %+v %v", drills, err)
	}
	restore := drills.Drills[0].RestoreSeconds
	if restore < 0.1 {
		t.Fatalf("the drill measured no restore time: %+v", drills.Drills[0])
	}

	s := startServe(t, "--listen", "127.0.0.1:0", "--db", e.db)
	if !strings.Contains(s.stderr(), "Serving the history of "+e.db) {
		t.Errorf("stderr: %s", s.stderr())
	}
	want := wantMetrics(first)
	want[`pitrguard_mttr_seconds{quantile="0.5"}`] = restore
	want[`pitrguard_mttr_seconds{quantile="0.9"}`] = restore
	want[`pitrguard_drills{result="passed"}`], want[`pitrguard_drills{result="failed"}`] = 0, 0
	want[fmt.Sprintf(`pitrguard_drills{result=%q}`, drills.Drills[0].Result)] = 1
	checkSamples(t, "first audit", want, s.metrics(t))
	if len(first.Summary.ByTier) < 3 || first.Summary.NonCompliant == 0 || first.Summary.ComplianceRate == 1 {
		t.Fatalf("the estate should have several tiers and findings: %+v", first.Summary)
	}

	// The pages show the same audit: every page answers, the KPI and the
	// non-compliant tables are the audit's.
	for _, p := range []string{"/", "/tables", "/tables/" + mgmt + "/us-east-1/orders", "/drills", "/journal", "/healthz"} {
		if code, _ := s.get(t, p); code != http.StatusOK {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	_, body := s.get(t, "/")
	if !strings.Contains(body, fmt.Sprintf(`data-kpi="compliance_rate" data-value="%v"`, first.Summary.ComplianceRate)) {
		t.Errorf("the overview does not show compliance %v", first.Summary.ComplianceRate)
	}
	var nonCompliant []string
	for _, tr := range first.Tables {
		if tr.Verdict == "NON_COMPLIANT" {
			nonCompliant = append(nonCompliant, tr.Name)
		}
	}
	_, body = s.get(t, "/tables?verdict=non_compliant")
	if got := regexp.MustCompile(`<td><a href="/tables/[^"]*">([^<]+)</a>`).FindAllStringSubmatch(body, -1); len(got) != len(nonCompliant) {
		t.Errorf("/tables?verdict=non_compliant lists %d tables, the audit %v", len(got), nonCompliant)
	}

	// A new table without PITR, a second audit: the next scrape shows it.
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "late-arrival"})
	if r = e.run(t, audit...); r.code != ExitOK {
		t.Fatalf("second audit: exit %d\n%s", r.code, r.errOut)
	}
	second := r.audit(t)
	if second.Summary.Tables != first.Summary.Tables+1 || second.Summary.ComplianceRate == first.Summary.ComplianceRate {
		t.Fatalf("the second audit should differ: %+v", second.Summary)
	}
	want2 := wantMetrics(second)
	for k, v := range want {
		if strings.HasPrefix(k, "pitrguard_mttr") || strings.HasPrefix(k, "pitrguard_drills") {
			want2[k] = v
		}
	}
	checkSamples(t, "second audit", want2, s.metrics(t))
}

// checkSamples compares a scrape with what it must say, series by series:
// nothing missing, nothing more, every value equal.
func checkSamples(t *testing.T, what string, want, got testhttp.Samples) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := got[k]; !ok || v != want[k] {
			t.Errorf("%s: %s = %v (present: %v), want %v", what, k, v, ok, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected series %s = %v", what, k, got[k])
		}
	}
}

// emptyHistory creates a history database with no runs.
func emptyHistory(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "history.db")
	db, err := store.Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	return p
}

func runServe(t *testing.T, args ...string) result {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := Run(ctx, append([]string{"serve"}, args...), &Factory{IO: ios, Now: func() time.Time { return fixedNow }})
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// TestServeRefusesTheNetworkWithoutToken: an address other computers can
// reach is refused without a token (exit 6, before anything is opened or
// bound); with one, every request needs it.
func TestServeRefusesTheNetworkWithoutToken(t *testing.T) {
	db := emptyHistory(t)
	for _, addr := range []string{"0.0.0.0", "0.0.0.0:0", ":0", "[::]", "[::]:0", "192.168.1.10:8080", "dashboard.internal:8080"} {
		r := runServe(t, "--listen", addr, "--db", db)
		if r.code != ExitUnsafe || !strings.Contains(r.errOut, "--auth-token-file") || !strings.Contains(r.errOut, "refusing to serve") {
			t.Errorf("--listen %s without a token: exit %d, want %d\n%s", addr, r.code, ExitUnsafe, r.errOut)
		}
	}
	// Even without a database: the address is refused first.
	if r := runServe(t, "--listen", ":0", "--db", filepath.Join(t.TempDir(), "none.db")); r.code != ExitUnsafe {
		t.Errorf("no database, network address: exit %d, want %d", r.code, ExitUnsafe)
	}

	token := "0123456789abcdef0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--listen", "0.0.0.0:0", "--db", db, "--auth-token-file", tokenFile)
	if strings.Contains(s.stderr(), "Warning") {
		t.Errorf("a 0600 token file was warned about: %s", s.stderr())
	}
	for _, p := range []string{"/", "/metrics", "/healthz", "/tables", "/drills", "/journal"} {
		if code, _ := s.get(t, p); code != http.StatusUnauthorized {
			t.Errorf("GET %s without the token: %d, want 401", p, code)
		}
		if code, _ := s.get(t, p, "Authorization", "Bearer "+token[:31]); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d, want 401", p, code)
		}
		if code, body := s.get(t, p, "Authorization", "Bearer "+token); code != http.StatusOK {
			t.Errorf("GET %s with the token: %d, want 200\n%s", p, code, body)
		}
	}
	_, body := s.get(t, "/", "Authorization", "Bearer "+token)
	if !strings.Contains(body, `id="no-audit"`) {
		t.Errorf("an empty history should say no audit is recorded yet")
	}
	s.stop(t)

	// A token others can read works, with a warning.
	loose := filepath.Join(t.TempDir(), "loose")
	if err := os.WriteFile(loose, []byte(token), 0o644); err != nil {
		t.Fatal(err)
	}
	s = startServe(t, "--listen", "127.0.0.1:0", "--db", db, "--auth-token-file", loose)
	if code, _ := s.get(t, "/healthz"); code != http.StatusUnauthorized || !strings.Contains(s.stderr(), "can be read by other users") {
		t.Errorf("a token on loopback is still required (%d); stderr: %s", code, s.stderr())
	}
}

func TestServeErrors(t *testing.T) {
	db := emptyHistory(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--db", filepath.Join(dir, "missing.db")}, ExitNoMatch, "no history database at"},
		{[]string{"--db", db, "--listen", "127.0.0.1:http"}, ExitUsage, "the port must be a number"},
		{[]string{"--db", db, "--listen", "[::1"}, ExitUsage, "--listen"},
		{[]string{"--db", db, "--no-store"}, ExitUsage, "drop --no-store"},
		{[]string{"--db", db, "--auth-token-file", filepath.Join(dir, "nope")}, ExitUsage, "--auth-token-file"},
		{[]string{"--db", db, "--auth-token-file", write("empty", "\n")}, ExitUsage, "is empty"},
		{[]string{"--db", db, "--auth-token-file", write("short", "abc")}, ExitUsage, "at least 16"},
		{[]string{"--db", db, "--auth-token-file", write("two", "0123456789abcdef 0123456789abcdef")}, ExitUsage, "one token"},
		{[]string{"--db", db, "extra"}, ExitUsage, "unknown command"},
	} {
		r := runServe(t, tc.args...)
		if r.code != tc.code || !strings.Contains(r.errOut, tc.msg) {
			t.Errorf("serve %v: exit %d, want %d with %q\n%s", tc.args, r.code, tc.code, tc.msg, r.errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !os.IsNotExist(err) {
		t.Errorf("serve created the missing database: %v", err)
	}
}

// The real command on a PostgreSQL history: an empty database exits 5, and
// after an audit the pages answer and /metrics equals the audit's JSON.
func TestServeOnPostgres(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1",
		testaws.TableSpec{Name: "orders", Tags: map[string]string{"env": "prod", "owner": "payments"}, PITR: true, RecoveryDays: 35},
		testaws.TableSpec{Name: "sessions", Tags: map[string]string{"env": "prod"}},
		testaws.TableSpec{Name: "tmp-import"})
	pg := testpg.StartT(t)
	url := pg.DatabaseT(t)
	if r := runServe(t, "--db", url); r.code != ExitNoMatch || !strings.Contains(r.errOut, "no history database") {
		t.Errorf("empty PostgreSQL database: exit %d\n%s", r.code, r.errOut)
	}
	r := e.runDB(t, url, nil, "audit", "--regions", "us-east-1", "--config", "testdata/policy.yaml", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("audit: exit %d\n%s", r.code, r.errOut)
	}
	a := r.audit(t)
	s := startServe(t, "--listen", "127.0.0.1:0", "--db", url)
	want := wantMetrics(a)
	want[`pitrguard_drills{result="passed"}`], want[`pitrguard_drills{result="failed"}`] = 0, 0
	checkSamples(t, "postgres", want, s.metrics(t))
	for _, p := range []string{"/", "/tables", "/tables?verdict=non_compliant&q=sess", "/tables/" + mgmt + "/us-east-1/sessions", "/drills", "/journal", "/healthz"} {
		if code, body := s.get(t, p); code != http.StatusOK || (strings.HasPrefix(p, "/tables") && !strings.Contains(body, "sessions")) {
			t.Errorf("GET %s: %d", p, code)
		}
	}
}
