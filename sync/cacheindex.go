package sync

import (
	"context"
	gosync "sync"
	"time"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

// CacheIndex is the Index the CLI uses: the bbolt cache index, so a no-op
// re-sync on the same node costs one listing per side. Failures are
// forgotten, as the Index contract allows: the sync then asks the store.
//
// Writes are behind: Remember* records in memory and returns, and a
// background flusher commits what accumulated in one transaction (every
// indexFlushEvery, or as soon as indexFlushAt records wait), so a transfer
// never waits for a bbolt commit and its fdatasync. Close commits the rest.
// A process killed before a flush forgets those records; the next run then
// makes one HEAD per forgotten object, as on a new node. Lookups see
// records not yet committed.
type CacheIndex struct {
	c    *cache.Cache
	kick chan struct{} // a flush is wanted now
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the flusher has returned

	// flushMu serialises flushes (the flusher's and a producer's under
	// back-pressure). Lock order: flushMu -> mu.
	flushMu gosync.Mutex

	mu gosync.Mutex
	// pending: records not yet handed to a flush; inflight: records of the
	// flush in progress (nil when none). Both GUARDED_BY(mu). A record is
	// in at most one of them: a newer one replaces an older in pending.
	pending, inflight *indexBatch
}

// indexBatch is a set of records to commit: remote attributes by (store,
// key) (the newest Version of a key wins, as PutRemoteMeta forgets the
// others) and fingerprints by path.
type indexBatch struct {
	remote map[remoteRef]cache.RemoteMetaRecord
	hashes map[string]cache.Fingerprint
}

type remoteRef struct{ store, key string }

func newIndexBatch() *indexBatch {
	return &indexBatch{remote: map[remoteRef]cache.RemoteMetaRecord{}, hashes: map[string]cache.Fingerprint{}}
}

func (b *indexBatch) len() int { return len(b.remote) + len(b.hashes) }

const (
	indexFlushEvery = 500 * time.Millisecond
	indexFlushAt    = 2048     // records that start a flush at once
	indexMaxPending = 8 * 2048 // records that make Remember* flush itself
)

var _ Index = (*CacheIndex)(nil)

// NewCacheIndex starts the flusher of an index over c; Close stops it.
func NewCacheIndex(c *cache.Cache) *CacheIndex {
	x := &CacheIndex{c: c, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		pending: newIndexBatch()}
	go x.flusher()
	return x
}

func (x *CacheIndex) flusher() {
	defer close(x.done)
	t := time.NewTicker(indexFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-x.stop:
			return
		case <-x.kick:
		case <-t.C:
		}
		x.flush()
	}
}

// flush commits the pending records. Errors are dropped: the index forgets.
func (x *CacheIndex) flush() {
	x.flushMu.Lock()
	defer x.flushMu.Unlock()
	x.mu.Lock()
	b := x.pending
	if b.len() == 0 {
		x.mu.Unlock()
		return
	}
	x.pending, x.inflight = newIndexBatch(), b
	x.mu.Unlock()

	ctx := context.Background()
	recs := make([]cache.RemoteMetaRecord, 0, len(b.remote))
	for _, r := range b.remote {
		recs = append(recs, r)
	}
	_ = x.c.PutRemoteMetas(ctx, recs)
	fps := make([]cache.Fingerprint, 0, len(b.hashes))
	for _, f := range b.hashes {
		fps = append(fps, f)
	}
	_ = x.c.PutFingerprints(ctx, fps)

	x.mu.Lock()
	x.inflight = nil
	x.mu.Unlock()
}

// Close stops the flusher and commits what is pending. The index must not
// be used after.
func (x *CacheIndex) Close() {
	close(x.stop)
	<-x.done
	x.flush()
}

// added is called after a record went into pending, with its size then.
func (x *CacheIndex) added(n int) {
	switch {
	case n >= indexMaxPending:
		x.flush() // the flusher is behind: wait for a commit rather than grow
	case n >= indexFlushAt:
		select {
		case x.kick <- struct{}{}:
		default:
		}
	}
}

