package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/audit"
	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/store"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// streamRun is one in-process run of pitrguard with the audit's spill tuned
// (or the audit held in memory) and the terminal set as tty says.
type streamRun struct {
	inMemory bool
	spill    audit.SpillOptions
	tty      bool // stdout is a coloured terminal 100 columns wide
}

func (e *env) runStream(t *testing.T, sr streamRun, args ...string) (result, audit.SpillStats) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	if sr.tty {
		ios.SetTTY(true)
		ios.SetColor(true)
		ios.SetWidth(100)
	}
	var stats audit.SpillStats
	f := &Factory{IO: ios, Now: func() time.Time { return fixedNow }, Credentials: testaws.Credentials,
		inMemoryAudit: sr.inMemory, spill: sr.spill, spillStats: func(s audit.SpillStats) { stats = s }}
	code := Run(context.Background(), append(append([]string{}, args...), commonFlags(args, e.db, e.proxy.URL)...), f)
	return result{code: code, out: out.String(), errOut: errOut.String()}, stats
}

// fixRestorable makes moto's PITR times fixed (it answers with the wall
// clock), so that two audits of the same estate give the same bytes.
func fixRestorable(resp map[string]any) {
	cb, _ := resp["ContinuousBackupsDescription"].(map[string]any)
	p, _ := cb["PointInTimeRecoveryDescription"].(map[string]any)
	if p == nil {
		return
	}
	for k, v := range map[string]float64{"EarliestRestorableDateTime": 1762776000, "LatestRestorableDateTime": 1763985600.5} {
		if _, ok := p[k]; ok {
			p[k] = v
		}
	}
}

var durationRE = regexp.MustCompile(`"duration_seconds": [0-9.e+-]+`)

// spillFDs lists the process's open files in dir (Linux: /proc/self/fd),
// where an unlinked spill file still shows as "… (deleted)".
func spillFDs(t *testing.T, dir string) []string {
	t.Helper()
	if runtime.GOOS != "linux" {
		return nil
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir) {
			open = append(open, target)
		}
	}
	return open
}

