package fs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/byobfs/byob/layout"
	"github.com/byobfs/byob/providers"
)

// Attr is what stat(2) shows of a node.
type Attr struct {
	Ino   uint64
	Size  int64
	Mode  os.FileMode // type bits (os.ModeDir) and permissions
	Nlink uint32
	Mtime time.Time
	Ctime time.Time
	UID   uint32
	GID   uint32
	// Version is the object's Version on the server ("" for directories and
	// for files not uploaded yet).
	Version string
}

// IsDir reports whether the attributes are a directory's.
func (a Attr) IsDir() bool { return a.Mode&os.ModeDir != 0 }

// Node is one file or directory. A Node lives as long as the FS: the same
// key always gives the same Node and inode number (a counter table; renames
// carry the number to the new key). Directories have keys ending in "/"
// (the root's is ""); files have their object key.
type Node struct {
	fs    *FS
	ino   uint64
	isDir bool

	// key is the node's current key; rename replaces it (under fs.mu, so
	// that the node table and the key change together), and it is read
	// without any lock.
	key atomic.Pointer[string]

	mu sync.Mutex
	// The fields below are GUARDED_BY(mu).
	attr      Attr      // last known attributes (Size, Version, Mtime)
	fetchedAt time.Time // when attr came from the server; zero: never
	listed    bool      // attr came from a directory listing: trusted for DirTTL
	remote    bool      // the object exists on the server as far as we know
	removed   bool      // unlinked or overwritten: Nlink 0
	w         *wfile    // open write state, nil when none
	pending   *wbEntry  // newest write-back entry not yet uploaded
	openVer   string    // Version at the last open (FOPEN_KEEP_CACHE)
	added     time.Time // when this mount last created or uploaded it (see FS.added)
}

// addedSince reports whether this mount created or uploaded n at or after
// t and it is still there: a listing started before t does not show it yet.
func (n *Node) addedSince(t time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.removed && !n.added.IsZero() && !n.added.Before(t) && (n.isDir || n.remote || n.w != nil || n.pending != nil)
}

// onServer reports whether n's object exists on the server as far as this
// mount knows (whatever is staged over it).
func (n *Node) onServer() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.remote && !n.removed
}

// Ino is the node's inode number, stable for the life of the FS.
func (n *Node) Ino() uint64 { return n.ino }

// IsDir reports whether the node is a directory.
func (n *Node) IsDir() bool { return n.isDir }

// Key is the node's current key (directories end in "/", root "").
func (n *Node) Key() string { return *n.key.Load() }

// setKeyLocked moves n to key in the node table's view; called with fs.mu
// held, together with the table's update.
func (n *Node) setKeyLocked(key string) { n.key.Store(&key) }

// nodeFor returns the node of key, creating it. Callers hold no lock.
func (f *FS) nodeFor(key string, isDir bool) *Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodeForLocked(key, isDir)
}

func (f *FS) nodeForLocked(key string, isDir bool) *Node {
	if n, ok := f.nodes[key]; ok {
		return n
	}
	n := &Node{fs: f, ino: f.nextIno, isDir: isDir}
	n.setKeyLocked(key)
	f.nextIno++
	f.nodes[key] = n
	return n
}

// setRemote records attributes fetched from the server.
func (n *Node) setRemote(info providers.ObjectInfo, at time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.setRemoteLocked(info, at)
}

func (n *Node) setRemoteLocked(info providers.ObjectInfo, at time.Time) {
	n.listed = false
	if n.remote && n.attr.Version == info.Version && info.Version != "" {
		// Same version: keep the mtime first seen (a listing carries no
		// metadata, so it would flip between mtime and upload time).
		if info.Metadata != nil {
			n.attr.Mtime = info.Mtime()
		}
		n.fetchedAt = at
		n.removed = false
		return
	}
	n.attr.Size = info.Size
	n.attr.Version = info.Version
	n.attr.Mtime = info.Mtime()
	n.fetchedAt = at
	n.remote = true
	n.removed = false
}

// localOnly reports whether the node exists only in this mount so far (a
// new file being written or waiting for write-back).
func (n *Node) localOnly() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.removed && (n.w != nil || n.pending != nil)
}

// Attr returns the node's attributes, revalidating a file's once they are
// older than AttrTTL (DirTTL when they came from a listing), unless it is
// being written or was removed. A file whose directory has been listed is
// revalidated from that directory's listing (refreshed once, shared by
// concurrent callers, when stale), so `ls -l` never costs a Stat per entry;
// other files with one Stat.
func (n *Node) Attr(ctx context.Context) (Attr, error) {
	f := n.fs
	if !n.isDir {
		n.mu.Lock()
		ttl := f.opts.AttrTTL
		if n.listed && f.opts.DirTTL > ttl {
			ttl = f.opts.DirTTL
		}
		stale := n.remote && !n.removed && n.w == nil && n.pending == nil && time.Since(n.fetchedAt) > ttl
		n.mu.Unlock()
		if stale && !n.refreshFromListing(ctx) {
			if err := n.revalidate(ctx); err != nil && !errors.Is(err, providers.ErrNotExist) {
				return Attr{}, err
			}
		}
	}
	return n.snapshot(), nil
}

