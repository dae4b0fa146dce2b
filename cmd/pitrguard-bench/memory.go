package main

import (
	"context"
	"fmt"
	"strings"
)

// memoryEstates are the generated estates of the memory runs: the moto
// organization's shape (9,880 tables), and the same with more member
// accounts (~50,000 tables).
func memoryEstates(quick bool) []Estate {
	base := estateFor(quick)
	big := base
	if quick {
		big.ExtraMembers *= 4
	} else {
		big.ExtraMembers = 520
		big.ExtraPerRegion = 30
	}
	return []Estate{base, big}
}

// memoryConcurrency is the --concurrency of the memory runs: 4 × the default
// 16, so the 50,000 tables are read in about 1½ minutes instead of 5 (each
// account-region is paced at 10 tables/s). RSS follows the requests in
// flight, so this is the harder case for memory, not the easier one.
const memoryConcurrency = 64

// withGenerated runs fn with a harness whose proxy (same latency and limits
// as the moto runs) fronts a generated-facts fake of estate e.
func (h *harness) withGenerated(e Estate, fn func(gh *harness, g *genFake) error) error {
	g := newGenFake(e)
	defer g.Close()
	proxy, err := newBenchProxy(g.srv.URL, h.latency)
	if err != nil {
		return err
	}
	defer proxy.Close()
	gh := *h
	gh.proxy, gh.estate, gh.emulator, gh.emuPid = proxy, e, "generated facts", 0
	return fn(&gh, g)
}

// memory audits each memory estate with --org in the generated-facts mode
// and reports pitrguard's peak RSS (VmHWM) and its spill's disk use.
func (h *harness) memory(ctx context.Context, quick bool, logf func(string, ...any)) ([]*Run, error) {
	var runs []*Run
	for _, e := range memoryEstates(quick) {
		err := h.withGenerated(e, func(gh *harness, g *genFake) error {
			name := fmt.Sprintf("memory-%d", e.AllTables())
			logf("Run: %s — pitrguard audit --org --concurrency %d on %d generated tables in %d accounts ...", name, memoryConcurrency, e.AllTables(), 1+len(g.members))
			r, err := gh.audit(ctx, name, "--org", "--regions", strings.Join(e.Regions, ","), "--concurrency", fmt.Sprint(memoryConcurrency))
			if err != nil {
				return err
			}
			if r.Tables != e.AllTables() || !r.CoverageComplete {
				return fmt.Errorf("%s: %d tables (want %d), coverage complete %v, exit %d", name, r.Tables, e.AllTables(), r.CoverageComplete, r.ExitCode)
			}
			r.Note = fmt.Sprintf("generated facts (no moto): %d accounts × %d regions, --concurrency %d; peak RSS %.1f MB = %.1f KB per table; the spill used at most %.1f MB of $TMPDIR (%.1f KB per table)",
				1+len(g.members), len(e.Regions), memoryConcurrency, r.PeakRSSMB, r.PeakRSSMB*1024/float64(r.Tables), r.SpillPeakMB, r.SpillPeakMB*1024/float64(r.Tables))
			r.report, r.verdicts, r.reasons = nil, nil, nil
			runs = append(runs, r)
			return nil
		})
		if err != nil {
			return runs, err
		}
	}
	return runs, nil
}
