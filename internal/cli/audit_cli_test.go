package cli

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// runLocal runs a command line without AWS (usage errors, history, version).
func runLocal(t *testing.T, args ...string) result {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	code := Run(context.Background(), args, &Factory{IO: ios, Now: func() time.Time { return fixedNow }, Credentials: testaws.Credentials})
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// TestAuditValidationIssue16 covers issue 16 #6, #9 and #10: values that used
// to be accepted (and fail later, or mean "default") are usage errors that say
// what is wrong, before any AWS call.
func TestAuditValidationIssue16(t *testing.T) {
	dir := t.TempDir()
	zero := (&env{dir: dir}).writeFile(t, "zero.yaml", "tiers:\n  - name: critical\n    match: { tags: { env: prod } }\n    min_recovery_days: 0\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "--regions", "us-east-9"}, `"us-east-9" is not a region name of partition aws`},
		{[]string{"audit", "--regions", "us-east-1,cn-north-1"}, "one run covers one partition"},
		{[]string{"audit", "--region", "us-east-9"}, `--region: "us-east-9" is not a region name of partition aws`},
		{[]string{"audit", "--max-attempts", "0"}, "--max-attempts must be at least 1"},
		{[]string{"audit", "--max-attempts", "-3"}, "--max-attempts must be at least 1"},
		{[]string{"audit", "--request-timeout", "0s"}, `"0s" is not a duration`},
		{[]string{"audit", "--endpoint-url", "not-a-url"}, `"not-a-url" is not an endpoint URL`},
		{[]string{"audit", "--output", filepath.Join(dir, "missing", "a.json")}, "does not exist"},
		{[]string{"audit", "--config", zero, "--no-store", "--endpoint-url", "http://127.0.0.1:9"}, "zero.yaml:4:"},
		{[]string{"history", "--kind", "bogus"}, `--kind "bogus" is not a kind of run`},
		{[]string{"history", "journal", "--run", "-1"}, "--run must be a run id"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			start := time.Now()
			r := runLocal(t, append(tc.args, "--db", filepath.Join(dir, "h.db"))...)
			if r.code != ExitUsage || !strings.Contains(r.errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.errOut, tc.want)
			}
			if strings.Contains(r.errOut, "credentials") || time.Since(start) > 5*time.Second {
				t.Errorf("not refused up front: %s", r.errOut)
			}
		})
	}
}

// stalling starts a TCP listener that accepts connections and never answers.
func stalling(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// TestAuditStalledEndpointIsBounded is issue 16 #1: an endpoint that accepts
// and never answers kept the audit waiting for more than 300 s.
func TestAuditStalledEndpointIsBounded(t *testing.T) {
	ep := stalling(t)
	start := time.Now()
	r := runLocal(t, "audit", "--regions", "us-east-1", "--no-store", "--endpoint-url", ep, "--request-timeout", "200ms", "--max-attempts", "2", "--retry-max-backoff", "1ms")
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %s; the bound is about max-attempts × request-timeout", el)
	}
	if r.code != ExitFailure || !strings.Contains(r.errOut, "did not answer within --request-timeout") {
		t.Errorf("exit %d stderr %q", r.code, r.errOut)
	}
	if strings.Contains(r.errOut, "are AWS credentials set") {
		t.Errorf("credentials hint for a timeout: %s", r.errOut)
	}
}

func TestAuditConnectionRefusedHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := "http://" + ln.Addr().String()
	ln.Close()
	r := runLocal(t, "audit", "--regions", "us-east-1", "--no-store", "--endpoint-url", ep, "--max-attempts", "1")
	if r.code != ExitFailure || !strings.Contains(r.errOut, "connection was refused") || strings.Contains(r.errOut, "are AWS credentials set") {
		t.Errorf("exit %d stderr %q", r.code, r.errOut)
	}
}

// TestVersionSameString is issue 16 #11: --version and version printed
// different strings.
func TestVersionSameString(t *testing.T) {
	a, b := runLocal(t, "--version"), runLocal(t, "version")
	if a.code != 0 || b.code != 0 || a.out != b.out || a.out != "pitrguard "+Version+"\n" {
		t.Errorf("--version %q, version %q", a.out, b.out)
	}
}

// TestGlobalFlagsOnlyWhereUsed is issue 16 #11: AWS and history flags were
// shown (and accepted) on iac, iam-policy and completion.
func TestGlobalFlagsOnlyWhereUsed(t *testing.T) {
	for _, tc := range []struct {
		cmd  []string
		flag string
		has  bool
	}{
		{[]string{"audit"}, "endpoint-url", true}, {[]string{"audit"}, "db", true}, {[]string{"audit"}, "request-timeout", true},
		{[]string{"enable"}, "endpoint-url", true}, {[]string{"restore"}, "profile", true}, {[]string{"drill"}, "max-attempts", true},
		{[]string{"drill", "cleanup"}, "endpoint-url", true}, {[]string{"history"}, "db", true}, {[]string{"history", "journal"}, "db", true},
		{[]string{"history"}, "endpoint-url", false}, {[]string{"iac", "scan"}, "endpoint-url", false}, {[]string{"iac", "scan"}, "db", false},
		{[]string{"iam-policy"}, "profile", false}, {[]string{"version"}, "region", false}, {[]string{"completion", "bash"}, "no-store", false},
		{[]string{"audit"}, "debug", true}, {[]string{"iac", "scan"}, "quiet", true},
	} {
		root := NewRootCmd(&Factory{IO: func() *iostreams.IOStreams { s, _, _, _ := iostreams.Test(); return s }()})
		root.InitDefaultCompletionCmd()
		c, _, err := root.Find(tc.cmd)
		if err != nil {
			t.Fatalf("%v: %v", tc.cmd, err)
		}
		if got := c.Flag(tc.flag) != nil; got != tc.has {
			t.Errorf("%s --%s: present %v, want %v", strings.Join(tc.cmd, " "), tc.flag, got, tc.has)
		}
	}
	if r := runLocal(t, "iac", "scan", ".", "--endpoint-url", "http://x"); r.code != ExitUsage || !strings.Contains(r.errOut, "unknown flag") {
		t.Errorf("iac scan --endpoint-url: exit %d %q", r.code, r.errOut)
	}
}

