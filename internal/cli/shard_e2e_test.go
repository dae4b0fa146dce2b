package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/report"
	"github.com/pitrguard/pitrguard/internal/rungroup"
	"github.com/pitrguard/pitrguard/internal/testaws"
	"github.com/pitrguard/pitrguard/internal/testpg"
)

// runDB runs pitrguard against the env's proxy with an explicit --db (a
// postgres:// URL here) and environment.
func (e *env) runDB(t *testing.T, db string, getenv map[string]string, args ...string) result {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &Factory{IO: ios, Now: func() time.Time { return fixedNow }, Credentials: testaws.Credentials,
		Getenv: func(k string) string { return getenv[k] }}
	full := append(append([]string{}, args...), "--endpoint-url", e.proxy.URL, "--retry-max-backoff", "5ms")
	if db != "" {
		full = append(full, "--db", db)
	}
	code := Run(context.Background(), full, f)
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// comparable strips what differs between two audits of the same estate:
// moto's restorable window moves with the wall clock; run ids, durations and
// call counts (each shard lists the organization itself) differ by design.
func comparable(a *report.Audit) *report.Audit {
	c := *a
	c.Tables = append([]report.TableResult{}, a.Tables...)
	for i := range c.Tables {
		c.Tables[i].PITR.EarliestRestorable, c.Tables[i].PITR.LatestRestorable, c.Tables[i].PITR.RestorableDays = nil, nil, nil
	}
	c.Run = report.RunInfo{Caller: a.Run.Caller, Policy: a.Run.Policy, Prices: a.Run.Prices, Accounts: a.Run.Accounts, Targets: a.Run.Targets}
	return &c
}

// TestShardedAuditEqualsUnsharded is issue 14's acceptance: shards of one run
// group, recorded in one PostgreSQL, read back by `history --run-group` as
// the very report one unsharded audit prints; `merge` of the shards' files
// gives the same; a missing shard makes coverage incomplete and is named.
func TestShardedAuditEqualsUnsharded(t *testing.T) {
	e := newEnv(t, 4)
	seedSmallOrg(t, e)
	for i, m := range e.members[2:] {
		e.tables(t, m, "us-east-1", testaws.TableSpec{Name: fmt.Sprintf("extra-%d", i), PITR: i%2 == 0, Tags: map[string]string{"env": "prod"}})
	}
	pg := testpg.StartT(t)
	dbURL := pg.DatabaseT(t)
	common := []string{"audit", "--org", "--regions", "us-east-1,eu-west-1", "--config", "testdata/policy.yaml", "--format", "json"}

	whole := e.runDB(t, "", nil, append(common, "--no-store")...)
	if whole.code != ExitOK {
		t.Fatalf("unsharded audit: exit %d\n%s", whole.code, whole.errOut)
	}
	want := whole.audit(t)

	const n = 3
	files := make([]string, n)
	results := make([]result, n)
	var wg sync.WaitGroup
	for k := 1; k <= n; k++ { // the shards run at once, writing to one PostgreSQL
		files[k-1] = filepath.Join(e.dir, fmt.Sprintf("shard-%d.json", k))
		// Shard 2 takes its index from a Kubernetes Indexed Job's variable.
		args := append(append([]string{}, common...), "--run-group", "g1", "--output", files[k-1])
		env := map[string]string{}
		if k == 2 {
			args = append(args, "--shards", fmt.Sprint(n))
			env["JOB_COMPLETION_INDEX"] = "1"
		} else {
			args = append(args, "--shard", fmt.Sprintf("%d/%d", k, n))
		}
		wg.Go(func() { results[k-1] = e.runDB(t, dbURL, env, args...) })
	}
	wg.Wait()
	seen := map[string]int{}
	for k := 1; k <= n; k++ {
		if r := results[k-1]; r.code != ExitOK {
			t.Fatalf("shard %d: exit %d\n%s", k, r.code, r.errOut)
		}
		a, err := readShardFile(files[k-1])
		if err != nil {
			t.Fatal(err)
		}
		if a.Run.RunGroup != "g1" || a.Run.Shard != k || a.Run.Shards != n {
			t.Errorf("shard %d run: %+v", k, a.Run)
		}
		for _, tr := range a.Tables {
			if got := rungroup.ShardOf(tr.Account, n); got != k {
				t.Errorf("shard %d audited %s, which hashes to shard %d", k, tr.Account, got)
			}
			seen[tr.Account+"/"+tr.Region+"/"+tr.Name]++
		}
	}
	for key, c := range seen {
		if c != 1 {
			t.Errorf("%s audited by %d shards", key, c)
		}
	}
	if len(seen) != len(want.Tables) {
		t.Errorf("the shards saw %d tables, the unsharded audit %d", len(seen), len(want.Tables))
	}

	h := e.runDB(t, dbURL, nil, "history", "--run-group", "g1", "--format", "json")
	if h.code != ExitOK {
		t.Fatalf("history --run-group: exit %d\n%s", h.code, h.errOut)
	}
	merged := h.audit(t)
	if merged.Run.RunGroup != "g1" || merged.Run.Shards != n || !merged.Summary.CoverageComplete {
		t.Errorf("merged run: %+v coverage %v", merged.Run, merged.Summary.CoverageComplete)
	}
	if diff := cmp.Diff(comparable(want), comparable(merged)); diff != "" {
		t.Errorf("history --run-group differs from the unsharded audit (-unsharded +merged):\n%s", diff)
	}
	// The same keys as audit's envelope, nothing more, nothing less.
	var wantKeys, gotKeys map[string]json.RawMessage
	json.Unmarshal([]byte(whole.out), &wantKeys)
	json.Unmarshal([]byte(h.out), &gotKeys)
	if len(wantKeys) != len(gotKeys) {
		t.Errorf("envelope keys: %d vs %d", len(wantKeys), len(gotKeys))
	}

	m := e.runDB(t, "", nil, append([]string{"merge", "--format", "json"}, files...)...)
	if m.code != ExitOK {
		t.Fatalf("merge: exit %d\n%s", m.code, m.errOut)
	}
	fromFiles := m.audit(t)
	if diff := cmp.Diff(comparable(merged), comparable(fromFiles)); diff != "" {
		t.Errorf("merge of the files differs from history --run-group (-history +merge):\n%s", diff)
	}

	// One shard missing: the group's coverage is incomplete and names it.
	part := e.runDB(t, "", nil, "merge", "--format", "json", files[0], files[2])
	if part.code != ExitFailure || !strings.Contains(part.errOut, "shard 2/3") {
		t.Errorf("merge without shard 2: exit %d, stderr %s", part.code, part.errOut)
	}
	pa := part.audit(t)
	if pa.Summary.CoverageComplete || !hasError(pa, rungroup.CodeShardMissing, "shard 2/3") {
		t.Errorf("merge without shard 2: coverage %v errors %+v", pa.Summary.CoverageComplete, pa.Errors)
	}
	r := e.runDB(t, dbURL, nil, append(append([]string{}, common...), "--shard", "1/2", "--run-group", "g2")...)
	if r.code != ExitOK {
		t.Fatalf("g2 shard 1: exit %d\n%s", r.code, r.errOut)
	}
	h2 := e.runDB(t, dbURL, nil, "history", "--run-group", "g2", "--format", "json")
	if h2.code != ExitFailure || !strings.Contains(h2.errOut, "shard 2/2") {
		t.Errorf("history of g2 without shard 2: exit %d, stderr %s", h2.code, h2.errOut)
	}
	if a := h2.audit(t); a.Summary.CoverageComplete || !hasError(a, rungroup.CodeShardMissing, "shard 2/2") {
		t.Errorf("g2: coverage %v errors %+v", a.Summary.CoverageComplete, a.Errors)
	}
	if r := e.runDB(t, dbURL, nil, "history", "--run-group", "nope"); r.code != ExitNoMatch {
		t.Errorf("unknown run group: exit %d %s", r.code, r.errOut)
	}
	// The plain history lists the shards with their group.
	l := e.runDB(t, dbURL, nil, "history")
	if l.code != ExitOK || !strings.Contains(l.out, "g1 3/3") || !strings.Contains(l.out, "g2 1/2") {
		t.Errorf("history:\n%s\n%s", l.out, l.errOut)
	}
}

func hasError(a *report.Audit, code, text string) bool {
	for _, e := range a.Errors {
		if e.Code == code && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

func TestShardFlags(t *testing.T) {
	cases := []struct {
		name    string
		opts    ShardOptions
		env     map[string]string
		k, n    int
		group   string
		wantErr string
	}{
		{name: "none", opts: ShardOptions{}},
		{name: "explicit", opts: ShardOptions{Shard: "2/4", RunGroup: "g1"}, k: 2, n: 4, group: "g1"},
		{name: "k8s", opts: ShardOptions{Shards: 4, RunGroup: "daily-1"}, env: map[string]string{"JOB_COMPLETION_INDEX": "3"}, k: 4, n: 4, group: "daily-1"},
		{name: "batch with its job id as group", opts: ShardOptions{Shards: 10}, env: map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "0", "AWS_BATCH_JOB_ID": "a1b2-c3:0"}, k: 1, n: 10, group: "a1b2-c3"},
		{name: "index past N", opts: ShardOptions{Shards: 2}, env: map[string]string{"JOB_COMPLETION_INDEX": "2"}, wantErr: "outside --shards 2"},
		{name: "no index", opts: ShardOptions{Shards: 2}, wantErr: "neither is set"},
		{name: "bad index", opts: ShardOptions{Shards: 2}, env: map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "x"}, wantErr: "not a 0-based index"},
		{name: "disagreeing indexes", opts: ShardOptions{Shards: 4}, env: map[string]string{"JOB_COMPLETION_INDEX": "1", "AWS_BATCH_JOB_ARRAY_INDEX": "2"}, wantErr: "disagree"},
		{name: "K zero", opts: ShardOptions{Shard: "0/3"}, wantErr: "K must be between 1 and 3"},
		{name: "K past N", opts: ShardOptions{Shard: "4/3"}, wantErr: "K must be between 1 and 3"},
		{name: "not K/N", opts: ShardOptions{Shard: "1-3"}, wantErr: "use K/N"},
		{name: "N too big", opts: ShardOptions{Shard: "1/10001"}, wantErr: "N must be between 1 and 10000"},
		{name: "group without shard", opts: ShardOptions{RunGroup: "g"}, wantErr: "add --shard"},
		{name: "bad group", opts: ShardOptions{Shard: "1/2", RunGroup: "a b"}, wantErr: "--run-group"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.opts
			err := o.resolve(func(k string) string { return c.env[k] })
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("want error containing %q, got %v", c.wantErr, err)
				}
				if code := exitCode(err); code != ExitUsage {
					t.Errorf("exit code %d, want %d", code, ExitUsage)
				}
				return
			}
			if err != nil || o.K != c.k || o.N != c.n || o.RunGroup != c.group {
				t.Errorf("got %d/%d group %q err %v", o.K, o.N, o.RunGroup, err)
			}
		})
	}
	// Through the command line: --shard and --shards together are refused.
	ios, _, _, errOut := iostreams.Test()
	if code := Run(context.Background(), []string{"audit", "--shard", "1/2", "--shards", "2", "--no-store"}, &Factory{IO: ios}); code != ExitUsage {
		t.Errorf("--shard with --shards: exit %d %s", code, errOut)
	}
}

