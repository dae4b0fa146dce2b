package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/pitrguard/pitrguard/internal/report"
)

// ShardCheck compares a sharded audit (N processes at once, --shard k/N)
// with one process on the same estate.
type ShardCheck struct {
	Shards      int       `json:"shards"`
	ShardArgs   []string  `json:"shard_args"`
	ShardTables []int     `json:"shard_tables"`
	ShardWalls  []float64 `json:"shard_wall_seconds"`
	ShardRSSMB  []float64 `json:"shard_peak_rss_mb"`
	// Single is the one-process run compared with, and its wall ÷ floor.
	Single              string  `json:"single"`
	SingleWallOverFloor float64 `json:"single_wall_over_floor"`
	AccountsInTwoShards int     `json:"accounts_in_two_shards"`
	TablesCompared      int     `json:"tables_compared"`
	VerdictsDiffer      int     `json:"verdicts_differ"`
	MissingFromShards   int     `json:"missing_from_shards"`
	ExtraInShards       int     `json:"extra_in_shards"`
	// MergedSummaryEqual: `pitrguard merge` of the shards' JSON gives the
	// single run's KPIs (counts by verdict and tier).
	MergedSummaryEqual bool     `json:"merged_summary_equal"`
	Examples           []string `json:"examples"`
}

// sharded runs n pitrguard processes at once, --shard k/n of one run group,
// each with args plus extra (per-shard flags), and measures them as one run:
// wall from the first start to the last exit, calls summed by the proxy.
func (h *harness) sharded(ctx context.Context, name string, n int, extra []string, args ...string) (*Run, error) {
	h.proxy.Counts(true)
	cpu0 := cpuSeconds(h.emuPid)
	t0 := time.Now()
	procs := make([]*proc, n)
	for k := range n {
		shardArgs := append(append(append([]string{}, args...), extra...), "--shard", fmt.Sprintf("%d/%d", k+1, n), "--run-group", name)
		p, err := h.start(ctx, fmt.Sprintf("%s-%d", name, k+1), shardArgs...)
		if err != nil {
			return nil, err
		}
		procs[k] = p
	}
	for _, p := range procs {
		p.wait()
	}
	wall := time.Since(t0)
	agg := &Run{Name: name, Emulator: h.emulator, Args: append(append(append([]string{}, args...), extra...), "--shard", fmt.Sprintf("k/%d", n)),
		WallSeconds: round(wall.Seconds(), 2), UnknownByReason: map[string]int{}, CoverageComplete: true,
		verdicts: map[string]string{}, reasons: map[string][]string{}, accounts: map[string]bool{}}
	sc := &ShardCheck{Shards: n, ShardArgs: extra, Examples: []string{}}
	agg.Shard = sc
	seen := map[string]int{} // account → shard
	for k, p := range procs {
		r, err := h.result(p, nil)
		if err != nil {
			return nil, err
		}
		sc.ShardTables = append(sc.ShardTables, r.Tables)
		sc.ShardWalls = append(sc.ShardWalls, r.WallSeconds)
		sc.ShardRSSMB = append(sc.ShardRSSMB, r.PeakRSSMB)
		agg.Tables += r.Tables
		agg.ScanErrors += r.ScanErrors
		agg.Unknown += r.Unknown
		agg.CPUSeconds = round(agg.CPUSeconds+r.CPUSeconds, 2)
		agg.PeakRSSMB = max(agg.PeakRSSMB, r.PeakRSSMB)
		agg.ExitCode = max(agg.ExitCode, r.ExitCode)
		agg.CoverageComplete = agg.CoverageComplete && r.CoverageComplete
		for reason, c := range r.UnknownByReason {
			agg.UnknownByReason[reason] += c
		}
		for key, v := range r.verdicts {
			agg.verdicts[key], agg.reasons[key] = v, r.reasons[key]
		}
		for a := range r.accounts {
			if prev, dup := seen[a]; dup && prev != k {
				sc.AccountsInTwoShards++
			}
			seen[a] = k
			agg.accounts[a] = true
		}
	}
	h.measure(agg, wall, cpu0)
	files := make([]string, n)
	for k, p := range procs {
		files[k] = p.out
	}
	agg.report = h.merge(ctx, files)
	return agg, nil
}

