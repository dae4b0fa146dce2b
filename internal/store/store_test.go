package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/testpg"
)

var (
	pgOnce   sync.Once
	pgServer *testpg.Server
	pgErr    error
)

func TestMain(m *testing.M) {
	if os.Getenv("PITRGUARD_STORE_HELPER") != "" {
		os.Exit(helperProcess())
	}
	code := m.Run()
	pgServer.Stop()
	os.Exit(code)
}

// driver is one Store implementation under test; newTarget returns a fresh,
// empty database for it (a file path or a postgres:// URL).
type driver struct {
	name      string
	newTarget func(t *testing.T) string
}

// drivers returns both drivers: the whole suite runs on each.
func drivers(t *testing.T) []driver {
	t.Helper()
	pgOnce.Do(func() { pgServer, pgErr = testpg.Start() })
	ds := []driver{{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "sub", "h.db") }}}
	switch {
	case errors.Is(pgErr, testpg.ErrNoPostgres):
		if os.Getenv("PITRGUARD_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("%v; PITRGUARD_REQUIRE_POSTGRES=1 forbids running the store suite without PostgreSQL", pgErr)
		}
		t.Logf("PostgreSQL not installed; only the sqlite driver runs: %v", pgErr)
	case pgErr != nil:
		t.Fatal(pgErr)
	default:
		ds = append(ds, driver{"postgres", func(t *testing.T) string { return pgServer.DatabaseT(t) }})
	}
	return ds
}

func forEachDriver(t *testing.T, fn func(t *testing.T, target string)) {
	for _, d := range drivers(t) {
		t.Run(d.name, func(t *testing.T) { fn(t, d.newTarget(t)) })
	}
}

