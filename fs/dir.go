package fs

import (
	"bytes"
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

// DirEntry is one entry of ReadDir.
type DirEntry struct {
	Name  string
	Ino   uint64
	IsDir bool
}

// localEntry is an entry only this mount knows.
type localEntry struct {
	de DirEntry
	c  *Node
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

// DirReader returns a directory's entries one at a time, sorted by name
// (without "." and ".."): the server's, as layout.DirEntries names them,
// merged with files and directories only this mount knows yet. It reads
// the listing in place: a directory of 100,000 entries is not copied to
// be read.
type DirReader struct {
	dir   *Node
	l     *dirListing
	i     int          // next listing entry
	local []localEntry // local-only entries, sorted by name
	j     int          // next local entry
	fromL bool         // the entry Next returned last came from the listing
}

// OpenDir lists directory n (from its listing while fresh) for reading.
func (n *Node) OpenDir(ctx context.Context) (*DirReader, error) {
	if !n.isDir {
		return nil, ErrNotDir
	}
	l, err := n.listing(ctx)
	if err != nil {
		return nil, err
	}
	return &DirReader{dir: n, l: l, local: n.localEntries(l)}, nil
}

// Next returns the next entry and its node, or ok false at the end.
func (r *DirReader) Next() (de DirEntry, c *Node, ok bool) {
	f := r.dir.fs
	if r.i >= len(r.l.entries) && r.j >= len(r.local) {
		return DirEntry{}, nil, false
	}
	if r.j < len(r.local) && (r.i >= len(r.l.entries) || r.local[r.j].de.Name < r.l.entries[r.i].name) {
		de, c = r.local[r.j].de, r.local[r.j].c
		r.j++
		r.fromL = false
		return de, c, true
	}
	e := &r.l.entries[r.i]
	r.i++
	c = f.nodeFromListing(e, r.l.fetched)
	r.fromL = true
	return DirEntry{Name: e.name, Ino: c.ino, IsDir: e.isDir}, c, true
}

// CacheTTL is how long the entry Next returned last, and the attributes
// it carries, may be cached by the kernel when it came from the listing:
// what is left of max(AttrTTL, DirTTL), which is how long Lookup and Attr
// answer from that listing themselves. 0 for an entry only this mount
// knows (the default timeouts apply).
func (r *DirReader) CacheTTL() time.Duration {
	if !r.fromL {
		return 0
	}
	f := r.dir.fs
	return max(0, max(f.opts.AttrTTL, f.opts.DirTTL)-time.Since(r.l.fetched))
}

// Generation identifies what a reader of the directory returns, for a
// kernel that keeps its own copy of the directory's entries (FUSE's
// readdir cache): the same gen means the same names, as long as ok holds.
// ok is false while the directory has entries only this mount knows
// (files being written, entries added since the listing began): those
// come and go without a new listing. It is false for an empty directory
// too: the kernel answers from an empty copy without looking at its pages,
// so that copy could not be dropped, and with DirTTL 0 (every open lists
// again: a copy would never be read). A new listing, fresh from the store
// or after a change made here, has a new gen.
func (r *DirReader) Generation() (gen uint64, ok bool) {
	return r.l.seq, len(r.local) == 0 && len(r.l.entries) > 0 && r.dir.fs.opts.DirTTL > 0
}

// Rewind starts the reader over the same entries (a reader whose entries
// the kernel keeps must not return another listing's).
func (r *DirReader) Rewind() { r.i, r.j, r.fromL = 0, 0, false }

// localEntries returns the directory's entries only this mount knows
// (files being written or waiting for write-back, directories made here
// on stores without markers) that listing l does not show, sorted by name.
func (n *Node) localEntries(l *dirListing) []localEntry {
	f := n.fs
	dirKey := n.Key()
	f.mu.Lock()
	var cands []*Node
	var candKeys []string
	for k, c := range f.nodes {
		if k != dirKey && strings.HasPrefix(k, dirKey) && !strings.Contains(strings.TrimSuffix(k[len(dirKey):], "/"), "/") {
			cands = append(cands, c)
			candKeys = append(candKeys, k)
		}
	}
	vd := make(map[string]bool, len(f.vdirs))
	for k := range f.vdirs {
		vd[k] = true
		if k != dirKey && strings.HasPrefix(k, dirKey) && !strings.Contains(strings.TrimSuffix(k[len(dirKey):], "/"), "/") {
			if _, ok := f.nodes[k]; !ok {
				cands = append(cands, f.nodeForLocked(k, true))
				candKeys = append(candKeys, k)
			}
		}
	}
	f.mu.Unlock()
	var out []localEntry
	for i, c := range cands {
		k := candKeys[i]
		local := false
		if c.isDir {
			local = vd[k] || c.hasLocalChildren() || c.addedSince(l.started)
		} else {
			local = c.localOnly() || c.addedSince(l.started)
		}
		if !local {
			continue
		}
		name, err := layout.EncodeSegment(strings.TrimSuffix(k[len(dirKey):], "/"))
		if err != nil {
			continue
		}
		name, _ = layout.LongName(name)
		if _, ok := l.byName(name); ok {
			continue
		}
		out = append(out, localEntry{DirEntry{Name: name, Ino: c.ino, IsDir: c.isDir}, c})
	}
	slices.SortFunc(out, func(a, b localEntry) int { return strings.Compare(a.de.Name, b.de.Name) })
	return slices.CompactFunc(out, func(a, b localEntry) bool { return a.de.Name == b.de.Name })
}

// ReadDir returns all the directory's entries, as DirReader does.
func (n *Node) ReadDir(ctx context.Context) ([]DirEntry, error) {
	r, err := n.OpenDir(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]DirEntry, 0, len(r.l.entries)+len(r.local))
	for {
		de, _, ok := r.Next()
		if !ok {
			return out, nil
		}
		out = append(out, de)
	}
}

// Mkdir makes directory name: a "name/" marker object where the store can
// hold one, else a directory only this mount knows until a file is put in it.
// It shows the mount's owner and DirMode.
func (n *Node) Mkdir(ctx context.Context, name string) (*Node, error) {
	f := n.fs
	if err := f.readOnly(); err != nil {
		return nil, err
	}
	if !n.isDir {
		return nil, ErrNotDir
	}
	if _, err := n.Lookup(ctx, name); err == nil {
		return nil, ErrExist
	} else if !errors.Is(err, providers.ErrNotExist) {
		return nil, err
	}
	dirKey := n.Key()
	key, _, err := childKey(dirKey, name)
	if err != nil {
		return nil, err
	}
	if err := f.checkKey(key + "/"); err != nil {
		return nil, err
	}
	if f.caps.OddKeys {
		opts := providers.PutOptions{}
		if _, err := f.store.Put(ctx, key+"/", bytes.NewReader(nil), 0, opts); err != nil {
			return nil, err
		}
	} else {
		f.mu.Lock()
		f.vdirs[key+"/"] = true
		f.mu.Unlock()
	}
	c := f.nodeFor(key+"/", true)
	c.mu.Lock()
	c.removed = false
	c.attr.Mtime = time.Now()
	c.mu.Unlock()
	f.added(dirKey, c)
	// The new directory was empty when its name was found free: it starts
	// with an empty listing, so the files put in it next are not probed
	// one by one on the server.
	now := time.Now()
	l := newDirListing(key+"/", now, nil)
	l.started = now
	f.mu.Lock()
	f.listGen[key+"/"]++
	f.listings[key+"/"] = l
	f.mu.Unlock()
	return c, nil
}

// Rmdir removes the empty directory name; ENOTEMPTY when any object or
// local-only file lies below it.
func (n *Node) Rmdir(ctx context.Context, name string) error {
	f := n.fs
	if err := f.readOnly(); err != nil {
		return err
	}
	c, err := n.Lookup(ctx, name)
	if err != nil {
		return err
	}
	if !c.isDir {
		return ErrNotDir
	}
	dk := c.Key()
	if err := c.requireEmpty(ctx); err != nil {
		return err
	}
	if f.caps.OddKeys {
		if err := f.store.Delete(ctx, dk); err != nil {
			return err
		}
	}
	f.mu.Lock()
	delete(f.vdirs, dk)
	if f.nodes[dk] == c {
		delete(f.nodes, dk)
	}
	f.mu.Unlock()
	f.dropListing(dk)
	c.mu.Lock()
	c.removed = true
	c.mu.Unlock()
	f.invalidate(n.Key(), dk)
	return nil
}

// requireEmpty is nil when directory n holds nothing: no file or
// directory only this mount knows, and no object below its prefix but its
// own marker (one List, stopped at the first other key). ErrNotEmpty
// otherwise.
func (n *Node) requireEmpty(ctx context.Context) error {
	if n.hasLocalChildren() {
		return ErrNotEmpty
	}
	dk := n.Key()
	empty := true
	err := n.fs.store.List(ctx, providers.ListOptions{Prefix: dk}, func(e providers.Entry) error {
		if e.Key != dk {
			empty = false
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if !empty {
		return ErrNotEmpty
	}
	return nil
}

// Unlink removes file name. A file being written has its upload cancelled,
// and its pending write-back entries are dropped.
func (n *Node) Unlink(ctx context.Context, name string) error {
	f := n.fs
	if err := f.readOnly(); err != nil {
		return err
	}
	c, err := n.Lookup(ctx, name)
	if err != nil {
		return err
	}
	if c.isDir {
		return ErrIsDir
	}
	key := c.Key()
	c.mu.Lock()
	w := c.w
	remote := c.remote
	c.mu.Unlock()
	if w != nil {
		w.cancel()
	}
	f.wb.dropKey(key)
	if remote || w == nil {
		if err := f.store.Delete(ctx, key); err != nil {
			return err
		}
	}
	f.detach(c, key)
	f.invalidate(n.Key(), key)
	return nil
}

// detach marks c removed and takes it out of the node table, so a new file
// of the same name is a new inode.
func (f *FS) detach(c *Node, key string) {
	c.mu.Lock()
	c.removed = true
	c.remote = false
	c.mu.Unlock()
	f.mu.Lock()
	if f.nodes[key] == c {
		delete(f.nodes, key)
	}
	f.mu.Unlock()
}

// checkKey refuses keys the store cannot hold before any call is made.
func (f *FS) checkKey(key string) error {
	if f.caps.MaxKeyLength > 0 && len(key) > f.caps.MaxKeyLength {
		return errors.Join(providers.ErrInvalidKey, errTooLong)
	}
	return nil
}
