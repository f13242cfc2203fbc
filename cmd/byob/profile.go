package main

import (
	"os"
	"runtime/pprof"
)

// startProfiles honours the hidden environment variables BYOB_CPUPROFILE
// and BYOB_MEMPROFILE (for benchmarks and `go tool pprof`): a CPU profile
// of the command from now on, and a heap profile written when the returned
// function runs, which also stops the CPU profile. A profile that cannot be
// written is reported and the command runs anyway.
func (a *app) startProfiles() func() {
	stop := func() {}
	if path := os.Getenv("BYOB_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		switch {
		case err != nil:
			a.log.Warn("BYOB_CPUPROFILE: cannot create the profile", "error", err)
		case pprof.StartCPUProfile(f) != nil:
			f.Close()
			a.log.Warn("BYOB_CPUPROFILE: cannot start the profile (another is running)")
		default:
			stop = func() { pprof.StopCPUProfile(); f.Close() }
		}
	}
	path := os.Getenv("BYOB_MEMPROFILE")
	if path == "" {
		return stop
	}
	return func() {
		stop()
		f, err := os.Create(path)
		if err == nil {
			err = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
		if err != nil {
			a.log.Warn("BYOB_MEMPROFILE: cannot write the profile", "error", err)
		}
	}
}
