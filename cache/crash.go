package cache

import "github.com/byobfs/byob/providers"

// crashEnv is the environment variable crash points read
// (providers.CrashEnv, the same for every crash point of the binary).
const crashEnv = providers.CrashEnv

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

// crashPoint is providers.CrashPoint.
func crashPoint(name string) { providers.CrashPoint(name) }
