package history

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/rungroup"
	"github.com/pitrguard/pitrguard/internal/store"
	"github.com/pitrguard/pitrguard/internal/testpg"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// forEachDriver runs fn on an empty SQLite database and, when PostgreSQL is
// installed (required with PITRGUARD_REQUIRE_POSTGRES=1), an empty one there.
func forEachDriver(t *testing.T, fn func(t *testing.T, db store.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, open(t, filepath.Join(t.TempDir(), "h.db"))) })
	t.Run("postgres", func(t *testing.T) {
		pg := testpg.StartT(t)
		fn(t, open(t, pg.DatabaseT(t)))
	})
}

func open(t *testing.T, target string) store.Store {
	t.Helper()
	db, err := store.Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// audit records an audit run whose summary counts compliant and
// non-compliant tables (with one table row per table, so Load has tables).
func audit(t *testing.T, db store.Store, group string, shard, shards int, status string, compliant, nonCompliant int) int64 {
	t.Helper()
	ctx := context.Background()
	id, err := db.StartRun(ctx, store.RunStart{Kind: KindAudit, Caller: "c", StartedAt: t0.Add(time.Duration(shard) * time.Minute),
		RunGroup: group, Shard: shard, Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	var recs []store.TableRecord
	for i := range compliant + nonCompliant {
		v := "COMPLIANT"
		if i >= compliant {
			v = "NON_COMPLIANT"
		}
		name := fmt.Sprintf("%s-%d-t%d", group, shard, i)
		raw, ver, err := store.Facts{Account: fmt.Sprint(shard), Region: "us-east-1", Name: name, Verdict: v, Tier: "standard"}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, store.TableRecord{Account: fmt.Sprint(shard), Region: "us-east-1", Name: name, Verdict: v, Tier: "standard", Facts: raw, FactsVersion: ver})
	}
	if err := db.AddTables(ctx, id, recs); err != nil {
		t.Fatal(err)
	}
	if status == store.StatusRunning {
		return id
	}
	sum := policy.Summary{Tables: compliant + nonCompliant, Compliant: compliant, NonCompliant: nonCompliant,
		ComplianceRate: policy.Rate(compliant, nonCompliant, 0), CoverageComplete: status == store.StatusCompleted,
		ByTier: map[string]*policy.TierSummary{"standard": {Tables: compliant + nonCompliant, Compliant: compliant, NonCompliant: nonCompliant,
			ComplianceRate: policy.Rate(compliant, nonCompliant, 0)}}}
	if err := db.EndRun(ctx, id, store.RunEnd{Status: status, Coverage: sum.CoverageComplete, Summary: sum, Errors: []any{},
		Finished: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return id
}

func ids(es []Entry) [][]int64 {
	out := [][]int64{}
	for _, e := range es {
		var r []int64
		for _, run := range e.Runs {
			r = append(r, run.ID)
		}
		out = append(out, r)
	}
	return out
}

func TestRecentAndLatest(t *testing.T) {
	forEachDriver(t, func(t *testing.T, db store.Store) {
		ctx := context.Background()
		if _, err := LatestEntry(ctx, db); !errors.Is(err, ErrNoAudit) {
			t.Fatalf("empty history: %v", err)
		}
		if es, err := Recent(ctx, db, "", 10); err != nil || len(es) != 0 {
			t.Fatalf("empty history: %v %v", es, err)
		}

		single := audit(t, db, "", 0, 0, store.StatusCompleted, 1, 1)
		s1 := audit(t, db, "g", 1, 2, store.StatusCompleted, 2, 0)
		audit(t, db, "g", 2, 2, store.StatusInterrupted, 0, 1) // retried below: the retry stands for shard 2
		drill, err := db.BeginRun(ctx, "drill", "c", "drill", t0)
		if err != nil {
			t.Fatal(err)
		}
		s2b := audit(t, db, "g", 2, 2, store.StatusCompleted, 1, 2)
		running := audit(t, db, "", 0, 0, store.StatusRunning, 3, 0)

		es, err := Recent(ctx, db, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([][]int64{{running}, {s1, s2b}, {drill}, {single}}, ids(es)); diff != "" {
			t.Fatalf("entries (-want +got):\n%s", diff)
		}
		g := es[1]
		if g.ID != s2b || g.RunGroup != "g" || g.Shards() != 2 || g.Status != store.StatusCompleted || !g.CoverageComplete ||
			g.Summary.Tables != 5 || g.Summary.Compliant != 3 || g.Summary.ComplianceRate != 0.6 || g.Summary.ByTier["standard"].Tables != 5 ||
			!g.StartedAt.Equal(t0.Add(time.Minute)) || g.FinishedAt == nil {
			t.Errorf("group entry: %+v", g)
		}
		if !es[0].Running() || es[0].FinishedAt != nil || es[2].Kind != "drill" || es[3].Summary.ComplianceRate != 0.5 {
			t.Errorf("entries: %+v", es)
		}
		if es, err := Recent(ctx, db, KindAudit, 2); err != nil || !cmp.Equal([][]int64{{running}, {s1, s2b}}, ids(es)) {
			t.Errorf("two audits: %v %v", ids(es), err)
		}

		// The latest finished audit is the group, merged as history --run-group does.
		a, e, err := Latest(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		parts, err := Parts(ctx, db, "g")
		if err != nil {
			t.Fatal(err)
		}
		want, err := rungroup.Merge(parts)
		if err != nil {
			t.Fatal(err)
		}
		if e.ID != s2b || len(a.Tables) != 5 || a.Summary.ComplianceRate != 0.6 || !a.Summary.CoverageComplete || len(parts) != 2 ||
			parts[1].Source != fmt.Sprintf("run %d", s2b) {
			t.Errorf("latest: %+v %+v", e, a.Summary)
		}
		if diff := cmp.Diff(want, a); diff != "" {
			t.Errorf("latest differs from the merge (-merge +latest):\n%s", diff)
		}
		if e.Key() == "" || e.Key() == es[3].Key() {
			t.Errorf("keys: %q", e.Key())
		}

		// A group missing a shard is incomplete, and is the latest.
		lone := audit(t, db, "h", 1, 3, store.StatusCompleted, 1, 0)
		a, e, err = Latest(ctx, db)
		if err != nil || e.ID != lone || e.CoverageComplete || a.Summary.CoverageComplete || len(a.Errors) != 2 {
			t.Errorf("group with missing shards: %+v %+v %v", e, a, err)
		}
	})
}

// failedAudit records an audit that failed before it judged any table (as
// `pitrguard audit` records a run whose spill could not be written): no
// tables, an empty summary.
func failedAudit(t *testing.T, db store.Store, at time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	id, err := db.StartRun(ctx, store.RunStart{Kind: KindAudit, Caller: "c", StartedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EndRun(ctx, id, store.RunEnd{Status: store.StatusFailed, Summary: struct{}{}, Errors: []any{}, Finished: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	return id
}

// A failed audit recorded nothing: it is not the latest audit (its empty
// summary would read as 0 tables, 0% compliant), the one before it stands.
func TestLatestPassesOverAFailedAudit(t *testing.T) {
	forEachDriver(t, func(t *testing.T, db store.Store) {
		ctx := context.Background()
		ok := audit(t, db, "", 0, 0, store.StatusCompleted, 3, 1)
		failed := failedAudit(t, db, t0.Add(2*time.Hour))
		e, err := LatestEntry(ctx, db)
		if err != nil || e.ID != ok || e.Summary.ComplianceRate != 0.75 {
			t.Errorf("latest = %+v, %v; want run %d (the failed run %d recorded nothing)", e, err, ok, failed)
		}
		if !func() bool {
			es, _ := Recent(ctx, db, KindAudit, 5)
			return len(es) == 2 && es[0].Failed() && !es[1].Failed()
		}() {
			t.Error("Recent lists the failed run, and says it failed")
		}
	})
}
