package fs

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/byobfs/byob/providers"
)

// Rename flags (renameat2).
const (
	RenameNoReplace = 1
	RenameExchange  = 2
)

// Rename moves name in n to newName in newParent. A file is copied
// server-side (conditional on the Version it had) and the source deleted; a
// directory is moved object by object, at most Options.RenameDirLimit of
// them (more is EXDEV, so mv copies by itself). Data still being written is
// published first. The moved node keeps its inode number.
func (n *Node) Rename(ctx context.Context, name string, newParent *Node, newName string, flags uint32) error {
	f := n.fs
	if err := f.readOnly(); err != nil {
		return err
	}
	if newParent.fs != f {
		return ErrCrossStore
	}
	if flags&RenameExchange != 0 {
		return ErrNotSupported
	}
	if !n.isDir || !newParent.isDir {
		return ErrNotDir
	}
	src, err := n.Lookup(ctx, name)
	if err != nil {
		return err
	}
	dstDirKey := newParent.Key()
	dstBase, dstDirOnly, err := childKey(dstDirKey, newName)
	if err != nil {
		return err
	}
	if dstDirOnly && !src.isDir {
		_, err := fileKey(dstDirKey, newName)
		return err
	}
	dst, err := newParent.Lookup(ctx, newName)
	switch {
	case err == nil && flags&RenameNoReplace != 0:
		return ErrExist
	case err == nil && dst == src:
		return nil
	case err != nil && !errors.Is(err, providers.ErrNotExist):
		return err
	case err != nil:
		dst = nil
	}
	if src.isDir {
		return f.renameDir(ctx, n, src, newParent, dst, dstBase+"/")
	}
	if dst != nil && dst.isDir {
		return ErrIsDir
	}
	return f.renameFile(ctx, n, src, newParent, dst, dstBase)
}

// settle publishes node c's data being written and waits for its
// write-back entries, so that the server holds its contents.
func (f *FS) settle(ctx context.Context, c *Node) error {
	if err := c.publishOpen(ctx); err != nil {
		return err
	}
	return f.wb.waitKey(ctx, c.Key())
}

// publishOpen publishes the data of n being written, if any.
func (n *Node) publishOpen(ctx context.Context) error {
	n.mu.Lock()
	w := n.w
	n.mu.Unlock()
	if w == nil {
		return nil
	}
	return w.publish(ctx)
}

func (f *FS) renameFile(ctx context.Context, srcDir, src, dstDir, dst *Node, dstKey string) error {
	if err := f.checkKey(dstKey); err != nil {
		return err
	}
	srcKey := src.Key()
	retargeted, following := false, false
	if !f.opts.WriteBack {
		// A file open for writing keeps its unpublished bytes: its handles
		// follow the new name, where their next publish goes (log
		// rotation renames a file its writer still has open). Its lock
		// is held while the name moves, so no write or publish runs
		// meanwhile; what the server holds at the old name (the last
		// publish, or the previous version) moves to the new one.
		if w := src.lockW(); w != nil {
			defer w.mu.Unlock()
			if err := w.rekeyLocked(dstKey); err != nil {
				return err
			}
			following = true
		}
	} else {
		// A file whose upload is queued and not started is renamed by
		// retargeting the upload: no copy. An object already at the old
		// name is deleted (the queued data supersedes it).
		if err := src.publishOpen(ctx); err != nil {
			return err
		}
		if f.wb.queuedOnly(srcKey) {
			f.wb.dropKey(dstKey) // the renamed file replaces what was queued there
		}
		ok, err := f.wb.retarget(ctx, srcKey, dstKey)
		if err != nil {
			return err
		}
		if ok {
			retargeted = true
			src.mu.Lock()
			remote := src.remote
			src.remote = false
			src.mu.Unlock()
			if remote {
				if err := f.store.Delete(ctx, srcKey); err != nil && !errors.Is(err, providers.ErrNotExist) {
					return err
				}
			}
		}
	}
	if !retargeted && !following {
		if err := f.settle(ctx, src); err != nil {
			return err
		}
	}
	src.mu.Lock()
	version := src.attr.Version
	remote := src.remote
	src.mu.Unlock()
	switch {
	case remote && !retargeted:
		info, err := f.store.Copy(ctx, srcKey, dstKey, providers.CopyOptions{IfMatch: version})
		if err != nil {
			return err
		}
		if err := f.store.Delete(ctx, srcKey); err != nil {
			return err
		}
		src.mu.Lock()
		if src.w == nil {
			src.setRemoteLocked(info, time.Now())
		} else {
			// Being written: the attributes are the open file's; only
			// the version the server now holds under the new name moves.
			src.attr.Version = info.Version
		}
		src.mu.Unlock()
	case following && dst != nil && dst.onServer():
		// Nothing published of src yet: the object at the new name is
		// replaced by the file being written, published at its close.
		if err := f.store.Delete(ctx, dstKey); err != nil && !errors.Is(err, providers.ErrNotExist) {
			return err
		}
	}
	if dst != nil {
		dst.mu.Lock()
		dw := dst.w
		dst.mu.Unlock()
		if dw != nil {
			dw.cancel()
		}
		if !retargeted {
			f.wb.dropKey(dstKey)
		}
		f.detach(dst, dstKey)
	}
	f.mu.Lock()
	if f.nodes[srcKey] == src {
		delete(f.nodes, srcKey)
	}
	f.nodes[dstKey] = src
	src.setKeyLocked(dstKey)
	f.mu.Unlock()
	f.invalidate(srcDir.Key(), srcKey)
	f.invalidate(dstDir.Key(), dstKey)
	return nil
}

