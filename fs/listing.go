package fs

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/byobfs/byob/layout"
	"github.com/byobfs/byob/providers"
)

// dirListing is one directory's entries as last listed, kept in memory
// for DirTTL so that the lookups following a readdir (ls -l) cost nothing.
// It is immutable once built (a refresh builds a new one), so readers use
// it without locks. It holds each entry once, in a compact form: no map
// by name (a binary search over the sorted entries), and a map by key only
// for the few files whose name is not their key's last segment (escaped,
// shadow and shortened names).
type dirListing struct {
	seq     uint64 // unique to this listing (see DirReader.Generation)
	fetched time.Time
	started time.Time // when its List began: changes made here since are not in it
	dirKey  string
	entries []lsEntry        // sorted by name
	odd     map[string]int32 // files whose name differs from their key's segment: key -> index
}

// lsEntry is what a listing keeps of one entry: what readdir, lookup and
// stat need (listings carry no metadata, ETag or checksums worth keeping).
type lsEntry struct {
	name    string
	key     string // object key; a directory's common prefix ends in "/"
	version string
	mtime   time.Time // the server's upload time
	size    int64
	isDir   bool
}

func (e *lsEntry) info() providers.ObjectInfo {
	return providers.ObjectInfo{Key: e.key, Size: e.size, Version: e.version, ModTime: e.mtime}
}

// byName returns the entry called name.
func (l *dirListing) byName(name string) (*lsEntry, bool) {
	i, ok := sort.Find(len(l.entries), func(i int) int { return strings.Compare(name, l.entries[i].name) })
	if !ok {
		return nil, false
	}
	return &l.entries[i], true
}

// byKey returns the file whose object key is key.
func (l *dirListing) byKey(key string) (*lsEntry, bool) {
	if i, ok := l.odd[key]; ok {
		return &l.entries[i], true
	}
	seg, ok := strings.CutPrefix(key, l.dirKey)
	if !ok {
		return nil, false
	}
	if e, ok := l.byName(seg); ok && !e.isDir && e.key == key {
		return e, true
	}
	return nil, false
}

// listingSeq numbers the listings built, from 1.
var listingSeq atomic.Uint64

// newDirListing builds the listing of dirKey from one level of a store
// listing (names as layout.DirEntries gives them).
func newDirListing(dirKey string, fetched time.Time, des []layout.DirEntry) *dirListing {
	l := &dirListing{seq: listingSeq.Add(1), fetched: fetched, dirKey: dirKey, entries: make([]lsEntry, len(des))}
	for i, de := range des {
		l.entries[i] = lsEntry{name: de.Name, key: de.Key, isDir: de.IsDir}
		if !de.IsDir {
			e := &l.entries[i]
			e.version, e.mtime, e.size = de.Entry.Version, de.Entry.ModTime, de.Entry.Size
			if de.Key != dirKey+de.Name {
				if l.odd == nil {
					l.odd = map[string]int32{}
				}
				l.odd[de.Key] = int32(i)
			}
		}
	}
	return l
}

// listFlight is one List of a directory in progress, shared by every
// caller that needs the directory's listing meanwhile (readdir and the
// lookups of `ls -l` racing it).
type listFlight struct {
	done chan struct{}
	l    *dirListing
	err  error
}

// cachedListing returns the in-memory listing of dirKey when it is younger
// than DirTTL.
func (f *FS) cachedListing(dirKey string) *dirListing {
	f.mu.Lock()
	l := f.listings[dirKey]
	f.mu.Unlock()
	if l != nil && time.Since(l.fetched) <= f.opts.DirTTL {
		return l
	}
	return nil
}

