package fusefs

import (
	"sync"
	"sync/atomic"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// kernelDir is what this mount knows of the kernel's copy of a directory's
// entries (FUSE's readdir cache, FOPEN_CACHE_DIR): which listing filled
// it, and how many handles that may fill it are open.
//
// A handle opened with FOPEN_CACHE_DIR|FOPEN_KEEP_CACHE reads the kernel's
// copy when it is complete, else reads from us and fills it; the kernel
// drops it by itself when the directory changes through this mount (its
// change counter moves) and when its mtime changes. What it cannot see is
// a new listing from the store: so a handle may use the copy only while
// the directory reads the same listing (DirReader.Generation) that filled
// it. A new listing starts a new copy only once no handle of the old one
// is open (one could still be filling it with old names), and only after
// telling the kernel to drop the old copy (NotifyContent on the
// directory). Until then, and while the directory has entries only this
// mount knows, handles read from us as before (READDIRPLUS).
type kernelDir struct {
	mu   sync.Mutex
	gen  uint64 // listing the kernel's copy is, or is being, filled from (0: the kernel holds none; listings count from 1)
	open int    // handles open with the cache flags
}

// openFlags returns the FUSE open flags for a handle reading listing gen
// (ok as DirReader.Generation gives it). drop tells the kernel to forget
// its copy; it is called under the lock, so that no other handle is given
// the copy before the kernel has dropped it (the kernel handles the
// notification within the write that sends it).
func (k *kernelDir) openFlags(gen uint64, ok bool, drop func() bool) uint32 {
	if !ok || gen == 0 {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case k.gen == gen:
	case k.open == 0:
		if k.gen != 0 && !drop() {
			return 0
		}
		k.gen = gen
	default:
		return 0
	}
	k.open++
	return fuse.FOPEN_CACHE_DIR | fuse.FOPEN_KEEP_CACHE
}

// closed records that a handle opened with the cache flags was released.
func (k *kernelDir) closed() {
	k.mu.Lock()
	k.open--
	k.mu.Unlock()
}

// readdirEntries counts the entries this mount's directory handles
// returned (tests tell from it whether the kernel read its own copy).
var readdirEntries atomic.Int64
