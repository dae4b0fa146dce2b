package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pitrguard/pitrguard/internal/iostreams"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/testaws"
)

// runAt is run with the clock at now (runs recorded at different times).
func (e *env) runAt(t *testing.T, now time.Time, args ...string) result {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &Factory{IO: ios, Now: func() time.Time { return now }, Credentials: testaws.Credentials}
	code := Run(context.Background(), append(append([]string{}, args...), commonFlags(args, e.db, e.proxy.URL)...), f)
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// TestHistoryTrend: two audits and a two-shard run group give three points,
// each equal to that audit's KPIs (the group's merged), drawn as sparklines.
func TestHistoryTrend(t *testing.T) {
	e := newEnv(t, 1)
	e.tables(t, testaws.ManagementAccount, "us-east-1", testaws.TableSpec{Name: "a", PITR: true})
	e.tables(t, e.members[0], "us-east-1", testaws.TableSpec{Name: "b", Tags: map[string]string{"env": "prod"}})
	t0 := fixedNow.Add(-72 * time.Hour)
	audit := func(at time.Time, extra ...string) policy.Summary {
		t.Helper()
		r := e.runAt(t, at, append([]string{"audit", "--org", "--regions", "us-east-1", "--format", "json", "--allow-partial"}, extra...)...)
		if r.code != ExitOK {
			t.Fatalf("audit %v: exit %d %s", extra, r.code, r.errOut)
		}
		return r.audit(t).Summary
	}
	s1 := audit(t0)
	if r := e.runAt(t, t0.Add(time.Hour), "enable", "--org", "--regions", "us-east-1", "--apply", "--yes", "--format", "json"); r.code != ExitOK {
		t.Fatalf("enable: exit %d %s", r.code, r.errOut)
	}
	s2 := audit(t0.Add(24 * time.Hour))
	e.tables(t, testaws.ManagementAccount, "us-east-1", testaws.TableSpec{Name: "c"})
	audit(t0.Add(48*time.Hour), "--shard", "1/2", "--run-group", "g")
	audit(t0.Add(48*time.Hour+time.Minute), "--shard", "2/2", "--run-group", "g")

	r := e.run(t, "history", "--trend", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("history --trend: exit %d %s", r.code, r.errOut)
	}
	var doc struct {
		Points []struct {
			At                string             `json:"at"`
			RunIDs            []int64            `json:"run_ids"`
			RunGroup          string             `json:"run_group"`
			Tables            int                `json:"tables"`
			ComplianceRate    float64            `json:"compliance_rate"`
			SnapshotGapTables int                `json:"snapshot_gap_tables"`
			ByTier            map[string]float64 `json:"by_tier"`
		} `json:"points"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Points) != 3 {
		t.Fatalf("%d points, want 3 (two audits and one run group):\n%s", len(doc.Points), r.out)
	}
	p1, p2, p3 := doc.Points[0], doc.Points[1], doc.Points[2]
	if p1.ComplianceRate != s1.ComplianceRate || p1.SnapshotGapTables != s1.SnapshotGapTables || p1.Tables != s1.Tables ||
		p2.ComplianceRate != s2.ComplianceRate || p2.SnapshotGapTables != s2.SnapshotGapTables {
		t.Errorf("points %+v %+v differ from the audits %+v %+v", p1, p2, s1, s2)
	}
	if s1.ComplianceRate != 0.5 || s1.SnapshotGapTables != 1 || s2.ComplianceRate != 1 || s2.SnapshotGapTables != 0 {
		t.Fatalf("the setup did not give the audits it should: %+v %+v", s1, s2)
	}
	if p3.RunGroup != "g" || len(p3.RunIDs) != 2 || p3.Tables != 3 || p3.ComplianceRate != 2.0/3 || p3.SnapshotGapTables != 0 {
		t.Errorf("run group point: %+v; want both shards merged (3 tables, 2/3 compliant)", p3)
	}
	if p1.ByTier["critical"] != 0 || p2.ByTier["critical"] != 1 {
		t.Errorf("per-tier rates: %v %v", p1.ByTier, p2.ByTier)
	}

	tr := e.run(t, "history", "--trend")
	if tr.code != ExitOK || !strings.Contains(tr.out, "3 audit(s)") ||
		!strings.Contains(tr.out, "compliance rate   ▅█▆   50.0% →  66.7%") || !strings.Contains(tr.out, "snapshot gaps     █▁▁  1 → 0") {
		t.Errorf("history --trend: exit %d\n%s%s", tr.code, tr.out, tr.errOut)
	}
	if r := e.run(t, "history", "--trend", "--kind", "drill"); r.code != ExitUsage {
		t.Errorf("--trend --kind drill: exit %d, want 2", r.code)
	}
}

func TestHistoryTrendEmpty(t *testing.T) {
	dir := t.TempDir()
	ios, _, out, errOut := iostreams.Test()
	code := Run(context.Background(), []string{"history", "--trend", "--format", "json", "--db", dir + "/none.db"}, &Factory{IO: ios})
	if code != ExitNoMatch || !strings.Contains(out.String(), `"points": []`) || !strings.Contains(errOut.String(), "no audits recorded") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}
