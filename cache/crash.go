package cache

import (
	"fmt"
	"os"
)

// crashEnv is the environment variable crash points read: the same one as
// transfer.CrashEnv (cache may not import transfer), so one variable names
// every crash point of the binary.
const crashEnv = "BYOB_CRASH_AT"

// Crash points of the block store, for crash tests (see the package doc):
//
//	cache-after-block-data    a block's data file is in place under its final
//	                          name, its index record not yet committed
//	cache-after-index-commit  the block's record is committed, before the
//	                          replaced file (if any) is removed
const (
	CrashAfterBlockData   = "cache-after-block-data"
	CrashAfterIndexCommit = "cache-after-index-commit"
)

// crashPoint kills the process with SIGKILL, after printing
// "byob: crash point NAME" to stderr, when BYOB_CRASH_AT equals name; it
// does nothing otherwise. It behaves as transfer.CrashPoint.
func crashPoint(name string) {
	if v, ok := os.LookupEnv(crashEnv); !ok || v != name {
		return
	}
	fmt.Fprintf(os.Stderr, "byob: crash point %s\n", name)
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Kill() // SIGKILL: no deferred function, no Close runs
	}
	select {} // the signal is on its way
}
