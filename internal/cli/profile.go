package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
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
