package fs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/byobfs/byob/layout"
	"github.com/byobfs/byob/providers"
)

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

// parentKey returns the directory key holding key.
func parentKey(key string) string {
	k := strings.TrimSuffix(key, "/")
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return ""
	}
	return k[:i+1]
}
