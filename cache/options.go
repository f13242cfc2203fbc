package cache

import (
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Default values used by DefaultOptions and for zero fields in Open.
const (
	DefaultBlockSize      = 8 << 20
	DefaultMaxSizeCap     = 10 << 30
	DefaultLockTimeout    = time.Second
	DefaultAccessInterval = time.Minute
	DefaultFetchMemory    = 128 << 20
	DefaultRecentMemory   = 64 << 20
	// ListingPageSize is the number of entries per stored listing page.
	ListingPageSize = 1000
)

// Options configure a Cache. Zero fields take the defaults of DefaultOptions.
type Options struct {
	// Dir is the cache directory (created if missing).
	Dir string
	// BlockSize is the size of a block (8 MiB). Every block but an object's
	// last has exactly this size.
	BlockSize int64
	// MaxSize caps the bytes of cached blocks, dirty ones included
	// (min(10 GiB, 25% of the free disk)).
	MaxSize int64
	// MinFree is the free disk space eviction keeps (5% of the disk).
	// Negative: no free-space rule.
	MinFree int64
	// LockTimeout bounds how long Open waits for another process's lock (1 s).
	LockTimeout time.Duration
	// NoSync skips fsync (bbolt commits and data files): tests only.
	NoSync bool
	// AccessInterval is the granularity of recorded last-access times: a
	// block's access time is written at most once per interval (1 min).
	AccessInterval time.Duration
	// FetchMemory caps the bytes of fetched block data held in memory,
	// across all concurrent fetches and the recent tier (128 MiB).
	FetchMemory int64
	// RecentMemory caps the bytes of stored blocks kept in memory for a
	// few seconds, for the reader that asked for them ahead (64 MiB, part
	// of FetchMemory); negative: none.
	RecentMemory int64
}

// DefaultOptions returns the defaults for a cache in dir, sized from the
// file system dir is on (or its nearest existing parent).
func DefaultOptions(dir string) Options {
	o := Options{
		Dir:            dir,
		BlockSize:      DefaultBlockSize,
		MaxSize:        DefaultMaxSizeCap,
		LockTimeout:    DefaultLockTimeout,
		AccessInterval: DefaultAccessInterval,
		FetchMemory:    DefaultFetchMemory,
		RecentMemory:   DefaultRecentMemory,
	}
	if total, free, err := diskSpace(existingParent(dir)); err == nil {
		o.MaxSize = min(o.MaxSize, free/4)
		o.MinFree = total / 20
	}
	return o
}

// withDefaults fills zero fields.
func (o Options) withDefaults() Options {
	d := DefaultOptions(o.Dir)
	if o.BlockSize <= 0 {
		o.BlockSize = d.BlockSize
	}
	if o.MaxSize <= 0 {
		o.MaxSize = d.MaxSize
	}
	if o.MinFree == 0 {
		o.MinFree = d.MinFree
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = d.LockTimeout
	}
	if o.AccessInterval <= 0 {
		o.AccessInterval = d.AccessInterval
	}
	if o.FetchMemory <= 0 {
		o.FetchMemory = d.FetchMemory
	}
	o.FetchMemory = max(o.FetchMemory, o.BlockSize)
	if o.RecentMemory == 0 {
		o.RecentMemory = d.RecentMemory
	}
	o.RecentMemory = max(o.RecentMemory, 0)
	return o
}

func existingParent(dir string) string {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			return d
		}
	}
}

// diskSpace reports the size of the file system holding path and the
// bytes available to unprivileged users.
func diskSpace(path string) (total, free int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize, nil
}