// Issue 16 #3: reading commands create neither the database nor its directory.
func TestHistoryCreatesNoDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "never")
	db := filepath.Join(dir, "h.db")
	for _, args := range [][]string{{"history"}, {"history", "--format", "json"}, {"history", "journal"}, {"history", "drills"}} {
		ios, _, out, errOut := iostreams.Test()
		code := Run(context.Background(), append(args, "--db", db), &Factory{IO: ios})
		if code != ExitOK {
			t.Errorf("%v: exit %d %s", args, code, errOut)
		}
		if args[len(args)-1] == "json" && !strings.Contains(out.String(), `"runs": []`) {
			t.Errorf("%v: %s", args, out)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("%v created %s", args, dir)
		}
	}
	ios, _, _, errOut := iostreams.Test()
	if code := Run(context.Background(), []string{"history", "--run-group", "g", "--db", db}, &Factory{IO: ios}); code != ExitFailure ||
		!strings.Contains(errOut.String(), "no history database") {
		t.Errorf("--run-group without a database: exit %d %s", code, errOut)
	}
}

// Issue 16 #3 at the command level: two audits started at once on a new
// --db both record a complete run. (In one process SQLite shares its lock
// state; the cross-process reproduction, which failed before the fix with
// "table runs already exists (move it aside…)", is the store's
// TestConcurrentFirstUseProcesses.)
func TestConcurrentAuditsOnANewDatabase(t *testing.T) {
	e := newEnv(t, 0)
	e.tables(t, mgmt, "us-east-1", testaws.TableSpec{Name: "orders", PITR: true}, testaws.TableSpec{Name: "carts"})
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = e.run(t, "audit", "--regions", "us-east-1", "--format", "json") })
	}
	wg.Wait()
	for i, r := range results {
		if r.code != ExitOK || strings.Contains(r.errOut, "could not record") || strings.Contains(r.errOut, "move it aside") {
			t.Errorf("audit %d: exit %d\n%s", i+1, r.code, r.errOut)
		}
	}
	h := e.run(t, "history", "--format", "json")
	var doc struct {
		Runs []struct {
			Status  string `json:"status"`
			Summary struct {
				Tables int `json:"tables"`
			} `json:"summary"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(h.out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, h.out)
	}
	if len(doc.Runs) != 2 {
		t.Fatalf("want 2 recorded runs, got %d:\n%s", len(doc.Runs), h.out)
	}
	for _, r := range doc.Runs {
		if r.Status != "completed" || r.Summary.Tables != 2 {
			t.Errorf("run: %+v", r)
		}
	}
}