func mustOpen(t *testing.T, target string) Store {
	t.Helper()
	s, err := Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreRoundTrip(t *testing.T) {
	forEachDriver(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := mustOpen(t, target)
		t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		id1, err := s.BeginRun(ctx, "audit", "arn:aws:sts::1:user/a", "pitrguard audit", t0)
		if err != nil {
			t.Fatal(err)
		}
		days := 14
		if err := s.AddTables(ctx, id1, []TableRecord{
			{Account: "111111111111", Region: "us-east-1", Name: "t", ARN: "arn:t", Verdict: "COMPLIANT", Tier: "critical", PITRStatus: "ENABLED", RecoveryDays: &days, Facts: json.RawMessage(`{"tags":{"a":"1"}}`)},
			{Account: "111111111111", Region: "us-east-1", Name: "u", ARN: "arn:u", Verdict: "NON_COMPLIANT", Tier: "standard", PITRStatus: "DISABLED", Facts: json.RawMessage(`{}`)},
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, id1, "completed", true, map[string]int{"tables": 2}, []string{}, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		id2, err := s.BeginRun(ctx, "audit", "c", "a", t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddTables(ctx, id2, []TableRecord{{Account: "111111111111", Region: "us-east-1", Name: "t", ARN: "arn:t", Verdict: "NON_COMPLIANT", Tier: "critical", PITRStatus: "DISABLED", Facts: json.RawMessage(`{"facts_version":1}`), FactsVersion: 1}}); err != nil {
			t.Fatal(err)
		}
		s.Close()

		// Reopen: migrations are idempotent and data persists.
		s = mustOpen(t, target)
		defer s.Close()
		runs, err := s.Runs(ctx, "audit", 10)
		if err != nil || len(runs) != 2 {
			t.Fatalf("runs %v %v", runs, err)
		}
		if runs[0].ID != id2 || runs[0].Status != "running" || runs[1].Status != "completed" || !runs[1].CoverageComplete ||
			string(runs[1].Summary) != `{"tables":2}` || runs[1].FinishedAt == nil || !runs[1].StartedAt.Equal(t0) ||
			!runs[1].FinishedAt.Equal(t0.Add(time.Minute)) || runs[0].FinishedAt != nil {
			t.Errorf("runs: %+v", runs)
		}
		if other, err := s.Runs(ctx, "enable", 10); err != nil || len(other) != 0 {
			t.Errorf("runs of another kind: %v %v", other, err)
		}
		last, err := s.LastTable(ctx, "111111111111", "us-east-1", "t")
		if err != nil || last.RunID != id2 || string(last.Facts) != `{"facts_version":1}` || last.FactsVersion != 1 || !last.SeenAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("last table: %+v %v", last, err)
		}
		u, err := s.LastTable(ctx, "111111111111", "us-east-1", "u")
		if err != nil || u.RecoveryDays != nil || u.Verdict != "NON_COMPLIANT" || u.FactsVersion != 0 {
			t.Errorf("u: %+v %v", u, err)
		}
		if _, err := s.LastTable(ctx, "111111111111", "us-east-1", "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing table: %v", err)
		}
		tables, err := s.Tables(ctx, id1)
		if err != nil || len(tables) != 2 || tables[0].Name != "t" || *tables[0].RecoveryDays != 14 || tables[1].Name != "u" {
			t.Errorf("tables: %+v %v", tables, err)
		}
	})
}

func TestAddTablesIsAnIdempotentUpsert(t *testing.T) {
	forEachDriver(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := mustOpen(t, target)
		defer s.Close()
		id, _ := s.BeginRun(ctx, "audit", "c", "a", time.Now())
		rec := TableRecord{Account: "111111111111", Region: "us-east-1", Name: "t", ARN: "arn:t", Verdict: "UNKNOWN", Tier: "standard", PITRStatus: "UNKNOWN", Facts: json.RawMessage(`{}`)}
		for i := 0; i < 3; i++ { // a retried batch
			if err := s.AddTables(ctx, id, []TableRecord{rec}); err != nil {
				t.Fatal(err)
			}
		}
		rec.Verdict, rec.PITRStatus = "COMPLIANT", "ENABLED"
		if err := s.AddTables(ctx, id, []TableRecord{rec}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Tables(ctx, id)
		if err != nil || len(got) != 1 || got[0].Verdict != "COMPLIANT" || got[0].PITRStatus != "ENABLED" {
			t.Errorf("after retries: %+v %v", got, err)
		}
	})
}

func TestRunGroups(t *testing.T) {
	forEachDriver(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := mustOpen(t, target)
		defer s.Close()
		t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		var ids []int64
		for k := 1; k <= 3; k++ {
			id, err := s.StartRun(ctx, RunStart{Kind: "audit", Caller: "c", Args: "a", StartedAt: t0, RunGroup: "g1", Shard: k, Shards: 3})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if _, err := s.StartRun(ctx, RunStart{Kind: "audit", StartedAt: t0, RunGroup: "g2", Shard: 1, Shards: 1}); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []RunStart{{Shard: 4, Shards: 3}, {Shard: 0, Shards: 3}, {Shard: -1, Shards: 2}} {
			bad.Kind, bad.StartedAt = "audit", t0
			if _, err := s.StartRun(ctx, bad); err == nil {
				t.Errorf("shard %d/%d accepted", bad.Shard, bad.Shards)
			}
		}
		info := map[string]any{"caller": "c", "accounts": 2}
		if err := s.EndRun(ctx, ids[1], RunEnd{Status: StatusCompleted, Coverage: true, Summary: map[string]int{"tables": 1}, Errors: []string{}, Info: info, Finished: t0.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		runs, err := s.RunGroup(ctx, "g1")
		if err != nil || len(runs) != 3 {
			t.Fatalf("group: %+v %v", runs, err)
		}
		for i, r := range runs {
			if r.ID != ids[i] || r.RunGroup != "g1" || r.Shard != i+1 || r.Shards != 3 {
				t.Errorf("run %d: %+v", i, r)
			}
		}
		if string(runs[1].Info) != `{"accounts":2,"caller":"c"}` || runs[1].Status != StatusCompleted || string(runs[0].Info) != `{}` {
			t.Errorf("info: %s / %s", runs[1].Info, runs[0].Info)
		}
		if none, err := s.RunGroup(ctx, "nope"); err != nil || len(none) != 0 {
			t.Errorf("unknown group: %v %v", none, err)
		}
	})
}

func TestJournalAndDrills(t *testing.T) {
	forEachDriver(t, func(t *testing.T, target string) {
		ctx := context.Background()
		s := mustOpen(t, target)
		defer s.Close()
		t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		r1, _ := s.BeginRun(ctx, "enable", "c", "a", t0)
		r2, _ := s.BeginRun(ctx, "enable", "c", "a", t0)
		if err := s.AddJournal(ctx, JournalEntry{RunID: r1, At: t0, Caller: "c", Account: "1", Region: "r", Table: "t", Action: "enable_pitr",
			Before: json.RawMessage(`{"enabled":false}`), After: json.RawMessage(`{"enabled":true,"days":35}`), Result: "applied"}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddJournal(ctx, JournalEntry{RunID: r2, At: t0.Add(time.Second), Caller: "c", Account: "1", Region: "r", Table: "u", Action: "enable_pitr", Result: "failed", Error: "boom"}); err != nil {
			t.Fatal(err)
		}
		all, err := s.Journal(ctx, 0, 10)
		if err != nil || len(all) != 2 || all[0].Table != "u" || string(all[0].Before) != "null" || all[1].Result != "applied" ||
			string(all[1].After) != `{"enabled":true,"days":35}` || !all[1].At.Equal(t0) {
			t.Errorf("journal: %+v %v", all, err)
		}
		one, err := s.Journal(ctx, r1, 10)
		if err != nil || len(one) != 1 || one[0].RunID != r1 {
			t.Errorf("journal of run: %+v %v", one, err)
		}

		d, _ := s.BeginRun(ctx, "drill", "c", "a", t0)
		rp := t0.Add(-time.Hour)
		for i, res := range []string{"passed", "failed"} {
			if err := s.AddDrill(ctx, Drill{RunID: d, StartedAt: t0.Add(time.Duration(i) * time.Minute), Account: "1", Region: "r", Table: "t",
				ScratchTable: "pitrguard-drill-t", RestorePoint: &rp, RestoreSeconds: 12.5, TotalSeconds: 30.25, SizeBytes: 5 << 32,
				Result: res, Cleanup: "deleted", Evidence: json.RawMessage(`{"checks":[]}`)}); err != nil {
				t.Fatal(err)
			}
		}
		ds, err := s.Drills(ctx, 10)
		if err != nil || len(ds) != 2 || ds[0].Result != "failed" || ds[1].SizeBytes != 5<<32 || ds[1].RestoreSeconds != 12.5 ||
			ds[1].RestorePoint == nil || !ds[1].RestorePoint.Equal(rp) || string(ds[1].Evidence) != `{"checks":[]}` {
			t.Errorf("drills: %+v %v", ds, err)
		}
		last, err := s.LastPassedDrill(ctx, "1", "r", "t")
		if err != nil || !last.Equal(t0) {
			t.Errorf("last passed: %v %v", last, err)
		}
		if _, err := s.LastPassedDrill(ctx, "1", "r", "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("never drilled: %v", err)
		}
	})
}

// recordOneRun is what each concurrent "process" does: open a (possibly new)
// database and record a complete audit.
func recordOneRun(ctx context.Context, target string, n int) error {
	s, err := Open(ctx, target)
	if err != nil {
		return err
	}
	defer s.Close()
	id, err := s.StartRun(ctx, RunStart{Kind: "audit", Caller: "c", Args: fmt.Sprint(n), StartedAt: time.Now(), RunGroup: "g", Shard: n, Shards: 100})
	if err != nil {
		return err
	}
	var recs []TableRecord
	for i := range 50 {
		recs = append(recs, TableRecord{Account: fmt.Sprintf("%012d", n), Region: "us-east-1", Name: fmt.Sprintf("t%03d", i), ARN: "arn",
			Verdict: "COMPLIANT", Tier: "standard", PITRStatus: "ENABLED", Facts: json.RawMessage(`{}`)})
	}
	if err := s.AddTables(ctx, id, recs); err != nil {
		return err
	}
	return s.FinishRun(ctx, id, StatusCompleted, true, map[string]int{"tables": 50}, []string{}, time.Now())
}

func checkAllRecorded(t *testing.T, target string, n int) {
	t.Helper()
	s := mustOpen(t, target)
	defer s.Close()
	runs, err := s.RunGroup(context.Background(), "g")
	if err != nil || len(runs) != n {
		t.Fatalf("want %d runs, got %d (%v)", n, len(runs), err)
	}
	for _, r := range runs {
		tables, err := s.Tables(context.Background(), r.ID)
		if err != nil || len(tables) != 50 || r.Status != StatusCompleted {
			t.Errorf("run %d (%s): %d tables, %v", r.ID, r.Status, len(tables), err)
		}
	}
}

// Issue 16 #3: two processes opening a new --db at once failed ("migration …
// table runs already exists (move it aside…)") and one audit lost its run.
func TestConcurrentFirstUse(t *testing.T) {
	forEachDriver(t, func(t *testing.T, target string) {
		const n = 10
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { errs[i] = recordOneRun(context.Background(), target, i+1) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("writer %d: %v", i+1, err)
			}
		}
		checkAllRecorded(t, target, n)
	})
}

// The same with separate processes (file locks between processes are what
// SQLite relies on; goroutines in one process share its lock state).
func TestConcurrentFirstUseProcesses(t *testing.T) {
	forEachDriver(t, func(t *testing.T, target string) {
		const n = 6
		cmds := make([]*exec.Cmd, n)
		outs := make([]*strings.Builder, n)
		for i := range n {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "PITRGUARD_STORE_HELPER=record", "PITRGUARD_STORE_TARGET="+target, fmt.Sprintf("PITRGUARD_STORE_N=%d", i+1))
			outs[i] = &strings.Builder{}
			cmd.Stdout, cmd.Stderr = outs[i], outs[i]
			cmds[i] = cmd
		}
		for _, c := range cmds { // start them all before waiting on any
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("process %d: %v\n%s", i+1, err, outs[i])
			}
		}
		checkAllRecorded(t, target, n)
	})
}

func helperProcess() int {
	var n int
	fmt.Sscan(os.Getenv("PITRGUARD_STORE_N"), &n)
	if err := recordOneRun(context.Background(), os.Getenv("PITRGUARD_STORE_TARGET"), n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestOpenExistingCreatesNothing(t *testing.T) {
	forEachDriver(t, func(t *testing.T, target string) {
		ctx := context.Background()
		_, err := OpenExisting(ctx, target)
		if !errors.Is(err, ErrNoDatabase) {
			t.Fatalf("want ErrNoDatabase, got %v", err)
		}
		if !strings.Contains(err.Error(), "pitrguard audit") {
			t.Errorf("the message should say what to do: %v", err)
		}
		if !IsPostgresURL(target) {
			if _, err := os.Stat(filepath.Dir(target)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the directory was created: %v", err)
			}
			return
		}
		// Postgres: no schema was created either; a writer still can.
		s := mustOpen(t, target)
		s.Close()
		r, err := OpenExisting(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	})
}

func TestSQLiteFileAndDirectoryPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "h.db")
	s := mustOpen(t, path)
	if _, err := s.BeginRun(context.Background(), "audit", "c", "a", time.Now()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700 | os.ModeDir, filepath.Dir(dir): 0o700 | os.ModeDir} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	// The WAL and shared-memory files SQLite creates beside it are 0600 too.
	for _, suffix := range []string{"-wal", "-shm"} {
		if fi, err := os.Stat(path + suffix); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s%s: mode %v", path, suffix, fi.Mode())
		}
	}
}

// Issue 9 #12: the DSN was built by concatenation, so '#', '?' and '%' in
// --db corrupted the path and "?_pragma=…" could be injected.
func TestSQLitePathIsNotADSN(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"a#b.db", "a?b.db", "100%.db", "x%3Fy.db", "h.db?_pragma=query_only(1)", "h.db?mode=ro", "sp ace&amp.db", "ü.db"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			// Writes work: no injected query_only or read-only mode.
			if _, err := s.BeginRun(ctx, "audit", "c", "a", time.Now()); err != nil {
				t.Fatalf("write: %v", err)
			}
			s.Close()
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				if !strings.HasSuffix(e.Name(), "-wal") && !strings.HasSuffix(e.Name(), "-shm") {
					names = append(names, e.Name())
				}
			}
			if len(names) != 1 || names[0] != name {
				t.Errorf("files created: %q, want exactly %q", names, name)
			}
			r, err := OpenExisting(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if runs, err := r.Runs(ctx, "", 5); err != nil || len(runs) != 1 {
				t.Errorf("reopened: %v %v", runs, err)
			}
		})
	}
}

