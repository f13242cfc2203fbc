package main

import (
	"os"
	"runtime/pprof"
)

// startSyncProfile writes a CPU profile of the sync to the file named by
// the hidden environment variable BYOB_CPUPROFILE, when it is set (for
// `go tool pprof`); the returned function stops it. A profile that cannot
// start is reported and the sync runs anyway.
func (a *app) startSyncProfile() func() {
	path := os.Getenv("BYOB_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		a.log.Warn("BYOB_CPUPROFILE: cannot create the profile", "error", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		a.log.Warn("BYOB_CPUPROFILE: cannot start the profile", "error", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
