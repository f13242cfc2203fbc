package fs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/byobfs/byob/layout"
	"github.com/byobfs/byob/providers"
)

// dirListing is one directory's entries as last listed, kept in memory for
// DirTTL so that the lookups following a readdir (ls -l) cost nothing.
type dirListing struct {
	fetched time.Time
	entries []layout.DirEntry
	byName  map[string]layout.DirEntry
	byKey   map[string]layout.DirEntry // files only, by object key
}

// DirEntry is one entry of ReadDir.
type DirEntry struct {
	Name  string
	Ino   uint64
	IsDir bool
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

// fetchListing reads directory dirKey from the cache index while fresh, else
// with one List call.
func (n *Node) fetchListing(ctx context.Context, dirKey string) (*dirListing, error) {
	f := n.fs
	var entries []providers.Entry
	var fetched time.Time
	if info, ok, err := f.cache.StatListing(ctx, f.opts.StoreID, dirKey); err == nil && ok && time.Since(info.FetchedAt) <= f.opts.DirTTL {
		at, ok, err := f.cache.ReadListing(ctx, f.opts.StoreID, dirKey, func(e providers.Entry) error {
			entries = append(entries, e)
			return nil
		})
		if err != nil || !ok {
			entries = nil
		} else {
			fetched = at
		}
	}
	if fetched.IsZero() {
		entries = entries[:0]
		err := f.store.List(ctx, providers.ListOptions{Prefix: dirKey, Delimiter: "/"}, func(e providers.Entry) error {
			entries = append(entries, e)
			return nil
		})
		if err != nil {
			return nil, err
		}
		// Stamped when the List completes: a listing of many pages must not
		// be nearly stale by the time it is used.
		fetched = time.Now()
		err = f.cache.PutListing(ctx, f.opts.StoreID, dirKey, fetched, func(yield func(providers.Entry) bool) {
			for _, e := range entries {
				if !yield(e) {
					return
				}
			}
		})
		if err != nil {
			f.log.Warn("store listing in cache", "prefix", dirKey, "err", err)
		}
	}
	des := layout.DirEntries(entries, dirKey)
	// A directory's mtime is the newest upload time among its objects.
	var newest time.Time
	for _, e := range entries {
		if !e.IsPrefix && e.ModTime.After(newest) {
			newest = e.ModTime
		}
	}
	if !newest.IsZero() {
		n.mu.Lock()
		if newest.After(n.attr.Mtime) {
			n.attr.Mtime = newest
		}
		n.mu.Unlock()
	}
	l := &dirListing{fetched: fetched, entries: des,
		byName: make(map[string]layout.DirEntry, len(des)),
		byKey:  make(map[string]layout.DirEntry, len(des))}
	for _, de := range des {
		l.byName[de.Name] = de
		if !de.IsDir {
			l.byKey[de.Key] = de
		}
	}
	return l, nil
}

// ReadDir returns the directory's entries sorted by name (without "." and
// ".."): the server's, as layout.DirEntries names them, plus files and
// directories only this mount knows yet.
func (n *Node) ReadDir(ctx context.Context) ([]DirEntry, error) {
	if !n.isDir {
		return nil, ErrNotDir
	}
	f := n.fs
	l, err := n.listing(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]DirEntry, 0, len(l.entries))
	seen := make(map[string]bool, len(l.entries))
	for _, de := range l.entries {
		c := f.nodeFromDirEntry(de, l.fetched)
		out = append(out, DirEntry{Name: de.Name, Ino: c.ino, IsDir: de.IsDir})
		seen[de.Name] = true
	}
	// Local-only entries.
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
	for k := range f.vdirs {
		if k != dirKey && strings.HasPrefix(k, dirKey) && !strings.Contains(strings.TrimSuffix(k[len(dirKey):], "/"), "/") {
			c := f.nodeForLocked(k, true)
			cands = append(cands, c)
			candKeys = append(candKeys, k)
		}
	}
	vd := make(map[string]bool, len(f.vdirs))
	for k := range f.vdirs {
		vd[k] = true
	}
	f.mu.Unlock()
	for i, c := range cands {
		k := candKeys[i]
		local := false
		if c.isDir {
			local = vd[k] || c.hasLocalChildren()
		} else {
			local = c.localOnly()
		}
		if !local {
			continue
		}
		name, err := layout.EncodeSegment(strings.TrimSuffix(k[len(dirKey):], "/"))
		if err != nil {
			continue
		}
		name, _ = layout.LongName(name)
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, DirEntry{Name: name, Ino: c.ino, IsDir: c.isDir})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Mkdir makes directory name: a "name/" marker object where the store can
// hold one, else a directory only this mount knows until a file is put in it.
func (n *Node) Mkdir(ctx context.Context, name string, mode os.FileMode) (*Node, error) {
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
	key, err := childKey(dirKey, name)
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
	c.mode = mode.Perm()
	c.attr.Mtime = time.Now()
	c.mu.Unlock()
	f.invalidate(dirKey, key)
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
	if c.hasLocalChildren() {
		return ErrNotEmpty
	}
	nonEmpty := false
	err = f.store.List(ctx, providers.ListOptions{Prefix: dk}, func(e providers.Entry) error {
		if e.Key != dk {
			nonEmpty = true
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if nonEmpty {
		return ErrNotEmpty
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
