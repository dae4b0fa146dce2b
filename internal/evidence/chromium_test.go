package evidence

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium finds the browser: $PITRGUARD_CHROMIUM, else Debian's chromium;
// "" when it is not installed.
func chromium() string {
	if p := os.Getenv("PITRGUARD_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return ""
		}
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// artifactDir is where the screenshot goes: $PITRGUARD_ARTIFACTS (kept), else
// the test's temporary directory (never the repository).
func artifactDir(t *testing.T) string {
	if d := os.Getenv("PITRGUARD_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// kpiPaths says where each data-kpi of the page is in the JSON form.
var kpiPaths = map[string][]string{
	"compliance_rate":         {"kpis", "compliance_rate"},
	"open_findings":           {"kpis", "open_findings"},
	"snapshot_gap_tables":     {"kpis", "snapshot_gap_tables"},
	"mttr_median_seconds":     {"kpis", "mttr", "median_seconds"},
	"mttr_p90_seconds":        {"kpis", "mttr", "p90_seconds"},
	"pitr_monthly_cost_usd":   {"kpis", "pitr_monthly_cost_usd"},
	"backup_monthly_cost_usd": {"kpis", "backup_monthly_cost_usd"},
	"resilience_cost_share":   {"kpis", "spend", "resilience_cost_share"},
	"tables":                  {"scope", "tables"},
	"sha256":                  {"integrity", "sha256"},
}

func lookup(m map[string]any, path []string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// jsonKPI is the JSON form's value of a data-kpi, as the page would write it.
func jsonKPI(doc map[string]any, name string) (string, bool) {
	if tier, ok := strings.CutPrefix(name, "tier:"); ok {
		for _, x := range lookup(doc, []string{"kpis", "by_tier"}).([]any) {
			if row := x.(map[string]any); row["tier"] == tier {
				return strconv.FormatFloat(row["compliance_rate"].(float64), 'g', -1, 64), true
			}
		}
		return "", false
	}
	if name == "drills" {
		return strconv.Itoa(len(lookup(doc, []string{"drills", "drills"}).([]any))), true
	}
	path, ok := kpiPaths[name]
	if !ok {
		return "", false
	}
	switch v := lookup(doc, path).(type) {
	case nil:
		return "", true
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), true
	case string:
		return v, true
	default:
		return fmt.Sprint(v), true
	}
}

func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && math.Abs(x-y) < 1e-12
}

// requireChromium returns the browser's path, or skips the test when it is
// not installed (fails with PITRGUARD_REQUIRE_CHROMIUM=1).
func requireChromium(t *testing.T) string {
	t.Helper()
	bin := chromium()
	if bin == "" {
		if os.Getenv("PITRGUARD_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("chromium is not installed (Debian: apt-get install chromium); PITRGUARD_REQUIRE_CHROMIUM=1 forbids skipping")
		}
		t.Skip("skipping: chromium is not installed (Debian: apt-get install chromium; or set PITRGUARD_CHROMIUM)")
	}
	return bin
}

// browser starts headless Chromium with a fresh profile and a window of
// width x height; it is closed when the test ends.
func browser(t *testing.T, bin string, width, height int) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	return ctx
}

// TestReportHTMLInChromium opens the HTML report in headless Chromium:
// no console error or exception, no request but the file itself, every KPI
// in the DOM equal to the JSON form, the expected points in each chart, and a
// screenshot of the first page (and the PDF print) as artifacts.
func TestReportHTMLInChromium(t *testing.T) {
	bin := requireChromium(t)
	r := build(t, fixture(t))
	doc := reportJSON(t, r)
	dir := t.TempDir()
	file := filepath.Join(dir, "evidence.html")
	var h bytes.Buffer
	if err := WriteHTML(&h, r); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, h.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pageURL := "file://" + file
	ctx := browser(t, bin, 1240, 1754)

	var mu sync.Mutex
	var problems, requests []string
	// The first call starts the browser and must not carry the timeout (it
	// would bound the browser's life); the page's steps do.
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				problems = append(problems, fmt.Sprintf("console.%s", ev.Type))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				problems = append(problems, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			requests = append(requests, ev.Request.URL)
		}
	}); err != nil {
		t.Fatalf("start chromium (%s): %v", bin, err)
	}
	tctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()
	if _, err := chromedp.Call(tctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(pageURL), chromedp.WaitReady(chromedp.CSS("#integrity"))); err != nil {
		t.Fatalf("open %s: %v", pageURL, err)
	}
	kpis, err := chromedp.Run(tctx, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll('[data-kpi]')).map(e => [e.dataset.kpi, e.dataset.value])`))
	if err != nil {
		t.Fatal(err)
	}
	charts, err := chromedp.Run(tctx, chromedp.Evaluate[map[string]int](`Object.fromEntries(Array.from(document.querySelectorAll('svg[data-chart]')).map(s => [s.dataset.chart, s.querySelectorAll('circle.pt').length]))`))
	if err != nil {
		t.Fatal(err)
	}
	screenshot, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := chromedp.Run(tctx, chromedp.PrintToPDF(chromedp.PDFPrintBackground(), chromedp.PDFPreferCSSPageSize()))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the page logged errors: %v", problems)
	}
	if len(requests) != 1 || requests[0] != pageURL {
		t.Errorf("requests %v; want only the page itself (%s)", requests, pageURL)
	}
	seen := map[string]bool{}
	for _, kv := range kpis {
		name, value := kv[0], kv[1]
		seen[name] = true
		want, ok := jsonKPI(doc, name)
		if !ok {
			t.Errorf("data-kpi %q has no counterpart in the JSON form", name)
			continue
		}
		if !sameValue(value, want) {
			t.Errorf("data-kpi %s = %q in the DOM, %q in the JSON form", name, value, want)
		}
	}
	for _, name := range []string{"compliance_rate", "open_findings", "snapshot_gap_tables", "mttr_median_seconds", "resilience_cost_share",
		"tables", "drills", "sha256", "tier:critical", "tier:standard"} {
		if !seen[name] {
			t.Errorf("the DOM has no data-kpi %q", name)
		}
	}
	points := len(r.Trend.Points)
	if points != 3 || len(charts) != 3 {
		t.Fatalf("charts %v for %d audits; want 3 charts", charts, points)
	}
	for name, n := range charts {
		if n != points {
			t.Errorf("chart %s has %d points, want %d (one per audit)", name, n, points)
		}
	}
	out := artifactDir(t)
	if !bytes.HasPrefix(screenshot, []byte("\x89PNG")) || len(screenshot) < 20000 {
		t.Errorf("the screenshot is not a PNG of a page (%d bytes)", len(screenshot))
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Errorf("printing to PDF gave %d bytes that are not a PDF", len(pdf))
	}
	for name, data := range map[string][]byte{"evidence-first-page.png": screenshot, "evidence.pdf": pdf, "evidence.html": h.Bytes()} {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("artifacts in %s (screenshot %d bytes, PDF %d bytes)", out, len(screenshot), len(pdf))
}

// TestReportHTMLLongNamesStayOnThePage: a table name of DynamoDB's maximum
// length (255 characters, no space to break at), a long gap message and a
// long exemption pattern must wrap, not widen the page past the paper (a
// printed page would cut them off).
func TestReportHTMLLongNamesStayOnThePage(t *testing.T) {
	bin := requireChromium(t)
	db := fixture(t)
	long := tbl{account: acctA, name: strings.Repeat("very-long-table-name.", 12) + "abc", owner: strings.Repeat("team_", 20), tier: "critical",
		verdict: "NON_COMPLIANT", pitr: "DISABLED", reasons: []string{"pitr_disabled"}, cost: 1}
	if len(long.name) != 255 {
		t.Fatalf("name of %d characters", len(long.name))
	}
	addAudit(t, db, now.Add(-time.Hour), nil, []map[string]string{{"account": acctB, "region": "eu-west-1", "table": "", "code": "AccessDenied",
		"reason": "access_denied", "message": "arn:aws:iam::222222222222:role/" + strings.Repeat("PitrguardAuditRole", 10)}}, events, ledger, long)
	r := build(t, db)
	var h bytes.Buffer
	if err := WriteHTML(&h, r); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "evidence.html")
	if err := os.WriteFile(file, h.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// 794 CSS pixels is the width of an A4 page.
	ctx := browser(t, bin, 794, 1123)
	tctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate("file://"+file), chromedp.WaitReady(chromedp.CSS("#integrity"))); err != nil {
		t.Fatal(err)
	}
	for _, media := range []string{"screen", "print"} {
		if _, err := chromedp.Call(tctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: media}); err != nil {
			t.Fatal(err)
		}
		w, err := chromedp.Run(tctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
		if err != nil {
			t.Fatal(err)
		}
		if w[0] > w[1] {
			t.Errorf("%s: the page is %d pixels wide in a window of %d: long names overflow it", media, w[0], w[1])
		}
	}
}
