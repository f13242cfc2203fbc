package fs

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/byobfs/byob/providers"
)

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
