package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/pitrguard/pitrguard/internal/testaws"
)

// TestQuickBench runs the whole harness on a tiny estate: it must measure
// every run, compute floors and call counts, and find no wrong verdict under
// faults. (A smoke test of the harness; the numbers come from `make bench`.)
func TestQuickBench(t *testing.T) {
	testaws.MotoT(t).Stop() // skip (or fail under .ci/run) without moto_server
	t.Chdir("../..")        // the harness builds ./cmd/pitrguard
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	res, err := run(context.Background(), options{quick: true, skipCLI: true, seqAccts: 1, latency: 5e6,
		runs: "default,concurrency-1,default-org,faults"}, devnull)
	if err != nil {
		t.Fatal(err)
	}
	e := estateFor(true)
	base, all, faults := res.run("default"), res.run("default-org"), res.run("faults")
	if base == nil || all == nil || faults == nil || res.run("concurrency-1") == nil {
		t.Fatalf("runs missing: %+v", res.Runs)
	}
	if base.Tables != e.Tables() || all.Tables != e.AllTables() {
		t.Errorf("tables: %d and %d, want %d and %d", base.Tables, all.Tables, e.Tables(), e.AllTables())
	}
	if base.FloorSeconds < float64(e.Hot)/10 || base.CallsPerTableByOp["DescribeContinuousBackups"] != 1 || base.PeakRSSMB == 0 {
		t.Errorf("default run: %+v", base)
	}
	if f := faults.Fault; f == nil || f.Wrong != 0 || f.Missing != 0 || !f.DeniedAccountInError || f.DeniedAccountTables != 0 {
		t.Errorf("faults: %+v", faults.Fault)
	}
	md := res.Markdown()
	for _, want := range []string{"| default |", "## Targets", "wall time ≤ 1.2 × floor"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

// TestQuickEvents runs the events part on a few tables: every event is
// applied, every table is enabled with its tier's window in moto, the call
// count per event is the steady case's 4, and latency and RSS are measured.
func TestQuickEvents(t *testing.T) {
	testaws.MotoT(t).Stop() // skip (or fail under .ci/run) without moto_server
	t.Chdir("../..")
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	res, err := runEventsOnly(context.Background(), options{quick: true, latency: 2e6, events: 12}, devnull)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Events
	if r.Results["applied"] != 12 || r.Verified != 12 || len(r.VerifyErrors) != 0 || r.ExitCode != 0 {
		t.Fatalf("events run: %+v", r)
	}
	if r.DynamoPerEvent != 4 || r.PerEventByOp["UpdateContinuousBackups"] != 1 || r.PerEventByOp["DescribeContinuousBackups"] != 1 {
		t.Errorf("calls per event %v (by op %v), want 4: one each of DescribeTable, DescribeContinuousBackups, ListTagsOfResource, UpdateContinuousBackups", r.DynamoPerEvent, r.PerEventByOp)
	}
	if r.P50MS <= 0 || r.P99MS < r.P50MS || r.PeakRSSMB <= 0 {
		t.Errorf("p50 %v p99 %v peak RSS %v", r.P50MS, r.P99MS, r.PeakRSSMB)
	}
	if md := r.Markdown(2); !strings.Contains(md, "Target ≤ 4 AWS calls per event in the steady case: 4.000 DynamoDB calls per event — met") {
		t.Errorf("markdown:\n%s", md)
	}
}