func (f *FS) renameDir(ctx context.Context, srcDir, src, dstDir, dst *Node, dstPrefix string) error {
	if dst != nil && !dst.isDir {
		return ErrNotDir
	}
	srcPrefix := src.Key()
	if strings.HasPrefix(dstPrefix, srcPrefix) {
		return providers.ErrInvalidArgument // into itself: EINVAL
	}
	if dst != nil {
		if err := dst.requireEmpty(ctx); err != nil {
			return err
		}
	}
	// Publish what is being written below src.
	f.mu.Lock()
	var below []*Node
	for k, c := range f.nodes {
		if !c.isDir && strings.HasPrefix(k, srcPrefix) {
			below = append(below, c)
		}
	}
	f.mu.Unlock()
	for _, c := range below {
		if err := f.settle(ctx, c); err != nil {
			return err
		}
	}
	var objs []providers.Entry
	err := f.store.List(ctx, providers.ListOptions{Prefix: srcPrefix}, func(e providers.Entry) error {
		if len(objs) >= f.opts.RenameDirLimit {
			return ErrCrossStore
		}
		objs = append(objs, e)
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range objs {
		nk := dstPrefix + e.Key[len(srcPrefix):]
		if err := f.checkKey(nk); err != nil {
			return err
		}
		if _, err := f.store.Copy(ctx, e.Key, nk, providers.CopyOptions{IfMatch: e.Version}); err != nil {
			return err
		}
	}
	for _, e := range objs {
		if err := f.store.Delete(ctx, e.Key); err != nil {
			return err
		}
	}
	if dst != nil {
		f.detach(dst, dstPrefix)
	}
	// Move the nodes and virtual directories below src.
	f.mu.Lock()
	moved := map[string]*Node{}
	for k, c := range f.nodes {
		if strings.HasPrefix(k, srcPrefix) {
			moved[dstPrefix+k[len(srcPrefix):]] = c
			delete(f.nodes, k)
		}
	}
	for k := range f.nodes {
		if strings.HasPrefix(k, dstPrefix) {
			delete(f.nodes, k)
		}
	}
	for k, c := range moved {
		c.setKeyLocked(k)
		f.nodes[k] = c
	}
	var vmoved []string
	for k := range f.vdirs {
		if strings.HasPrefix(k, srcPrefix) {
			vmoved = append(vmoved, k)
		}
	}
	for _, k := range vmoved {
		delete(f.vdirs, k)
		f.vdirs[dstPrefix+k[len(srcPrefix):]] = true
	}
	for k := range f.listings {
		if strings.HasPrefix(k, srcPrefix) || strings.HasPrefix(k, dstPrefix) {
			delete(f.listings, k)
		}
	}
	if !f.caps.OddKeys && len(objs) == 0 {
		f.vdirs[dstPrefix] = true
	}
	f.mu.Unlock()
	// Listings of the old and new names are stale, in the index too.
	f.dropListing(srcPrefix)
	f.dropListing(dstPrefix)
	for k, c := range moved {
		if c.isDir {
			f.dropListing(k)
			f.dropListing(srcPrefix + k[len(dstPrefix):])
		}
	}
	// Objects below moved: their attributes must be refetched.
	for _, c := range moved {
		c.mu.Lock()
		c.fetchedAt = time.Time{}
		c.mu.Unlock()
	}
	f.invalidate(srcDir.Key(), srcPrefix)
	f.invalidate(dstDir.Key(), dstPrefix)
	return nil
}