// TestAuditStreamedEqualsInMemory audits one moto estate (34 tables, 3
// accounts, 2 regions, read errors, exemptions, tiers) twice per output
// format: holding the tables in memory, and streaming them through the
// on-disk spill with runs of 3 rows merged 2 at a time (several merge
// levels). json, csv, TSV and the aligned table — coloured, fitted to 100
// columns and --wide — must be byte-identical (apart from the run's
// duration), and so must the rows stored in the history. Any error in the
// spill's merge order, or a field lost in its round trip, shows here.
func TestAuditStreamedEqualsInMemory(t *testing.T) {
	e := newEnv(t, 2)
	seedSmallOrg(t, e)
	for i, acct := range []string{mgmt, e.members[0], e.members[1]} {
		var specs []testaws.TableSpec
		for j := range 8 {
			specs = append(specs, testaws.TableSpec{Name: fmt.Sprintf("bulk-%d-%02d", i, 17-j), PITR: j%3 != 0, RecoveryDays: 7 * (j%5 + 1),
				Tags: map[string]string{"env": []string{"prod", "dev"}[j%2], "owner": fmt.Sprint("team-", j%3)}})
		}
		e.tables(t, acct, []string{"us-east-1", "eu-west-1"}[i%2], specs...)
	}
	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Table: "bulk-1-17", Fault: testaws.FaultAccessDenied},
		&testaws.Rule{Op: "DescribeTable", Table: "bulk-2-16", Fault: testaws.FaultInternal, Code: "InternalServerError"},
		&testaws.Rule{Op: "DescribeContinuousBackups", Mutate: fixRestorable})
	spillDir := t.TempDir()
	base := []string{"audit", "--org", "--regions", "us-east-1,eu-west-1", "--config", "testdata/policy.yaml", "--allow-partial", "--max-attempts", "1"}
	for _, tc := range []struct {
		name string
		args []string
		tty  bool
	}{
		{"json", []string{"--format", "json"}, false},
		{"csv", []string{"--format", "csv"}, false},
		{"tsv", []string{"--format", "table"}, false},
		{"aligned-fitted", []string{"--format", "table"}, true},
		{"aligned-wide", []string{"--format", "table", "--wide"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, base...), tc.args...)
			e.db = filepath.Join(e.dir, tc.name+"-memory.db")
			mem, memStats := e.runStream(t, streamRun{inMemory: true, tty: tc.tty}, args...)
			e.db = filepath.Join(e.dir, tc.name+"-streamed.db")
			str, stats := e.runStream(t, streamRun{spill: audit.SpillOptions{Dir: spillDir, RunSize: 3, FanIn: 2}, tty: tc.tty}, args...)
			if mem.code != ExitOK || str.code != ExitOK {
				t.Fatalf("exit %d (in memory) and %d (streamed)\n%s\n%s", mem.code, str.code, mem.errOut, str.errOut)
			}
			if memStats != (audit.SpillStats{}) || stats.Rows != 34 || stats.Runs != 12 || stats.Levels < 3 {
				t.Errorf("spill: in memory %+v, streamed %+v; want 34 rows in 12 runs merged over ≥ 3 levels", memStats, stats)
			}
			if n := strings.Count(mem.out, "\n"); n < 34 {
				t.Fatalf("in-memory output has %d lines:\n%s", n, mem.out)
			}
			if tc.tty && !strings.Contains(mem.out, "\x1b[31mNON_COMPLIANT") {
				t.Errorf("aligned output is not coloured:\n%s", mem.out)
			}
			want, got := mem.out, str.out
			if tc.name == "json" {
				want, got = durationRE.ReplaceAllString(want, "D"), durationRE.ReplaceAllString(got, "D")
				if !strings.Contains(want, `"code": "AccessDeniedException"`) {
					t.Errorf("the estate lost its read error:\n%s", want)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("output differs (-in memory +streamed):\n%s", diff)
			}
			memErr, strErr := mem.errOut, str.errOut
			if tc.tty { // the progress bar's steps depend on timing: compare the KPIs and errors after it
				memErr, strErr = memErr[strings.Index(memErr, "\nTables:"):], strErr[strings.Index(strErr, "\nTables:"):]
			}
			if diff := cmp.Diff(memErr, strErr); diff != "" {
				t.Errorf("stderr differs (-in memory +streamed):\n%s", diff)
			}
			if open := spillFDs(t, spillDir); len(open) > 0 {
				t.Errorf("spill files still open after the audit: %v", open)
			}
			if names := leftIn(spillDir); len(names) > 0 {
				t.Errorf("left in the spill directory: %v", names)
			}
		})
	}

	// The history holds the same rows either way.
	stored := func(path string) []store.TableRecord {
		db, err := store.OpenExisting(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		recs, err := db.Tables(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	mem, str := stored(filepath.Join(e.dir, "json-memory.db")), stored(filepath.Join(e.dir, "json-streamed.db"))
	if len(mem) != 34 {
		t.Fatalf("%d rows stored", len(mem))
	}
	if diff := cmp.Diff(mem, str); diff != "" {
		t.Errorf("stored rows differ (-in memory +streamed):\n%s", diff)
	}
}

// leftIn lists the files in dir.
func leftIn(dir string) []string {
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	return names
}

// TestAuditSpillRemoved: the streamed audit's temporary files are closed and
// gone after a completed audit, after an audit stopped by --timeout, and
// after an audit whose report could not be written; a spill directory that
// cannot be written fails the audit with a clear message, and the run is
// recorded as failed.
func TestAuditSpillRemoved(t *testing.T) {
	e := newEnv(t, 0)
	var specs []testaws.TableSpec
	for i := range 12 {
		specs = append(specs, testaws.TableSpec{Name: fmt.Sprintf("t-%02d", i), PITR: i%2 == 0})
	}
	specs = append(specs, testaws.TableSpec{Name: "zz-stalled", PITR: true})
	e.tables(t, mgmt, "us-east-1", specs...)
	dir := t.TempDir()
	sr := streamRun{spill: audit.SpillOptions{Dir: dir, RunSize: 2, FanIn: 2}}
	check := func(what string, stats audit.SpillStats) {
		t.Helper()
		if stats.Runs < 2 {
			t.Errorf("%s: the spill was not used: %+v", what, stats)
		}
		if open := spillFDs(t, dir); len(open) > 0 {
			t.Errorf("%s: spill files still open: %v", what, open)
		}
		if names := leftIn(dir); len(names) > 0 {
			t.Errorf("%s: left in the spill directory: %v", what, names)
		}
	}

	r, stats := e.runStream(t, sr, "audit", "--regions", "us-east-1", "--format", "csv")
	if r.code != ExitOK || strings.Count(r.out, "\n") != 14 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	check("completed", stats)

	e.proxy.Add(&testaws.Rule{Op: "DescribeContinuousBackups", Table: "zz-stalled", Fault: testaws.FaultStall})
	r, stats = e.runStream(t, sr, "audit", "--regions", "us-east-1", "--format", "json", "--timeout", "10s")
	if r.code != ExitFailure || !strings.Contains(r.errOut, "stopped after --timeout") {
		t.Fatalf("timeout: exit %d\n%s", r.code, r.errOut)
	}
	if a := r.audit(t); a.Run.Status != audit.StatusInterrupted || len(a.Tables) != 12 {
		t.Errorf("timeout: status %q, %d tables", a.Run.Status, len(a.Tables))
	}
	check("timed out", stats)
	e.proxy.Clear()

	// The report's directory disappears after the flags were checked: the
	// write fails after the audit, and the spill is still removed.
	outDir := filepath.Join(e.dir, "reports")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	e.proxy.Add(&testaws.Rule{Op: "ListTables", Times: 1, Inspect: func(map[string]any) { os.Remove(outDir) }})
	r, stats = e.runStream(t, sr, "audit", "--regions", "us-east-1", "--output", filepath.Join(outDir, "a.json"), "--format", "json")
	if r.code != ExitFailure || !strings.Contains(r.errOut, "a.json") {
		t.Fatalf("write failure: exit %d\n%s", r.code, r.errOut)
	}
	check("report not written", stats)
	e.proxy.Clear()

	missing := filepath.Join(dir, "missing")
	r, _ = e.runStream(t, streamRun{spill: audit.SpillOptions{Dir: missing}}, "audit", "--regions", "us-east-1", "--format", "json")
	if r.code != ExitFailure || !strings.Contains(r.errOut, missing) || !strings.Contains(r.errOut, "TMPDIR") || r.out != "" {
		t.Fatalf("unwritable spill: exit %d, stdout %q\n%s", r.code, r.out, r.errOut)
	}
	db, err := store.OpenExisting(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.Runs(context.Background(), "audit", 1)
	if err != nil || len(runs) != 1 || runs[0].Status != store.StatusFailed {
		t.Errorf("last run %+v (%v), want status failed", runs, err)
	}
	if names := leftIn(dir); len(names) > 0 {
		t.Errorf("left in the spill directory: %v", names)
	}
}
