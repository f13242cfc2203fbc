package fs

import (
	"context"
	"errors"
	"os"
	"runtime"
	"time"

	"github.com/byobfs/byob/providers"
)

// SetAttr holds the attributes to change; nil fields stay.
type SetAttr struct {
	Size  *int64
	Mtime *time.Time
	// Mode holds the permission bits asked for, setuid, setgid and sticky
	// included (chmod's 07777).
	Mode *os.FileMode
	UID  *uint32
	GID  *uint32
}

// Setattr changes attributes (see doc.go for chmod/chown/utimens). h is the
// handle of ftruncate/futimens, or nil. Ownership and permission bits are
// the mount's (Options UID, GID, FileMode, DirMode): a chown or chmod to
// what is shown is accepted and changes nothing, any other is
// ErrNotPermitted (EPERM), so a mode is never shown that would later
// revert.
func (n *Node) Setattr(ctx context.Context, in SetAttr, h *Handle) (Attr, error) {
	f := n.fs
	if in.UID != nil && *in.UID != f.opts.UID || in.GID != nil && *in.GID != f.opts.GID {
		return Attr{}, ErrNotPermitted
	}
	if in.Mode != nil && *in.Mode != n.permBits() {
		return Attr{}, ErrNotPermitted
	}
	if (in.Size != nil || in.Mtime != nil) && !n.isDir {
		if err := f.readOnly(); err != nil {
			return Attr{}, err
		}
	}
	if n.isDir {
		if in.Mtime != nil {
			n.mu.Lock()
			n.attr.Mtime = *in.Mtime
			n.mu.Unlock()
		}
		return n.snapshot(), nil
	}
	if in.Size != nil {
		if err := n.truncate(ctx, *in.Size, h); err != nil {
			return Attr{}, err
		}
	}
	if in.Mtime != nil {
		if err := n.setMtime(ctx, *in.Mtime); err != nil {
			return Attr{}, err
		}
	}
	return n.snapshot(), nil
}

func (n *Node) truncate(ctx context.Context, size int64, h *Handle) error {
	if h != nil && h.w != nil {
		w := h.w
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.gone {
			return ErrBadHandle
		}
		return w.truncateLocked(ctx, size)
	}
	for {
		n.mu.Lock()
		w := n.w
		n.mu.Unlock()
		if w == nil {
			break
		}
		w.mu.Lock()
		if w.gone {
			// Being discarded by the last release (which the kernel sends
			// asynchronously after close): the file is not open any more.
			w.mu.Unlock()
			runtime.Gosched()
			continue
		}
		err := w.truncateLocked(ctx, size)
		w.mu.Unlock()
		return err
	}
	// truncate(2) of a file nobody has open: rewrite it now.
	w, err := n.acquireW(ctx, size == 0, false)
	if err != nil {
		return err
	}
	w.mu.Lock()
	err = w.truncateLocked(ctx, size)
	w.mu.Unlock()
	if err == nil {
		err = w.publish(ctx)
	}
	w.mu.Lock()
	w.refs--
	if w.refs == 0 {
		w.discardLocked()
	}
	w.mu.Unlock()
	return err
}

// setMtime folds t into the pending upload of a file being written, or
// rewrites the object's mtime metadata with a server-side copy onto itself
// (conditional on its Version).
func (n *Node) setMtime(ctx context.Context, t time.Time) error {
	f := n.fs
	n.mu.Lock()
	if n.w != nil {
		w := n.w
		w.mtime = t
		n.mu.Unlock()
		w.mu.Lock()
		if st := w.st.Load(); st != nil {
			st.Abandon(errors.New("explicit mtime"))
		}
		w.dirty = true
		w.mu.Unlock()
		return nil
	}
	if n.pending != nil || !n.remote {
		n.attr.Mtime = t
		n.mu.Unlock()
		return nil
	}
	key := n.Key()
	n.mu.Unlock()
	info, err := f.store.Stat(ctx, key)
	if err != nil {
		return err
	}
	meta := providers.CloneMetadata(info.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[providers.MetaMtime] = providers.FormatMtime(t)
	ni, err := f.store.Copy(ctx, key, key, providers.CopyOptions{IfMatch: info.Version, Metadata: meta, ContentType: info.ContentType})
	if err != nil {
		return err
	}
	if ni.Metadata == nil {
		ni.Metadata = meta
	}
	n.setRemote(ni, time.Now())
	f.invalidate(parentKey(key), key)
	return nil
}
