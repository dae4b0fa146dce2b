package audit

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pitrguard/pitrguard/internal/config"
	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/policy"
	"github.com/pitrguard/pitrguard/internal/report"
)

// fullRow is a row with every kind of field set, so a round trip through the
// spill that lost or changed one would show.
func fullRow(account, region, name string) Row {
	t0 := time.Date(2026, 11, 10, 12, 0, 0, 123456789, time.UTC)
	t1 := t0.Add(14 * 24 * time.Hour)
	tbl := &model.Table{Account: account, Region: region, Name: name, ARN: "arn:aws:dynamodb:" + region + ":" + account + ":table/" + name,
		Status: "ACTIVE", SizeBytes: 1 << 30, LSISizeBytes: 3, GSISizeBytes: 7, ItemCount: 10, BillingMode: "PROVISIONED", TableClass: "STANDARD",
		DeletionProtection: true, Tags: map[string]string{"env": "prod", "owner": "payments", "<html>": "&"},
		Replicas: []model.Replica{{Region: "eu-west-1", Status: "ACTIVE"}}, Stream: &model.Stream{Enabled: true, ViewType: "NEW_IMAGE"},
		CreatedAt: &t0, TagsKnown: true, DescribeKnown: true, Source: model.SourceLive, SourceReason: "config_stale",
		PITR:       model.PITR{Known: true, Enabled: true, RecoveryPeriodDays: 14, EarliestRestorable: &t0, LatestRestorable: &t1},
		ReadErrors: []model.ReadError{{Op: "ListTagsOfResource", Code: "ThrottlingException", Reason: model.ReasonThrottled, Message: "slow down"}}}
	ev := policy.Result{Verdict: model.NonCompliant, Reasons: []model.Reason{model.ReasonPeriodBelowMinimum}, Notes: []string{"n"},
		Tier: config.Tier{Name: "critical", MinRecoveryDays: 35}, Owner: "payments",
		Exemption: &policy.AppliedExemption{Pattern: "x*", Reason: "r", Owner: "o", Expires: "2026-01-01", Expired: true}}
	return RowOf(Entry{Table: tbl, Eval: ev, Result: report.NewTableResult(tbl, ev, 1.0/3, false)})
}

// bareRow has only a key (empty slices and maps, as NewTableResult makes them).
func bareRow(account, region, name string) Row {
	tbl := &model.Table{Account: account, Region: region, Name: name}
	return RowOf(Entry{Table: tbl, Result: report.NewTableResult(tbl, policy.Result{Verdict: model.Unknown}, 0, true)})
}