func TestOpenExistingReadOnlyFile(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "ro")
	path := filepath.Join(dir, "h.db")
	s := mustOpen(t, path)
	id, _ := s.BeginRun(ctx, "audit", "c", "a", time.Now())
	if err := s.FinishRun(ctx, id, StatusCompleted, true, map[string]int{"tables": 0}, []string{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	// Root may write anything; make the store see what another user would.
	old := writable
	writable = func(string) bool { return false }
	t.Cleanup(func() { writable = old })

	before, _ := os.ReadDir(dir)
	r, err := OpenExisting(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := r.Runs(ctx, "", 5)
	if err != nil || len(runs) != 1 || runs[0].Status != StatusCompleted {
		t.Errorf("runs: %v %v", runs, err)
	}
	if _, err := r.BeginRun(ctx, "audit", "c", "a", time.Now()); err == nil {
		t.Error("a read-only open accepted a write")
	}
	r.Close()
	// SQLite's own -wal/-shm companions aside (root may create them), reading
	// created nothing.
	if got, want := dbFiles(dir), dbFiles(dir); len(before) != 1 || len(got) != 1 || got[0] != want[0] || got[0] != "h.db" {
		t.Errorf("files after reading: %v", got)
	}
}

func dbFiles(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), "-wal") && !strings.HasSuffix(e.Name(), "-shm") {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestOpenErrorsAdviseCorrectly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, junk)
	if err == nil || !strings.Contains(err.Error(), "move it aside") {
		t.Errorf("a file that is not a database: %v", err)
	}
	// A healthy database is never called damaged.
	good := filepath.Join(dir, "good.db")
	s := mustOpen(t, good)
	s.Close()
	s2, err := Open(ctx, good)
	if err != nil {
		t.Fatalf("reopen of a healthy database: %v", err)
	}
	s2.Close()
	if _, err := Open(ctx, "postgres://u:secret@127.0.0.1:1/x?connect_timeout=1"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("an unreachable postgres must fail without printing the password: %v", err)
	}
}

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	lite, err := loadMigrations("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if filepath.Base(lite[i].Name) != filepath.Base(pg[i].Name) {
			t.Errorf("version %d: %s vs %s", i+1, lite[i].Name, pg[i].Name)
		}
	}
}

