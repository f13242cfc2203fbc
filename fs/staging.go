package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
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