func keys(t *testing.T, s *Spill) []string {
	t.Helper()
	var out []string
	if err := s.Each(func(r *Row) error {
		out = append(out, r.Result.Account+"/"+r.Result.Region+"/"+r.Result.Name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestSpillSortsAcrossRuns adds rows in random order from several goroutines,
// in runs of 3 merged 2 at a time (several merge levels), and reads them back
// sorted by (account, region, name) exactly as model.Compare orders them —
// names that are prefixes of others and regions that sort differently from
// their concatenation with the name included — twice, each row intact.
func TestSpillSortsAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	var want []Row
	for _, a := range []string{"111111111111", "222222222222", "022222222222"} {
		for _, r := range []string{"us-east-1", "us-east-1a", "eu-west-1"} {
			for _, n := range []string{"t", "t-1", "t.1", "T", "a", "tt", "t_"} {
				want = append(want, fullRow(a, r, n))
			}
		}
	}
	want = append(want, bareRow("111111111111", "us-east-1", "a0"))
	shuffled := slices.Clone(want)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	slices.SortFunc(want, func(a, b Row) int {
		return model.Compare(a.Result.Account, a.Result.Region, a.Result.Name, b.Result.Account, b.Result.Region, b.Result.Name)
	})

	s := NewSpill(SpillOptions{Dir: dir, RunSize: 3, FanIn: 2})
	defer s.Close()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(shuffled); i += 4 {
				if err := s.Add(&shuffled[i]); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := s.Finish(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	wantRuns := (len(want) + 2) / 3
	if st.Rows != len(want) || st.Runs != wantRuns || st.Levels < 3 || st.PeakBytes <= 0 {
		t.Errorf("stats %+v: want %d rows in %d runs merged over ≥ 3 levels", st, len(want), wantRuns)
	}
	for pass := range 2 { // the aligned table reads twice
		var got []Row
		if err := s.Each(func(r *Row) error { got = append(got, *r); return nil }); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("pass %d (-want +got):\n%s", pass, diff)
		}
	}
	// Files are unlinked as soon as they are made: none is ever visible.
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("spill files left in the directory while open: %v", names)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Each(func(*Row) error { return nil }); err == nil || !strings.Contains(err.Error(), "after Close") {
		t.Errorf("Each after Close: %v", err)
	}
}

// TestSpillEmpty: no row, no file; reading yields nothing, twice.
func TestSpillEmpty(t *testing.T) {
	dir := t.TempDir()
	s := NewSpill(SpillOptions{Dir: dir})
	defer s.Close()
	if err := s.Each(func(*Row) error { return nil }); err == nil || !strings.Contains(err.Error(), "before Finish") {
		t.Errorf("Each before Finish: %v", err)
	}
	if err := s.Finish(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got := keys(t, s); len(got) != 0 {
			t.Errorf("rows %v", got)
		}
	}
	if st := s.Stats(); st != (SpillStats{}) {
		t.Errorf("stats %+v", st)
	}
	if err := s.Add(new(bareRow("1", "r", "n"))); err == nil {
		t.Error("Add after Finish accepted")
	}
}

// TestSpillOneRunAndStops: a single run needs no merge; Each stops at fn's
// first error and returns it.
func TestSpillOneRunAndStops(t *testing.T) {
	s := NewSpill(SpillOptions{Dir: t.TempDir(), RunSize: 10})
	defer s.Close()
	for _, n := range []string{"c", "a", "b"} {
		if err := s.Add(new(bareRow("1", "r", n))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Finish(); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, s); !slices.Equal(got, []string{"1/r/a", "1/r/b", "1/r/c"}) {
		t.Errorf("rows %v", got)
	}
	if st := s.Stats(); st.Runs != 1 || st.Levels != 0 {
		t.Errorf("stats %+v", st)
	}
	stop := fmt.Errorf("stop")
	n := 0
	if err := s.Each(func(*Row) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Each = %v after %d rows, want the callback's error after 1", err, n)
	}
}

// TestSpillTempFilesRemoved: where a file cannot be unlinked while open, or
// when the spill fails half way, Close still leaves the directory as it was;
// a directory that cannot be written is a clear error naming it and $TMPDIR.
func TestSpillTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	s := NewSpill(SpillOptions{Dir: dir, RunSize: 2, FanIn: 2})
	for i := range 9 {
		if err := s.Add(new(bareRow("1", "r", fmt.Sprint(9-i)))); err != nil {
			t.Fatal(err)
		}
	}
	// Simulate an OS that keeps open files visible: re-create a path for
	// each run and tell the spill it must remove it.
	s.mu.Lock()
	for i, f := range s.runs {
		f.path = filepath.Join(dir, fmt.Sprintf("pitrguard-spill-visible-%d", i))
		if err := os.WriteFile(f.path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Unlock()
	if len(dirEntries(t, dir)) == 0 {
		t.Fatal("test set-up: no visible file")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("left after Close: %v", names)
	}

	missing := filepath.Join(dir, "no-such-dir")
	s = NewSpill(SpillOptions{Dir: missing, RunSize: 1})
	err := s.Add(new(bareRow("1", "r", "a")))
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "TMPDIR") {
		t.Errorf("Add into a missing directory: %v", err)
	}
	if err2 := s.Finish(); err2 == nil {
		t.Error("Finish after a failed Add succeeded")
	}
	s.Close()
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the spill created %s", missing)
	}
}
