package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/byobfs/byob/providers"
)

// Handle is one open file.
type Handle struct {
	n      *Node
	flags  int
	opener int // process (thread group) that opened it (0: unknown)
	keep   bool

	w    *wfile  // writable handles, and readers of a file being written
	r    *reader // readers of the object on the server
	pend *os.File

	wrote atomic.Bool // a Write came through this handle

	mu       sync.Mutex
	released bool // GUARDED_BY(mu)
}

// KeepCache reports whether the kernel may keep the pages it cached at an
// earlier open: the object's Version is the one the last open saw.
func (h *Handle) KeepCache() bool { return h.keep }

// Node returns the handle's node.
func (h *Handle) Node() *Node { return h.n }

func writable(flags int) bool {
	return flags&(syscall.O_WRONLY|syscall.O_RDWR) != 0
}

// Open opens file n for process proc (its thread group ID; 0: unknown); the
// upload happens at the flush by that process.
// Opening for reading revalidates the attributes once AttrTTL has passed
// (close-to-open consistency); opening for writing without O_TRUNC first
// copies the object into a staging file.
func (n *Node) Open(ctx context.Context, flags int, proc int) (*Handle, error) {
	if n.isDir {
		return nil, ErrIsDir
	}
	f := n.fs
	h := &Handle{n: n, flags: flags, opener: proc}
	ok := false
	defer func() {
		if ok {
			f.track(h)
		}
	}()
	if writable(flags) || flags&syscall.O_TRUNC != 0 {
		if err := f.readOnly(); err != nil {
			return nil, err
		}
		w, err := n.acquireW(ctx, flags&syscall.O_TRUNC != 0, false)
		if err != nil {
			return nil, err
		}
		h.w, ok = w, true
		return h, nil
	}
	if w := n.refExistingW(); w != nil {
		h.w, ok = w, true
		return h, nil
	}
	n.mu.Lock()
	if p := n.pending; p != nil {
		n.mu.Unlock()
		file, err := os.Open(p.path)
		if err != nil {
			return nil, err
		}
		h.pend, ok = file, true
		return h, nil
	}
	stale := time.Since(n.fetchedAt) > f.opts.AttrTTL
	n.mu.Unlock()
	if stale {
		if err := n.revalidate(ctx); err != nil {
			return nil, err
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.remote || n.removed {
		return nil, providers.ErrNotExist
	}
	h.keep = n.openVer == n.attr.Version
	n.openVer = n.attr.Version
	h.r = newReader(f, n.Key(), n.attr.Version, n.attr.Size)
	ok = true
	return h, nil
}

// Create makes file name in directory n and opens it for writing. The file
// exists only in this mount until its first upload (at flush or close). It
// shows the mount's owner and FileMode, whatever mode create(2) asked for.
func (n *Node) Create(ctx context.Context, name string, flags int, proc int) (*Node, *Handle, error) {
	f := n.fs
	if err := f.readOnly(); err != nil {
		return nil, nil, err
	}
	if !n.isDir {
		return nil, nil, ErrNotDir
	}
	c, err := n.Lookup(ctx, name)
	switch {
	case err == nil && c.isDir:
		return nil, nil, ErrIsDir
	case err == nil && flags&syscall.O_EXCL != 0:
		return nil, nil, ErrExist
	case err == nil:
		h, err := c.Open(ctx, flags|syscall.O_WRONLY, proc)
		return c, h, err
	case !errors.Is(err, providers.ErrNotExist):
		return nil, nil, err
	}
	dirKey := n.Key()
	key, err := fileKey(dirKey, name)
	if err != nil {
		return nil, nil, err
	}
	if err := f.checkKey(key); err != nil {
		return nil, nil, err
	}
	c = f.nodeFor(key, false)
	c.mu.Lock()
	c.removed = false
	c.attr = Attr{Mtime: time.Now()}
	c.mu.Unlock()
	w, err := c.acquireW(ctx, true, true)
	if err != nil {
		return nil, nil, err
	}
	f.added(dirKey, c)
	h := &Handle{n: c, flags: flags, opener: proc, w: w}
	f.track(h)
	return c, h, nil
}

// Read reads from the file at off.
func (h *Handle) Read(ctx context.Context, p []byte, off int64) (int, error) {
	v, err := h.read(ctx, p, off, false)
	return v.Len(), err
}

// ReadView reads like Read, but the bytes of blocks the cache holds in
// memory are referred to in place, not copied into p: the view's slices are
// valid until its Release. Reads of files being written copy into p.
func (h *Handle) ReadView(ctx context.Context, p []byte, off int64) (View, error) {
	return h.read(ctx, p, off, true)
}

// read is Read and ReadView: inPlace lets the view refer to the cache's
// memory; otherwise every byte is copied into p.
func (h *Handle) read(ctx context.Context, p []byte, off int64, inPlace bool) (View, error) {
	var v View
	switch {
	case h.flags&syscall.O_ACCMODE == syscall.O_WRONLY:
		return v, ErrBadHandle
	case h.w != nil:
		w := h.w
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.gone {
			return v, ErrBadHandle
		}
		if err := w.fillLocked(ctx); err != nil {
			return v, err
		}
		if err := w.flushTailLocked(); err != nil {
			return v, err
		}
		n, err := w.file.ReadAt(p, off)
		return copied(p, n, err)
	case h.pend != nil:
		n, err := h.pend.ReadAt(p, off)
		return copied(p, n, err)
	case h.r != nil:
		return h.r.view(ctx, p, off, inPlace)
	}
	return v, ErrBadHandle
}

// copied is the view of the n bytes a ReadAt put in p (EOF is no error).
func copied(p []byte, n int, err error) (View, error) {
	var v View
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if err == nil {
		v.add(p[:n])
	}
	return v, err
}

// Write writes p at off (at the end for O_APPEND handles) into the staging
// file. Dirty data beyond the cache's MaxSize is ENOSPC.
func (h *Handle) Write(ctx context.Context, p []byte, off int64) (int, error) {
	w := h.w
	if w == nil || !writable(h.flags) {
		return 0, ErrBadHandle
	}
	h.wrote.Store(true)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone {
		return 0, ErrBadHandle
	}
	if err := w.fillLocked(ctx); err != nil {
		return 0, err
	}
	if h.flags&syscall.O_APPEND != 0 {
		off = w.size.Load()
	}
	end := off + int64(len(p))
	if end > w.accounted {
		if err := w.accountLocked(end); err != nil {
			return 0, err
		}
	}
	n, taken, err := w.writeTailLocked(ctx, p, off)
	if !taken {
		if err = w.flushTailLocked(); err != nil {
			return 0, err
		}
		n, err = w.stageLocked(p, off)
	}
	if int64(off+int64(n)) > w.size.Load() {
		w.size.Store(off + int64(n))
	}
	if n > 0 {
		w.dirty = true
		w.lastWrite = time.Now()
	}
	return n, err
}

// Flush is close(2) on one descriptor of the handle by process proc (0:
// unknown). The opener publishes the file (uploads it, or in write-back
// mode journals it); a flush from another process (a forked child closing
// its inherited copy) does nothing, the upload then waits for the opener
// or for Release.
func (h *Handle) Flush(ctx context.Context, proc int) error {
	if h.w == nil || !writable(h.flags) {
		return nil
	}
	if h.opener != 0 && proc != 0 && proc != h.opener {
		return nil
	}
	// A shell redirection (`cmd > file`) opens the file with O_TRUNC, dup2s
	// it and closes the first descriptor before cmd writes: publishing then
	// would replace an object on the server with an empty one, which every
	// reader sees until the data comes. Nothing written through this handle
	// and an empty file over an existing object: a later flush, or the
	// release, publishes.
	if !h.wrote.Load() && h.w.size.Load() == 0 && h.n.onServer() {
		return nil
	}
	return h.w.publish(ctx)
}

// Fsync publishes the file's current contents.
func (h *Handle) Fsync(ctx context.Context) error {
	if h.w == nil {
		return nil
	}
	if err := h.w.publish(ctx); err != nil {
		return err
	}
	f := h.n.fs
	if !f.opts.WriteBack {
		return nil
	}
	// Write-back mode: fsync waits for the upload of what it staged.
	key := h.n.Key()
	if err := f.wb.waitKey(ctx, key); err != nil {
		return err
	}
	h.n.mu.Lock()
	failed := h.n.pending != nil && !h.n.removed
	h.n.mu.Unlock()
	if failed {
		return fmt.Errorf("write-back upload of %q failed; it is kept in the cache (byob cache pending)", key)
	}
	return nil
}

// Release is the last close of the handle: a file still dirty (its opener
// never flushed) is published now; errors can only be logged.
func (h *Handle) Release(ctx context.Context) error {
	h.mu.Lock()
	if h.released {
		h.mu.Unlock()
		return nil
	}
	h.released = true
	h.mu.Unlock()
	h.n.fs.untrack(h)
	if h.r != nil {
		h.r.close()
	}
	if h.pend != nil {
		h.pend.Close()
	}
	w := h.w
	if w == nil {
		return nil
	}
	var err error
	if writable(h.flags) {
		err = w.publish(ctx)
		if err != nil {
			h.n.fs.log.Error("upload at release failed", "key", h.n.Key(), "err", err)
		}
	}
	w.mu.Lock()
	w.refs--
	if w.refs == 0 {
		w.discardLocked()
	}
	w.mu.Unlock()
	return err
}

// OpenHandle is a file open through the FS (not yet released).
type OpenHandle struct {
	Key   string
	Write bool // open for writing
}

// track and untrack keep the set of open handles (OpenHandles).
func (f *FS) track(h *Handle) {
	f.mu.Lock()
	f.open[h] = struct{}{}
	f.mu.Unlock()
}

func (f *FS) untrack(h *Handle) {
	f.mu.Lock()
	delete(f.open, h)
	f.mu.Unlock()
}

// OpenHandles lists the files open through the FS, by key.
func (f *FS) OpenHandles() []OpenHandle {
	f.mu.Lock()
	hs := make([]*Handle, 0, len(f.open))
	for h := range f.open {
		hs = append(hs, h)
	}
	f.mu.Unlock()
	out := make([]OpenHandle, 0, len(hs))
	for _, h := range hs {
		out = append(out, OpenHandle{Key: h.n.Key(), Write: writable(h.flags)})
	}
	slices.SortFunc(out, func(a, b OpenHandle) int { return strings.Compare(a.Key, b.Key) })
	return out
}
