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