// TestAuditRegionScopes is issue 16 #11: --region without --regions scopes
// the audit to that region, as for enable and drill.
func TestAuditRegionScopes(t *testing.T) {
	o, code, msg := captureAudit(t, "audit", "--region", "eu-west-1")
	if code != 0 || o == nil {
		t.Fatalf("exit %d %s", code, msg)
	}
	if s, err := o.Target.validate(); err != nil || len(s.Regions) != 1 || s.Regions[0] != "eu-west-1" {
		t.Errorf("--region alone: scope %v %v", s.Regions, err)
	}
	o, _, _ = captureAudit(t, "audit", "--region", "eu-west-1", "--regions", "us-east-1,us-west-2")
	if s, _ := o.Target.validate(); len(s.Regions) != 2 || s.Regions[0] != "us-east-1" {
		t.Errorf("--regions wins: %v", s.Regions)
	}
	o, _, _ = captureAudit(t, "audit")
	if s, _ := o.Target.validate(); len(s.Regions) != 0 {
		t.Errorf("no region flags: every enabled region, got %v", s.Regions)
	}
}

func TestCompletionOfFlagValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "audit", "--format", ""}, []string{"table", "json", "csv"}},
		{[]string{"__complete", "audit", "--fail-on", ""}, []string{"non-compliant", "unknown"}},
		{[]string{"__complete", "history", "--kind", ""}, []string{"audit", "drill", "enable", "restore"}},
		{[]string{"__complete", "enable", "--tier", ""}, []string{"critical", "standard"}},
		{[]string{"__complete", "drill", "--tier", ""}, []string{"critical", "standard"}},
		{[]string{"__complete", "audit", "--region", "eu-we"}, []string{"eu-west-1", "eu-west-2"}},
	} {
		r := runLocal(t, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(r.out, w+"\n") {
				t.Errorf("%v: completion %q lacks %q", tc.args[1:], r.out, w)
			}
		}
	}
}

func TestHistoryNoMatch(t *testing.T) {
	db := filepath.Join(t.TempDir(), "h.db")
	if r := runLocal(t, "history", "--kind", "drill", "--db", db); r.code != ExitNoMatch || !strings.Contains(r.errOut, "no drill runs recorded") {
		t.Errorf("history --kind drill on an empty db: exit %d %q, want 5", r.code, r.errOut)
	}
	if r := runLocal(t, "history", "journal", "--run", "999", "--db", db); r.code != ExitNoMatch || !strings.Contains(r.errOut, "no run 999") {
		t.Errorf("journal --run 999: exit %d %q, want 5", r.code, r.errOut)
	}
	if r := runLocal(t, "history", "--db", db); r.code != ExitOK || !strings.Contains(r.errOut, "No runs recorded yet") {
		t.Errorf("history on an empty db: exit %d %q", r.code, r.errOut)
	}
}

func wideAudit() *report.Audit {
	a := sampleAudit()
	a.Tables[1].Reasons = []model.Reason{model.ReasonPITRDisabled, model.ReasonExemptionExpired, model.ReasonHistoryBelowMinimum, model.ReasonTagsUnreadable}
	a.Tables[1].Name = "sessions-with-a-rather-long-table-name-for-the-terminal"
	return a
}

// TestAuditTableColourAligned is issue 16 #12: with colour on, the columns
// after VERDICT were shifted by the width of the ANSI codes.
func TestAuditTableColourAligned(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	ios.SetTTY(true)
	ios.SetColor(true)
	a := sampleAudit()
	a.Tables = append(a.Tables, a.Tables[0])
	a.Tables[2].Verdict, a.Tables[2].Name = model.Exempt, "scratch"
	if err := writeAudit(ios.Out, &Factory{IO: ios}, "table", false, false, a); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\x1b[") {
		t.Fatal("no colour")
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	col := strings.Index(lines[0], "REASONS")
	for _, l := range lines[1:] {
		plain := stripANSI(l)
		if len(plain) <= col || plain[col-1] != ' ' || plain[col] == ' ' {
			t.Errorf("the REASONS cell does not start at column %d (under the header) in %q", col, plain)
		}
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	esc := false
	for _, r := range s {
		switch {
		case esc:
			esc = r != 'm'
		case r == '\x1b':
			esc = true
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestAuditTableFitsTerminal is issue 16 #12: at 80 columns rows wrapped; now
// long cells are cut with "…", and --wide prints them in full.
func TestAuditTableFitsTerminal(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	ios.SetTTY(true)
	ios.SetWidth(80)
	if err := writeAudit(ios.Out, &Factory{IO: ios}, "table", false, false, wideAudit()); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
	if !strings.Contains(out.String(), "…") {
		t.Errorf("nothing truncated:\n%s", out)
	}
	out.Reset()
	if err := writeAudit(ios.Out, &Factory{IO: ios}, "table", false, true, wideAudit()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "restorable_history_below_minimum,tags_unreadable") || strings.Contains(out.String(), "…") {
		t.Errorf("--wide must print every cell in full:\n%s", out)
	}
}
