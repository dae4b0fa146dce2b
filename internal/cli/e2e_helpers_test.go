package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// fixedNow is the clock of every CLI test (exemption expiry depends on it).
var fixedNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// env is an emulated AWS organization behind a fault-injection proxy.
type env struct {
	moto    *testaws.Moto
	proxy   *testaws.Proxy
	seed    *testaws.Seeder
	members []string
	dir     string
	db      string
}

func newEnv(t *testing.T, members int) *env {
	t.Helper()
	m := testaws.MotoT(t)
	e := &env{moto: m, proxy: testaws.ProxyT(t, m.URL), seed: testaws.NewSeeder(m.URL), dir: t.TempDir()}
	e.db = filepath.Join(e.dir, "history.db")
	if members > 0 {
		ids, err := e.seed.CreateOrg(context.Background(), members)
		if err != nil {
			t.Fatal(err)
		}
		e.members = ids
	}
	return e
}

func (e *env) tables(t *testing.T, account, region string, specs ...testaws.TableSpec) {
	t.Helper()
	if err := e.seed.CreateTables(context.Background(), account, region, specs); err != nil {
		t.Fatal(err)
	}
}

func (e *env) writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	code        int
	out, errOut string
}

// run executes pitrguard in-process against the proxy.
func (e *env) run(t *testing.T, args ...string) result {
	t.Helper()
	return e.runCtx(t, context.Background(), args...)
}

func (e *env) runCtx(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &Factory{IO: ios, Now: func() time.Time { return fixedNow }, Credentials: testaws.Credentials}
	full := append(append([]string{}, args...), commonFlags(args, e.db, e.proxy.URL)...)
	code := Run(ctx, full, f)
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

func (r result) audit(t *testing.T) *report.Audit {
	t.Helper()
	var a report.Audit
	if err := json.Unmarshal([]byte(r.out), &a); err != nil {
		t.Fatalf("output is not the audit JSON: %v\nstdout:\n%s\nstderr:\n%s", err, r.out, r.errOut)
	}
	return &a
}

func findTable(t *testing.T, a *report.Audit, account, region, name string) report.TableResult {
	t.Helper()
	for _, tr := range a.Tables {
		if tr.Account == account && tr.Region == region && tr.Name == name {
			return tr
		}
	}
	t.Fatalf("table %s/%s/%s not in the report", account, region, name)
	return report.TableResult{}
}

// commonFlags are the history and emulator flags a test adds to a command
// line, each only where the command has it (offline commands such as iac,
// iam-policy or merge have neither; history has no AWS flags).
func commonFlags(args []string, db, endpoint string) []string {
	ios, _, _, _ := iostreams.Test()
	cmd, _, err := NewRootCmd(&Factory{IO: ios}).Find(args)
	if err != nil {
		return nil
	}
	var out []string
	if db != "" && cmd.Flag("db") != nil {
		out = append(out, "--db", db)
	}
	if cmd.Flag("endpoint-url") != nil {
		// A generous per-attempt timeout: moto on a loaded machine can take
		// longer than the 20s default to answer GetResources, and a retried
		// attempt would change the call counts the tests assert.
		out = append(out, "--endpoint-url", endpoint, "--retry-max-backoff", "5ms")
		if !slices.Contains(args, "--request-timeout") {
			out = append(out, "--request-timeout", "2m")
		}
	}
	return out
}
