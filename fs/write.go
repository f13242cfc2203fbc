package fs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

// wfile is the write state of one file: a staging file in the cache
// directory holding the file's whole new content, shared by every handle
// that has the file open for writing.
type wfile struct {
	n    *Node
	path string
	size atomic.Int64 // read without mu by Node.snapshot

	// mtime is GUARDED_BY(n.mu): utimens folds into it.
	mtime time.Time

	mu sync.Mutex // held for writes and for a whole upload
	// The fields below are GUARDED_BY(mu).
	file      *os.File
	needFill  bool  // the staging file does not hold the content yet (fillLocked)
	dirty     bool  // content differs from what the server has
	refs      int   // handles (and internal users) holding the wfile
	accounted int64 // bytes counted in FS.dirty
	lastWrite time.Time
	cancelled atomic.Bool // unlinked: never upload (read without mu)
	// st streams sequential writes of a new or truncated file into a
	// multipart upload (nil: none, or given up and already published).
	st       atomic.Pointer[transfer.Live]
	cancelMu sync.Mutex
	cancels  map[int]context.CancelFunc // uploads in progress, GUARDED_BY(cancelMu)
	nextC    int

	// gone: discarded (the last reference was released). file is nil
	// also after the staging file was handed over to a write-back entry
	// (writeBack.stage) until the next use creates a new one
	// (ensureFileLocked). GUARDED_BY(mu).
	gone bool

	// The tail (tail.go): sequential bytes not in the staging file yet.
	tail    *transfer.PartBuffer // GUARDED_BY(mu)
	tailWG  sync.WaitGroup       // background staging writes of sealed tails
	tailMu  sync.Mutex
	tailErr error // GUARDED_BY(tailMu): a background staging write failed
	dOnce   sync.Once
	dfile   *os.File // the staging file opened with O_DIRECT (nil: refused)
}

func (w *wfile) sizeLocked() int64 { return w.size.Load() }

// cancel stops every upload of w and makes later ones no-ops (unlink).
func (w *wfile) cancel() {
	w.cancelled.Store(true)
	if st := w.st.Load(); st != nil {
		st.Abandon(errors.New("unlinked"))
	}
	w.cancelMu.Lock()
	for _, c := range w.cancels {
		c()
	}
	w.cancelMu.Unlock()
}

// uploadCtx returns a ctx that cancel() ends, and its release func.
func (w *wfile) uploadCtx(ctx context.Context) (context.Context, func()) {
	ctx, c := context.WithCancel(ctx)
	w.cancelMu.Lock()
	if w.cancels == nil {
		w.cancels = map[int]context.CancelFunc{}
	}
	id := w.nextC
	w.nextC++
	w.cancels[id] = c
	w.cancelMu.Unlock()
	if w.cancelled.Load() {
		c()
	}
	return ctx, func() {
		w.cancelMu.Lock()
		delete(w.cancels, id)
		w.cancelMu.Unlock()
		c()
	}
}