// KnownAttr returns the node's attributes as last known, without
// revalidating them: for the entries a readdir is reading from a listing,
// whose attributes that listing just gave (a directory of 100,000 entries
// may take longer than DirTTL to read; it is not listed again meanwhile).
func (n *Node) KnownAttr() Attr { return n.snapshot() }

// refreshFromListing refreshes file n's attributes from its directory's
// listing when that directory has one in memory (fresh, or refreshed now).
// It reports false when there is no listing or n is not in it (a Stat must
// then tell).
func (n *Node) refreshFromListing(ctx context.Context) bool {
	f := n.fs
	key := n.Key()
	f.mu.Lock()
	pk := parentKey(key)
	_, listed := f.listings[pk]
	parent := f.nodes[pk]
	f.mu.Unlock()
	if !listed || parent == nil {
		return false
	}
	l, err := parent.listing(ctx)
	if err != nil {
		return false
	}
	e, ok := l.byKey(key)
	if !ok {
		return false
	}
	f.nodeFromListing(e, l.fetched)
	n.mu.Lock()
	fresh := time.Since(n.fetchedAt) <= max(f.opts.AttrTTL, f.opts.DirTTL)
	n.mu.Unlock()
	return fresh
}

// revalidate refreshes a file's attributes with a Stat.
func (n *Node) revalidate(ctx context.Context) error {
	key := n.Key()
	info, err := n.fs.store.Stat(ctx, key)
	if err != nil {
		if errors.Is(err, providers.ErrNotExist) {
			n.mu.Lock()
			n.remote = false
			n.fetchedAt = time.Now()
			n.mu.Unlock()
		}
		return err
	}
	n.setRemote(info, time.Now())
	return nil
}

// permBits are the permission bits n shows: the mount's FileMode or
// DirMode (chmod cannot change them, see Setattr).
func (n *Node) permBits() os.FileMode {
	if n.isDir {
		return n.fs.opts.DirMode.Perm()
	}
	return n.fs.opts.FileMode.Perm()
}

// snapshot builds Attr from the in-memory state.
func (n *Node) snapshot() Attr {
	f := n.fs
	n.mu.Lock()
	defer n.mu.Unlock()
	a := n.attr
	a.Ino = n.ino
	a.UID, a.GID = f.opts.UID, f.opts.GID
	a.Nlink = 1
	a.Mode = n.permBits()
	if n.isDir {
		a.Mode |= os.ModeDir
		a.Nlink = 2
	} else {
		if n.w != nil {
			a.Size = n.w.sizeLocked()
			if !n.w.mtime.IsZero() {
				a.Mtime = n.w.mtime
			}
		} else if n.pending != nil {
			a.Size = n.pending.size
			a.Mtime = n.pending.mtime
		}
	}
	if n.removed {
		a.Nlink = 0
	}
	if a.Mtime.IsZero() {
		if n.isDir {
			a.Mtime = f.started // not listed yet, or holding only directories
		} else {
			a.Mtime = time.Unix(0, 0)
		}
	}
	a.Ctime = a.Mtime
	return a
}

// childKey returns the key of name in the directory whose key is dirKey:
// a file's object key, or a directory's key without its trailing "/".
// dirOnly is set for the name of an empty key segment ("%%"): dirKey + ""
// is the directory itself, so only the directory dirKey+"/" can have that
// name, never a file (its key would end in "/", a directory marker).
func childKey(dirKey, name string) (key string, dirOnly bool, err error) {
	seg, err := layout.DecodeName(name)
	if err != nil {
		return "", false, err
	}
	return dirKey + seg, seg == "", nil
}

// fileKey returns the object key of a new file name in directory dirKey;
// ErrInvalidKey for a name only a directory can have (childKey).
func fileKey(dirKey, name string) (string, error) {
	key, dirOnly, err := childKey(dirKey, name)
	if err != nil {
		return "", err
	}
	if dirOnly {
		return "", fmt.Errorf("%q names an empty key segment, which only a directory can have: %w", name, providers.ErrInvalidKey)
	}
	return key, nil
}

