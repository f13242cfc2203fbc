package fs

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// FS returns the file system the node belongs to.
func (n *Node) FS() *FS { return n.fs }