// Handle is one open file.
type Handle struct {
	n     *Node
	flags int
	tgid  int // thread group of the opener (0: unknown)
	keep  bool

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

// Open opens file n. pid is the calling thread's ID as FUSE reports it (0:
// unknown); the upload happens at the flush by the opener's thread group.
// Opening for reading revalidates the attributes once AttrTTL has passed
// (close-to-open consistency); opening for writing without O_TRUNC first
// copies the object into a staging file.
func (n *Node) Open(ctx context.Context, flags int, pid uint32) (*Handle, error) {
	if n.isDir {
		return nil, ErrIsDir
	}
	f := n.fs
	h := &Handle{n: n, flags: flags, tgid: tgidOf(pid)}
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
func (n *Node) Create(ctx context.Context, name string, flags int, pid uint32) (*Node, *Handle, error) {
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
		h, err := c.Open(ctx, flags|syscall.O_WRONLY, pid)
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
	h := &Handle{n: c, flags: flags, tgid: tgidOf(pid), w: w}
	f.track(h)
	return c, h, nil
}

// refExistingW returns n's write state with one more reference, or nil.
func (n *Node) refExistingW() *wfile {
	for {
		n.mu.Lock()
		w := n.w
		n.mu.Unlock()
		if w == nil {
			return nil
		}
		w.mu.Lock()
		n.mu.Lock()
		same := n.w == w
		n.mu.Unlock()
		if same {
			w.refs++
			w.mu.Unlock()
			return w
		}
		w.mu.Unlock()
	}
}

// lockW returns n's write state locked (w.mu held), or nil when n is not
// open for writing.
func (n *Node) lockW() *wfile {
	for {
		n.mu.Lock()
		w := n.w
		n.mu.Unlock()
		if w == nil {
			return nil
		}
		w.mu.Lock()
		n.mu.Lock()
		same := n.w == w
		n.mu.Unlock()
		if same && !w.gone {
			return w
		}
		w.mu.Unlock()
		if same { // being discarded by its last release
			runtime.Gosched()
		}
	}
}

// rekeyLocked points w's later publishes at key (a rename): a stream
// bound to the old key's multipart upload is given up, and when it had
// followed every write it starts afresh for key, sending the bytes written
// so far from the staging file. Called with w.mu held.
func (w *wfile) rekeyLocked(key string) error {
	old := w.st.Swap(nil)
	if old == nil {
		return nil
	}
	follow := old.Contiguous(w.size.Load())
	err := w.flushTailLocked() // the new stream reads those bytes from the staging file
	old.Abandon(errors.New("renamed"))
	if err != nil {
		return err
	}
	if follow {
		if st := w.n.fs.newLive(w.file, key, w.path); st != nil {
			w.st.Store(st)
			st.Wrote(0, w.size.Load())
		}
	}
	return nil
}

// acquireW returns n's write state with one more reference, creating it
// (and filling the staging file from the server unless trunc) when needed.
func (n *Node) acquireW(ctx context.Context, trunc, created bool) (*wfile, error) {
	f := n.fs
	for {
		n.mu.Lock()
		w := n.w
		if w == nil {
			break
		}
		n.mu.Unlock()
		w.mu.Lock()
		n.mu.Lock()
		same := n.w == w
		n.mu.Unlock()
		if !same {
			w.mu.Unlock()
			continue
		}
		w.refs++
		if trunc && (w.size.Load() != 0 || w.needFill) {
			if err := w.truncateLocked(ctx, 0); err != nil {
				w.refs--
				w.mu.Unlock()
				return nil, err
			}
		}
		w.mu.Unlock()
		return w, nil
	}
	// n.mu held, no write state: make one.
	file, path, err := f.newStagingFile(n.ino)
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	w := &wfile{n: n, path: path, file: file, refs: 1, dirty: trunc || created}
	w.mu.Lock() // uncontended: w is not shared yet
	n.w = w
	key := n.Key()
	switch {
	case trunc:
		if st := f.newLive(file, key, path); st != nil {
			w.st.Store(st)
		}
	case n.pending != nil:
		w.needFill = true
		w.size.Store(n.pending.size)
	case n.remote:
		w.needFill = true
		w.size.Store(n.attr.Size)
	}
	n.mu.Unlock()
	w.mu.Unlock()
	return w, nil
}

// newStagingFile creates an empty staging file for the file of inode ino.
func (f *FS) newStagingFile(ino uint64) (*os.File, string, error) {
	path := f.stagingPath("w", ino, "")
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	return file, path, err
}

// stagingPath names a new file in the staging directory: prefix, the
// inode, a sequence number unique in this FS, and suffix.
func (f *FS) stagingPath(prefix string, ino uint64, suffix string) string {
	f.mu.Lock()
	f.seq++
	seq := f.seq
	f.mu.Unlock()
	return filepath.Join(f.staging, fmt.Sprintf("%s%d-%d%s", prefix, ino, seq, suffix))
}

// fillLocked copies the file's current content (its write-back entry, else
// the object) into the staging file, once: at the first read, write,
// truncate to a non-zero size or upload. An open without O_TRUNC does not
// copy at once because the kernel sends O_TRUNC as a separate truncate to 0
// after the open (go-fuse does not offer atomic_o_trunc): that truncate then
// skips the copy entirely.
func (w *wfile) fillLocked(ctx context.Context) error {
	if !w.needFill {
		return nil
	}
	if err := w.ensureFileLocked(); err != nil {
		return err
	}
	n := w.n
	f := n.fs
	for attempt := 0; ; attempt++ {
		n.mu.Lock()
		pending, remote, size, version := n.pending, n.remote, n.attr.Size, n.attr.Version
		n.mu.Unlock()
		key := n.Key()
		if err := w.file.Truncate(0); err != nil {
			return err
		}
		if _, err := w.file.Seek(0, io.SeekStart); err != nil {
			return err
		}
		var err error
		switch {
		case pending != nil:
			err = copyFile(pending.path, w.file)
			if errors.Is(err, os.ErrNotExist) && attempt == 0 {
				continue // uploaded and removed meanwhile: the object has it
			}
		case remote:
			err = f.download(ctx, key, version, size, w.file)
		}
		if err != nil {
			return err
		}
		break
	}
	st, err := w.file.Stat()
	if err != nil {
		return err
	}
	if err := w.accountLocked(st.Size()); err != nil {
		return err
	}
	w.size.Store(st.Size())
	w.needFill = false
	return nil
}

// download copies the object (version) into file.
func (f *FS) download(ctx context.Context, key, version string, size int64, file *os.File) error {
	if size == 0 {
		return nil
	}
	body, _, err := f.store.Get(ctx, key, 0, -1, providers.GetOptions{IfMatch: version})
	if err != nil {
		if errors.Is(err, providers.ErrPrecondition) {
			return errors.Join(ErrChanged, err)
		}
		return err
	}
	defer body.Close()
	_, err = io.Copy(file, body)
	return err
}

func copyFile(src string, dst *os.File) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = io.Copy(dst, in)
	return err
}

// accountLocked counts the staging file at size bytes against the cache's
// MaxSize: dirty data beyond it is cache.ErrNoSpace.
func (w *wfile) accountLocked(size int64) error {
	f := w.n.fs
	delta := size - w.accounted
	f.mu.Lock()
	defer f.mu.Unlock()
	if delta > 0 && f.dirty+delta > f.cache.Options().MaxSize {
		return fmt.Errorf("staging %d more bytes: %w", delta, cache.ErrNoSpace)
	}
	f.dirty += delta
	w.accounted = size
	return nil
}

func (w *wfile) truncateLocked(ctx context.Context, size int64) error {
	if size == 0 {
		w.resetTailLocked() // nothing written before matters
	} else if err := w.flushTailLocked(); err != nil {
		return err
	}
	if w.needFill {
		if size == 0 {
			w.needFill = false // the old content is not needed
		} else if err := w.fillLocked(ctx); err != nil {
			return err
		}
	}
	if err := w.accountLocked(max(size, w.accounted)); err != nil {
		return err
	}
	if err := w.ensureFileLocked(); err != nil {
		return err
	}
	if err := w.file.Truncate(size); err != nil {
		return err
	}
	if size == 0 {
		// Everything is rewritten from here: stream it afresh.
		f := w.n.fs
		st := f.newLive(w.file, w.n.Key(), w.path)
		if old := w.st.Swap(st); old != nil {
			old.Abandon(errors.New("truncated to 0"))
		}
	} else if st := w.st.Load(); st != nil {
		st.Truncated(size)
	}
	w.size.Store(size)
	w.dirty = true
	w.lastWrite = time.Now()
	return nil
}

// discardLocked closes and removes the staging file and detaches w from its
// node. Called with w.mu held and no references left.
func (w *wfile) discardLocked() {
	f := w.n.fs
	if st := w.st.Swap(nil); st != nil {
		st.Abandon(errors.New("closed without publishing"))
	}
	w.dropTailLocked()
	w.gone = true
	if w.file != nil {
		w.file.Close()
		w.file = nil
		os.Remove(w.path)
	}
	f.mu.Lock()
	f.dirty -= w.accounted
	f.mu.Unlock()
	w.accounted = 0
	w.n.mu.Lock()
	if w.n.w == w {
		w.n.w = nil
	}
	w.n.mu.Unlock()
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

// Flush is close(2) on one descriptor of the handle. The opener's thread
// group publishes the file (uploads it, or in write-back mode journals it);
// a flush from another process (a forked child closing its inherited copy)
// does nothing, the upload then waits for the opener or for Release.
func (h *Handle) Flush(ctx context.Context, pid uint32) error {
	if h.w == nil || !writable(h.flags) {
		return nil
	}
	if h.tgid != 0 && pid != 0 && tgidOf(pid) != h.tgid {
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

// tgidOf returns the thread group (process) of thread tid, read from
// /proc/<tid>/status as mountpoint-s3 does; FUSE reports the calling
// thread. 0 when unknown. Answers are remembered for a second (tgids.ttl):
// a tool creating thousands of files (cp -r, tar) then reads /proc once a
// second, not at every open and close, and a thread ID is not reused that
// fast.
func tgidOf(tid uint32) int {
	if tid == 0 {
		return 0
	}
	now := time.Now()
	tgids.mu.Lock()
	if e, ok := tgids.m[tid]; ok && now.Sub(e.at) < tgids.ttl {
		tgids.mu.Unlock()
		return e.tgid
	}
	tgids.mu.Unlock()
	g := readTgid(tid)
	tgids.mu.Lock()
	if len(tgids.m) >= 4096 {
		for k, e := range tgids.m {
			if now.Sub(e.at) >= tgids.ttl {
				delete(tgids.m, k)
			}
		}
		if len(tgids.m) >= 4096 {
			clear(tgids.m)
		}
	}
	tgids.m[tid] = tgidEntry{tgid: g, at: now}
	tgids.mu.Unlock()
	return g
}

type tgidEntry struct {
	tgid int
	at   time.Time
}

// tgids caches tgidOf.
var tgids = struct {
	mu  sync.Mutex
	m   map[uint32]tgidEntry // GUARDED_BY(mu)
	ttl time.Duration
}{m: map[uint32]tgidEntry{}, ttl: time.Second}

func readTgid(tid uint32) int {
	file, err := os.Open("/proc/" + strconv.FormatUint(uint64(tid), 10) + "/status")
	if err != nil {
		return int(tid)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Tgid:"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return int(tid)
}