// merge runs `pitrguard merge` on the shards' reports (nil if it fails).
func (h *harness) merge(ctx context.Context, files []string) *report.Audit {
	cmd := exec.CommandContext(ctx, h.bin, append(append([]string{"merge"}, files...), "--format", "json")...)
	cmd.Env = h.env()
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	var a report.Audit
	if json.Unmarshal(out, &a) != nil {
		return nil
	}
	return &a
}

// compareShards checks the sharded run against the single process: the
// same tables and verdicts, no account in two shards, the same KPIs merged.
func compareShards(single, sharded *Run) {
	sc := sharded.Shard
	sc.Single, sc.SingleWallOverFloor = single.Name, single.WallOverFloor
	for key, v := range single.verdicts {
		got, ok := sharded.verdicts[key]
		switch {
		case !ok:
			sc.MissingFromShards++
		case got != v:
			sc.VerdictsDiffer++
		default:
			sc.TablesCompared++
			continue
		}
		if len(sc.Examples) < 5 {
			sc.Examples = append(sc.Examples, fmt.Sprintf("%s: %q in shards, %s alone", key, got, v))
		}
	}
	for key := range sharded.verdicts {
		if _, ok := single.verdicts[key]; !ok {
			sc.ExtraInShards++
		}
	}
	if m, s := sharded.report, single.report; m != nil && s != nil {
		ms, ss := m.Summary, s.Summary
		sc.MergedSummaryEqual = ms.Tables == ss.Tables && ms.Compliant == ss.Compliant && ms.NonCompliant == ss.NonCompliant &&
			ms.Exempt == ss.Exempt && ms.Unknown == ss.Unknown && ms.Skipped == ss.Skipped && len(ms.ByTier) == len(ss.ByTier)
		for tier, ts := range ss.ByTier {
			mt := ms.ByTier[tier]
			sc.MergedSummaryEqual = sc.MergedSummaryEqual && mt != nil && *mt == *ts
		}
	}
	sharded.report = nil // the merged report is no longer needed
}

// shardRuns compares one process with 4 shards at once on the main estate:
// with each shard at pitrguard's defaults, and with each shard given a
// quarter of the default --concurrency (so the four together keep as many
// requests in flight as the one process).
func (h *harness) shardRuns(ctx context.Context, prefix string, accounts []string, logf func(string, ...any)) ([]*Run, error) {
	args := []string{"--accounts", strings.Join(accounts, ","), "--regions", strings.Join(h.estate.Regions, ",")}
	logf("Run: %ssingle — one process on the %d-table estate (%s) ...", prefix, h.estate.Tables(), h.emulator)
	single, err := h.audit(ctx, prefix+"single", args...)
	if err != nil {
		return nil, err
	}
	runs := []*Run{single}
	for _, v := range []struct {
		name  string
		extra []string
	}{{"sharded-4", nil}, {"sharded-4-c4", []string{"--concurrency", "4"}}} {
		logf("Run: %s%s — 4 × pitrguard audit --shard k/4 %s at once (%s) ...", prefix, v.name, strings.Join(v.extra, " "), h.emulator)
		r, err := h.sharded(ctx, prefix+v.name, 4, v.extra, args...)
		if err != nil {
			return nil, err
		}
		compareShards(single, r)
		runs = append(runs, r)
	}
	single.report = nil
	return runs, nil
}

// shardsOK reports whether a sharded run audited exactly the single run's
// tables with its verdicts, each account in one shard.
func shardsOK(sc *ShardCheck) bool {
	return sc != nil && sc.AccountsInTwoShards == 0 && sc.VerdictsDiffer == 0 && sc.MissingFromShards == 0 && sc.ExtraInShards == 0 &&
		sc.MergedSummaryEqual
}