// listing returns the directory's listing: from memory or the cache index
// while fresh (DirTTL), else from one List call, which is stored in the
// index page by page. Concurrent callers share one List (a single flight per
// directory). A listing's age counts from the moment its List completed.
func (n *Node) listing(ctx context.Context) (*dirListing, error) {
	f := n.fs
	for {
		dirKey := n.Key()
		if l := f.cachedListing(dirKey); l != nil {
			return l, nil
		}
		f.mu.Lock()
		fl, joined := f.lflights[dirKey]
		if !joined {
			fl = &listFlight{done: make(chan struct{})}
			f.lflights[dirKey] = fl
		}
		f.mu.Unlock()
		if !joined {
			fl.l, fl.err = n.fetchListing(ctx, dirKey)
			f.mu.Lock()
			// A change in the directory meanwhile (invalidate) removed the
			// flight: its result is still returned to its callers but not
			// kept.
			if f.lflights[dirKey] == fl {
				delete(f.lflights, dirKey)
				if fl.err == nil {
					f.listings[dirKey] = fl.l
				}
			}
			f.mu.Unlock()
			close(fl.done)
			return fl.l, fl.err
		}
		select {
		case <-fl.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if fl.err == nil {
			return fl.l, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(fl.err, context.Canceled) && !errors.Is(fl.err, context.DeadlineExceeded) {
			return nil, fl.err
		}
		// The caller that ran the List gave up (interrupted): try again
		// with our own context.
	}
}

// fetchListing reads directory dirKey from the cache index while fresh
// (only the first time this FS lists it: after a change made here the
// index copy may be older than the change), else with one List call, whose
// result is then stored in the index page by page.
func (n *Node) fetchListing(ctx context.Context, dirKey string) (*dirListing, error) {
	f := n.fs
	f.mu.Lock()
	gen := f.listGen[dirKey]
	f.mu.Unlock()
	var entries []providers.Entry
	var fetched time.Time
	// Only what a listing keeps (see lsEntry): a listing of 100,000 keys
	// should not hold their ETags, content types and checksums meanwhile.
	add := func(e providers.Entry) error {
		entries = append(entries, providers.Entry{IsPrefix: e.IsPrefix,
			ObjectInfo: providers.ObjectInfo{Key: e.Key, Size: e.Size, Version: e.Version, ModTime: e.ModTime}})
		return nil
	}
	if gen == 0 {
		if info, ok, err := f.cache.StatListing(ctx, f.opts.StoreID, dirKey); err == nil && ok && time.Since(info.FetchedAt) <= f.opts.DirTTL {
			entries = make([]providers.Entry, 0, info.Entries)
			at, ok, err := f.cache.ReadListing(ctx, f.opts.StoreID, dirKey, add)
			if err != nil || !ok {
				entries = nil
			} else {
				fetched = at
			}
		}
	}
	fromStore := fetched.IsZero()
	started := fetched
	if fromStore {
		started = time.Now()
		entries = entries[:0]
		if err := f.store.List(ctx, providers.ListOptions{Prefix: dirKey, Delimiter: "/"}, add); err != nil {
			return nil, err
		}
		// Stamped when the List completes: a listing of many pages must not
		// be nearly stale by the time it is used.
		fetched = time.Now()
	}
	// A directory's mtime is the newest upload time among its objects.
	var newest time.Time
	for i := range entries {
		if !entries[i].IsPrefix && entries[i].ModTime.After(newest) {
			newest = entries[i].ModTime
		}
	}
	des := layout.DirEntries(entries, dirKey)
	entries = nil
	l := newDirListing(dirKey, fetched, des)
	l.started = started
	des = nil
	if !newest.IsZero() {
		n.mu.Lock()
		if newest.After(n.attr.Mtime) {
			n.attr.Mtime = newest
		}
		n.mu.Unlock()
	}
	if fromStore {
		f.storeListing(ctx, l, gen)
	}
	return l, nil
}

// storeListing writes listing l into the cache index, in key order, from
// the listing itself (no second copy of its entries). When the directory
// changed meanwhile (gen moved on), the index copy is dropped again.
func (f *FS) storeListing(ctx context.Context, l *dirListing, gen uint64) {
	order := make([]int32, len(l.entries))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(l.entries[a].key, l.entries[b].key) })
	err := f.cache.PutListing(ctx, f.opts.StoreID, l.dirKey, l.fetched, func(yield func(providers.Entry) bool) {
		for _, i := range order {
			e := &l.entries[i]
			if !yield(providers.Entry{ObjectInfo: e.info(), IsPrefix: e.isDir}) {
				return
			}
		}
	})
	if err != nil {
		f.log.Warn("store listing in cache", "prefix", l.dirKey, "err", err)
		return
	}
	f.mu.Lock()
	changed := f.listGen[l.dirKey] != gen
	f.mu.Unlock()
	if changed {
		if err := f.cache.InvalidateListing(f.ctx, f.opts.StoreID, l.dirKey); err != nil {
			f.log.Warn("invalidate listing", "prefix", l.dirKey, "err", err)
		}
	}
}

// invalidate forgets what is cached about directory dirKey's listing and the
// negative entry of key.
func (f *FS) invalidate(dirKey, key string) { f.changed(dirKey, key, true) }

// added records that this mount created or uploaded c in directory dirKey.
// Unlike invalidate it keeps the directory's listing in memory: lookups and
// readdir show c on top of a listing that started before the change
// (addedSince), so a directory being filled (cp -r, untar) is not listed or
// probed again for every file. Only the index's copy is dropped, for the
// next mount.
func (f *FS) added(dirKey string, c *Node) {
	c.mu.Lock()
	c.added = time.Now()
	c.mu.Unlock()
	f.changed(dirKey, c.Key(), false)
}

// dropListing forgets the listing of directory dirKey itself.
func (f *FS) dropListing(dirKey string) { f.changed(dirKey, "", true) }

// changed records a change made here in directory dirKey: it moves the
// directory's change counter on (so a List in flight is not stored in the
// index), forgets the negative entries of key (when given), drops the
// listing in memory when dropMemory is set, and the index's copy always.
func (f *FS) changed(dirKey, key string, dropMemory bool) {
	f.mu.Lock()
	f.listGen[dirKey]++
	if dropMemory {
		delete(f.listings, dirKey)
		delete(f.lflights, dirKey)
	}
	if key != "" {
		delete(f.negs, key)
		delete(f.negs, strings.TrimSuffix(key, "/"))
	}
	f.mu.Unlock()
	if err := f.cache.InvalidateListing(f.ctx, f.opts.StoreID, dirKey); err != nil {
		f.log.Warn("invalidate listing", "prefix", dirKey, "err", err)
	}
}