// The same columns exist in both dialects after all migrations.
func TestSchemasMatchAcrossDrivers(t *testing.T) {
	ds := drivers(t)
	if len(ds) < 2 {
		t.Fatal("needs both drivers")
	}
	ctx := context.Background()
	cols := map[string]map[string][]string{}
	for _, d := range ds {
		target := d.newTarget(t)
		s := mustOpen(t, target)
		cols[d.name] = map[string][]string{}
		for _, table := range []string{"runs", "table_facts", "journal", "drills", "schema_version"} {
			var names []string
			switch st := s.(type) {
			case *SQLite:
				rows, err := st.db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY name`, table)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var n string
					rows.Scan(&n)
					names = append(names, n)
				}
				rows.Close()
			case *Postgres:
				rows, err := st.pool.Query(ctx, `SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY column_name`, table)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var n string
					rows.Scan(&n)
					names = append(names, n)
				}
				rows.Close()
			}
			cols[d.name][table] = names
		}
		s.Close()
	}
	for table, want := range cols["sqlite"] {
		if len(want) == 0 || strings.Join(want, ",") != strings.Join(cols["postgres"][table], ",") {
			t.Errorf("%s: sqlite %v, postgres %v", table, want, cols["postgres"][table])
		}
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("PITRGUARD_DB", "")
	t.Setenv("XDG_DATA_HOME", "/x")
	if p, _ := DefaultPath(); p != "/x/pitrguard/pitrguard.db" {
		t.Errorf("XDG: %s", p)
	}
	t.Setenv("PITRGUARD_DB", "/y.db")
	if p, _ := DefaultPath(); p != "/y.db" {
		t.Errorf("env: %s", p)
	}
	t.Setenv("PITRGUARD_DB", "postgres://h/db")
	if p, _ := DefaultPath(); !IsPostgresURL(p) {
		t.Errorf("env url: %s", p)
	}
}
