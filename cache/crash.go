package cache

// Crash points of the block store (transfer.CrashPoint), for crash tests
// (see the package doc):
//
//	cache-after-block-data    a block's data file is in place under its final
//	                          name, its index record not yet committed
//	cache-after-index-commit  the block's record is committed, before the
//	                          replaced file (if any) is removed
const (
	CrashAfterBlockData   = "cache-after-block-data"
	CrashAfterIndexCommit = "cache-after-index-commit"
)