func (x *CacheIndex) LookupRemote(store, key, version string) (RemoteAttrs, bool) {
	ref := remoteRef{store, key}
	x.mu.Lock()
	for _, b := range []*indexBatch{x.pending, x.inflight} {
		if b == nil {
			continue
		}
		if r, ok := b.remote[ref]; ok && r.Version == version {
			x.mu.Unlock()
			return remoteAttrs(r.Meta), true
		}
	}
	x.mu.Unlock()
	m, ok, err := x.c.GetRemoteMeta(context.Background(), store, key, version)
	if err != nil || !ok {
		return RemoteAttrs{}, false
	}
	return remoteAttrs(m), true
}

func remoteAttrs(m cache.RemoteMeta) RemoteAttrs {
	a := RemoteAttrs{Mtime: m.Mtime}
	if len(m.MD5) == 16 {
		a.Checksums = append(a.Checksums, providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: m.MD5})
	}
	if m.HasCRC32C {
		a.Checksums = append(a.Checksums, providers.CRC32C(m.CRC32C))
	}
	return a
}

func (x *CacheIndex) RememberRemote(store, key, version string, a RemoteAttrs) {
	m := cache.RemoteMeta{Mtime: a.Mtime, Updated: time.Now()}
	for _, c := range a.Checksums {
		switch c.Algorithm {
		case providers.ChecksumMD5:
			m.MD5 = c.Sum
		case providers.ChecksumCRC32C:
			m.CRC32C, m.HasCRC32C = c.CRC32CValue()
		}
	}
	x.mu.Lock()
	x.pending.remote[remoteRef{store, key}] = cache.RemoteMetaRecord{Store: store, Key: key, Version: version, Meta: m}
	n := x.pending.len()
	x.mu.Unlock()
	x.added(n)
}

// fingerprint returns the record of fp's path, pending or committed, when
// it is for the same size, mtime and inode.
func (x *CacheIndex) fingerprint(fp transfer.SourceFingerprint) (cache.Fingerprint, bool) {
	x.mu.Lock()
	for _, b := range []*indexBatch{x.pending, x.inflight} {
		if b == nil {
			continue
		}
		if f, ok := b.hashes[fp.Path]; ok {
			x.mu.Unlock()
			return f, f.Size == fp.Size && f.ModTime.Equal(fp.ModTime) && f.Inode == fp.Inode
		}
	}
	x.mu.Unlock()
	f, ok, err := x.c.GetFingerprint(context.Background(), fp.Path, fp.Size, fp.ModTime, fp.Inode)
	return f, err == nil && ok
}

func (x *CacheIndex) LookupHash(fp transfer.SourceFingerprint, alg providers.ChecksumAlgorithm) (providers.Checksum, bool) {
	f, ok := x.fingerprint(fp)
	if !ok {
		return providers.Checksum{}, false
	}
	switch {
	case alg == providers.ChecksumMD5 && len(f.MD5) == 16:
		return providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: f.MD5}, true
	case alg == providers.ChecksumCRC32C && f.HasCRC32C:
		return providers.CRC32C(f.CRC32C), true
	}
	return providers.Checksum{}, false
}

// RememberHash adds sum to what is known of the file fp (a file hashed
// with both algorithms keeps both).
func (x *CacheIndex) RememberHash(fp transfer.SourceFingerprint, sum providers.Checksum) {
	f, ok := x.fingerprint(fp)
	if !ok {
		f = cache.Fingerprint{Path: fp.Path, Size: fp.Size, ModTime: fp.ModTime, Inode: fp.Inode}
	}
	switch sum.Algorithm {
	case providers.ChecksumMD5:
		f.MD5 = sum.Sum
	case providers.ChecksumCRC32C:
		f.CRC32C, f.HasCRC32C = sum.CRC32CValue()
	}
	f.Hashed = time.Now()
	x.mu.Lock()
	x.pending.hashes[fp.Path] = f
	n := x.pending.len()
	x.mu.Unlock()
	x.added(n)
}
