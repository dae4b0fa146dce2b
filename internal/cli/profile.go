package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/pitrguard/pitrguard/internal/audit"
)

var cpuProfile *os.File

// startProfiles starts the hidden --cpuprofile (for performance work).
func (g *GlobalOptions) startProfiles() error {
	if g.CPUProfile == "" {
		return nil
	}
	f, err := os.Create(g.CPUProfile)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	cpuProfile = f
	return pprof.StartCPUProfile(f)
}

// stopProfiles ends the CPU profile and writes --memprofile.
func (g *GlobalOptions) stopProfiles() error {
	if cpuProfile != nil {
		pprof.StopCPUProfile()
		cpuProfile.Close()
		cpuProfile = nil
	}
	if g.MemProfile == "" {
		return nil
	}
	f, err := os.Create(g.MemProfile)
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	defer f.Close()
	runtime.GC()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}

// writeMemStats writes the process's peak resident set size (VmHWM) to path,
// for the benchmark, with what the streamed audit's spill did (its peak disk
// use in $TMPDIR). ru_maxrss cannot be used there: after a vfork+exec,
// Linux folds the parent's high-water mark into the child's.
func writeMemStats(path string, spill audit.SpillStats) {
	if path == "" {
		return
	}
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	var hwm int64
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Sscanf(strings.TrimSpace(v), "%d kB", &hwm)
		}
	}
	_ = os.WriteFile(path, fmt.Appendf(nil, "{\"vm_hwm_kb\": %d, \"spill_rows\": %d, \"spill_runs\": %d, \"spill_levels\": %d, \"spill_peak_bytes\": %d}\n",
		hwm, spill.Rows, spill.Runs, spill.Levels, spill.PeakBytes), 0o644)
}