// Lookup finds name in directory n. It answers from, in order: nodes only
// this mount knows (files being written, mkdir'd directories on stores
// without markers), the directory's listing when it has one (listed again,
// once for all concurrent lookups, when older than DirTTL), negative
// entries (NegativeTTL), and otherwise (a directory never listed, or changed
// since) one List call probing both the object and the prefix of that name.
// Long and shadow names not found that way list the directory.
func (n *Node) Lookup(ctx context.Context, name string) (*Node, error) {
	if !n.isDir {
		return nil, ErrNotDir
	}
	f := n.fs
	dirKey := n.Key()
	key, dirOnly, err := childKey(dirKey, name)
	if err != nil {
		return nil, err
	}
	// Local state first.
	f.mu.Lock()
	if f.vdirs[key+"/"] {
		c := f.nodeForLocked(key+"/", true)
		f.mu.Unlock()
		return c, nil
	}
	dn := f.nodes[key+"/"]
	var fn *Node
	if !dirOnly {
		fn = f.nodes[key]
	}
	l := f.listings[dirKey]
	negAt, neg := f.negs[key]
	f.mu.Unlock()
	if dn != nil && dn.hasLocalChildren() {
		return dn, nil
	}
	if fn != nil && fn.localOnly() {
		return fn, nil
	}
	if l != nil {
		// Created or uploaded here since the listing started.
		if fn != nil && fn.addedSince(l.started) {
			return fn, nil
		}
		if dn != nil && dn.addedSince(l.started) {
			return dn, nil
		}
	}
	if l != nil {
		// The directory has been listed: answer from its listing, listed
		// again (once, shared by concurrent lookups) when stale, rather
		// than probing name by name.
		if time.Since(l.fetched) > f.opts.DirTTL {
			if l, err = n.listing(ctx); err != nil {
				return nil, err
			}
		}
		if e, ok := l.byName(name); ok {
			return f.nodeFromListing(e, l.fetched), nil
		}
		return nil, providers.ErrNotExist
	}
	if neg && time.Since(negAt) <= f.opts.NegativeTTL {
		return nil, providers.ErrNotExist
	}
	c, err := f.probe(ctx, key, dirOnly)
	if errors.Is(err, providers.ErrNotExist) && (layout.IsLongName(name) || strings.HasSuffix(name, layout.ShadowSuffix) || strings.Contains(name, layout.ShadowSuffix+"%")) {
		l, lerr := n.listing(ctx)
		if lerr != nil {
			return nil, lerr
		}
		if e, ok := l.byName(name); ok {
			return f.nodeFromListing(e, l.fetched), nil
		}
	}
	if errors.Is(err, providers.ErrNotExist) {
		f.mu.Lock()
		f.negs[key] = time.Now()
		f.mu.Unlock()
	}
	return c, err
}

// probe looks key up with one List: the object key and the prefix key+"/".
// A directory wins over an object of the same name (which then shows under
// its shadow name). With dirOnly only the prefix counts (the object key is
// then the parent directory's own marker).
func (f *FS) probe(ctx context.Context, key string, dirOnly bool) (*Node, error) {
	var obj *providers.Entry
	dir := false
	now := time.Now()
	err := f.store.List(ctx, providers.ListOptions{Prefix: key, Delimiter: "/"}, func(e providers.Entry) error {
		switch {
		case e.Key == key && !e.IsPrefix && !dirOnly:
			ec := e
			obj = &ec
		case e.Key == key+"/" && e.IsPrefix:
			dir = true
			return errStop
		case e.Key > key+"/":
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if dir {
		return f.nodeFor(key+"/", true), nil
	}
	if obj != nil {
		c := f.nodeFor(key, false)
		c.mu.Lock()
		if c.w == nil && c.pending == nil {
			c.setRemoteLocked(obj.ObjectInfo, now)
		}
		c.mu.Unlock()
		return c, nil
	}
	return nil, providers.ErrNotExist
}

// nodeFromListing returns the node of listing entry e (listed at at),
// taking its attributes unless the node is being written or already has
// newer ones.
func (f *FS) nodeFromListing(e *lsEntry, at time.Time) *Node {
	if e.isDir {
		return f.nodeFor(e.key, true)
	}
	c := f.nodeFor(e.key, false)
	c.mu.Lock()
	if c.w == nil && c.pending == nil && (!c.remote || c.fetchedAt.Before(at)) {
		c.setRemoteLocked(e.info(), at)
		c.listed = true
	}
	c.mu.Unlock()
	return c
}

// hasLocalChildren reports whether directory n holds nodes only this mount
// knows (so it exists even if the server shows nothing under it).
func (n *Node) hasLocalChildren() bool {
	f := n.fs
	prefix := n.Key()
	f.mu.Lock()
	for k := range f.vdirs {
		if k != prefix && strings.HasPrefix(k, prefix) {
			f.mu.Unlock()
			return true
		}
	}
	var cands []*Node
	for k, c := range f.nodes {
		if !c.isDir && strings.HasPrefix(k, prefix) {
			cands = append(cands, c)
		}
	}
	f.mu.Unlock()
	for _, c := range cands {
		if c.localOnly() {
			return true
		}
	}
	return false
}

// parentKey returns the directory key holding key.
func parentKey(key string) string {
	k := strings.TrimSuffix(key, "/")
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return ""
	}
	return k[:i+1]
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

// FS returns the file system the node belongs to.
func (n *Node) FS() *FS { return n.fs }
