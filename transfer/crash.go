package transfer

import (
	"fmt"
	"os"
)

// CrashEnv names the environment variable CrashPoint reads: one variable
// names every crash point of the binary (transfer, cache, fs).
const CrashEnv = "BYOB_CRASH_AT"

// CrashPoint kills the process with SIGKILL, after printing
// "byob: crash point NAME" to stderr, when the environment variable
// BYOB_CRASH_AT equals name. Crash tests use it to prove they killed the
// process inside the window they test. Otherwise it does nothing.
func CrashPoint(name string) {
	if v, ok := os.LookupEnv(CrashEnv); !ok || v != name {
		return
	}
	fmt.Fprintf(os.Stderr, "byob: crash point %s\n", name)
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Kill() // SIGKILL on Unix: no deferred function, no cleanup runs
	}
	select {} // the signal is on its way
}
