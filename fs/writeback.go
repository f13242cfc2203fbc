package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/transfer"
)

// wbEntry is one file acknowledged to an application in write-back mode and
// not yet uploaded: a snapshot of its contents in the staging directory,
// journaled in the cache index (cache.WriteBack).
type wbEntry struct {
	id    string
	key   string
	path  string
	size  int64
	mtime time.Time
	n     *Node
}

// writeBack is the background upload queue of write-back mode. Up to
// WriteBackConcurrency workers upload entries in the order they were
// staged; two entries of one key are never uploaded at once, so the
// versions of a key land in order.
type writeBack struct {
	f *FS

	mu sync.Mutex
	// The fields below are GUARDED_BY(mu).
	queue   []*wbEntry
	active  map[*wbEntry]context.CancelFunc
	keys    map[string]int // active entries by key
	changed chan struct{}  // closed and replaced on every change
	wake    chan struct{}

	crashAfterAck bool // BYOB_CRASH_AT names CrashAfterWriteBackAck (read once)
}

func newWriteBack(f *FS) *writeBack {
	return &writeBack{f: f, changed: make(chan struct{}), wake: make(chan struct{}, 1),
		active: map[*wbEntry]context.CancelFunc{}, keys: map[string]int{},
		crashAfterAck: os.Getenv(transfer.CrashEnv) == CrashAfterWriteBackAck}
}

func (b *writeBack) notifyLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// busyLocked reports whether an entry of key is queued or uploading.
func (b *writeBack) busyLocked(key string) bool {
	if b.keys[key] > 0 {
		return true
	}
	for _, e := range b.queue {
		if e.key == key {
			return true
		}
	}
	return false
}

// nextLocked takes the first queued entry whose key is not uploading.
func (b *writeBack) nextLocked() *wbEntry {
	for i, e := range b.queue {
		if b.keys[e.key] > 0 {
			continue
		}
		b.queue = append(b.queue[:i:i], b.queue[i+1:]...)
		return e
	}
	return nil
}

// stage makes the staging file's first size bytes a write-back file,
// journals the entry in the cache's write-back log and queues the upload.
// Neither waits for the disk: both survive the death of this process at
// once, and the syncer makes them durable within SyncInterval (see
// cache.AppendWriteBack). Called with w.mu held.
//
// The staging file itself becomes the write-back file (a rename, not a
// copy: one file created per written file instead of two, which is most
// of a small file's cost); w gets a new staging file only if it is used
// again, filled from the entry (needFill), as a file reopened while its
// entry is pending is. A staging file longer than size is copied.
func (b *writeBack) stage(ctx context.Context, n *Node, w *wfile, key string, size int64, mtime time.Time) error {
	f := b.f
	// The time tells it from the entries of earlier mounts (whose
	// sequence numbers started over).
	path := f.stagingPath("wb", n.ino, fmt.Sprintf("-%d", time.Now().UnixNano()))
	handed := w.handOver(path, size)
	if !handed {
		if err := copyPrefix(w.file, path, size); err != nil {
			return err
		}
	}
	rec := &cache.WriteBack{Store: f.opts.StoreID, Key: key, StagingPath: path, Size: size,
		Mtime: mtime, State: cache.WriteBackStaged, Created: time.Now()}
	if err := f.cache.AppendWriteBack(ctx, rec); err != nil {
		if handed {
			w.takeBack(path)
		} else {
			os.Remove(path)
		}
		return err
	}
	if handed {
		w.finishHandOver()
	}
	e := &wbEntry{id: rec.ID, key: key, path: path, size: size, mtime: mtime, n: n}
	n.mu.Lock()
	n.pending = e
	n.mu.Unlock()
	b.mu.Lock()
	b.queue = append(b.queue, e)
	b.notifyLocked()
	b.mu.Unlock()
	return nil
}

// recover queues the entries a previous run left in the journal.
func (b *writeBack) recover(ctx context.Context) error {
	f := b.f
	var recs []cache.WriteBack
	err := f.cache.ListWriteBack(ctx, func(wb cache.WriteBack) error {
		if wb.Store == f.opts.StoreID && wb.State != cache.WriteBackFailed {
			recs = append(recs, wb)
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range recs {
		n := f.nodeFor(r.Key, false)
		e := &wbEntry{id: r.ID, key: r.Key, path: r.StagingPath, size: r.Size, mtime: r.Mtime, n: n}
		n.mu.Lock()
		n.pending = e
		n.mu.Unlock()
		b.queue = append(b.queue, e)
		f.log.Info("resuming write-back upload", "key", r.Key, "size", r.Size)
	}
	return nil
}

// start runs the upload workers and the syncer.
func (b *writeBack) start() {
	f := b.f
	for range f.opts.WriteBackConcurrency {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			b.work()
		}()
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(f.opts.SyncInterval)
		defer t.Stop()
		for {
			select {
			case <-f.ctx.Done():
				return
			case <-t.C:
				if err := f.cache.SyncWriteBack(f.ctx); err != nil && f.ctx.Err() == nil {
					f.log.Error("syncing write-back entries", "err", err)
				}
			}
		}
	}()
}

// work uploads queued entries until the FS closes.
func (b *writeBack) work() {
	f := b.f
	for {
		b.mu.Lock()
		if e := b.nextLocked(); e != nil {
			ctx, cancel := context.WithCancel(f.ctx)
			b.active[e] = cancel
			b.keys[e.key]++
			b.mu.Unlock()
			b.upload(ctx, e)
			b.mu.Lock()
			cancel()
			delete(b.active, e)
			if b.keys[e.key]--; b.keys[e.key] <= 0 {
				delete(b.keys, e.key)
			}
			b.notifyLocked()
			b.mu.Unlock()
			continue
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-f.ctx.Done():
			return
		case <-ch:
		}
	}
}

func (b *writeBack) upload(ctx context.Context, e *wbEntry) {
	f := b.f
	if b.crashAfterAck {
		// The worker wakes while the close that staged e is still being
		// answered; give the reply time to reach the application, so the
		// crash lands after the acknowledgement and before the upload.
		time.Sleep(2 * time.Second)
		transfer.CrashPoint(CrashAfterWriteBackAck)
	}
	file, err := os.Open(e.path)
	if err != nil {
		f.log.Error("write-back file missing", "key", e.key, "path", e.path, "err", err)
		b.fail(e)
		return
	}
	defer file.Close()
	info, err := f.upload(ctx, e.key, file, e.size, e.mtime)
	if err != nil {
		if ctx.Err() != nil {
			return // unlinked, or shutting down: the journal keeps it for the next run
		}
		f.log.Error("write-back upload failed", "key", e.key, "err", err)
		b.fail(e)
		return
	}
	if err := f.cache.DeleteWriteBack(f.ctx, e.id); err != nil {
		f.log.Warn("forget write-back entry", "key", e.key, "err", err)
	}
	n := e.n
	n.mu.Lock()
	if n.pending == e {
		n.pending = nil
		if !n.removed {
			n.setRemoteLocked(info, time.Now())
			n.attr.Mtime = e.mtime
			n.openVer = ""
		}
	}
	n.mu.Unlock()
	// Removed once no one finds it pending: a fill that saw the entry
	// copies it whole, or, when it is gone, the object it became.
	os.Remove(e.path)
	f.added(parentKey(e.key), n)
}

// fail marks e failed in the journal (kept for the user, see Pending).
func (b *writeBack) fail(e *wbEntry) {
	f := b.f
	if rec, ok, err := f.cache.GetWriteBack(f.ctx, e.id); err == nil && ok {
		rec.State = cache.WriteBackFailed
		if err := f.cache.PutWriteBack(f.ctx, &rec); err != nil {
			f.log.Warn("mark write-back failed", "key", e.key, "err", err)
		}
	}
}

// dropKey forgets every queued entry of key and cancels (and waits for) an
// upload of key in progress: the file was unlinked.
func (b *writeBack) dropKey(key string) {
	f := b.f
	b.mu.Lock()
	kept := b.queue[:0]
	var dropped []*wbEntry
	for _, e := range b.queue {
		if e.key == key {
			dropped = append(dropped, e)
		} else {
			kept = append(kept, e)
		}
	}
	b.queue = kept
	seen := map[*wbEntry]bool{}
	for b.keys[key] > 0 {
		for e, cancel := range b.active {
			if e.key == key && !seen[e] {
				seen[e] = true
				dropped = append(dropped, e)
				cancel()
			}
		}
		ch := b.changed
		b.mu.Unlock()
		<-ch
		b.mu.Lock()
	}
	b.notifyLocked()
	b.mu.Unlock()
	for _, e := range dropped {
		if err := f.cache.DeleteWriteBack(f.ctx, e.id); err != nil {
			f.log.Warn("forget write-back entry", "key", e.key, "err", err)
		}
		os.Remove(e.path)
		e.n.mu.Lock()
		if e.n.pending == e {
			e.n.pending = nil
		}
		e.n.mu.Unlock()
	}
}

// retarget moves the queued entries of key from to key to, when none of
// from is uploading, and journals the change: a rename of a file whose
// upload has not started then costs no copy. It reports whether it did.
func (b *writeBack) retarget(ctx context.Context, from, to string) (bool, error) {
	f := b.f
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keys[from] > 0 {
		return false, nil
	}
	var es []*wbEntry
	for _, e := range b.queue {
		if e.key == from {
			es = append(es, e)
		}
	}
	if len(es) == 0 {
		return false, nil
	}
	for _, e := range es {
		rec, ok, err := f.cache.GetWriteBack(ctx, e.id)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, nil
		}
		rec.Key = to
		if err := f.cache.PutWriteBack(ctx, &rec); err != nil {
			return false, err
		}
		e.key = to
	}
	b.notifyLocked()
	return true, nil
}

// queuedOnly reports whether key has queued entries and none uploading.
func (b *writeBack) queuedOnly(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.keys[key] == 0 && b.busyLocked(key)
}

// waitKey waits until no entry of key is queued or uploading.
func (b *writeBack) waitKey(ctx context.Context, key string) error {
	for {
		b.mu.Lock()
		busy := b.busyLocked(key)
		ch := b.changed
		b.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// PendingUpload is one write-back entry not yet uploaded.
type PendingUpload struct {
	ID      string
	Key     string
	Size    int64
	State   string // staged, uploading, failed
	Created time.Time
}

// Pending lists what write-back mode has acknowledged but not uploaded,
// failed entries included, in journal order.
func (f *FS) Pending(ctx context.Context) ([]PendingUpload, error) {
	var out []PendingUpload
	f.wb.mu.Lock()
	active := map[string]bool{}
	for e := range f.wb.active {
		active[e.id] = true
	}
	f.wb.mu.Unlock()
	err := f.cache.ListWriteBack(ctx, func(wb cache.WriteBack) error {
		if wb.Store != f.opts.StoreID {
			return nil
		}
		st := string(wb.State)
		if active[wb.ID] {
			st = string(cache.WriteBackUploading)
		}
		out = append(out, PendingUpload{ID: wb.ID, Key: wb.Key, Size: wb.Size, State: st, Created: wb.Created})
		return nil
	})
	return out, err
}

// Drain waits until the write-back queue is empty (failed entries stay in
// the journal and are reported by Pending), or ctx ends.
func (f *FS) Drain(ctx context.Context) error {
	b := f.wb
	for {
		b.mu.Lock()
		idle := len(b.queue) == 0 && len(b.active) == 0
		ch := b.changed
		b.mu.Unlock()
		if idle {
			return nil
		}
		if f.ctx.Err() != nil {
			return errors.New("fs closed with uploads pending")
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// copyPrefix copies the first size bytes of src to a new file at path.
func copyPrefix(src *os.File, path string, size int64) error {
	out, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, io.NewSectionReader(src, 0, size))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// handOver renames w's staging file to path when it holds exactly size
// bytes and this is the last close (no other handle writes on: a handle
// that did would copy the whole file back), and reports whether it did.
// Called with w.mu held.
func (w *wfile) handOver(path string, size int64) bool {
	if w.refs > 1 {
		return false
	}
	st, err := w.file.Stat()
	if err != nil || st.Size() != size {
		return false
	}
	return os.Rename(w.path, path) == nil
}

// takeBack undoes handOver: the write-back entry could not be journaled.
func (w *wfile) takeBack(path string) {
	if err := os.Rename(path, w.path); err != nil {
		w.path = path // the same file, under the entry's name
	}
}

// finishHandOver lets the handed-over staging file go: w makes a new one
// when next used, filled from the pending entry.
func (w *wfile) finishHandOver() {
	w.file.Close()
	w.file = nil
	w.needFill = true
}

// ensureFileLocked gives w a new, empty staging file after a hand-over.
// Called with w.mu held.
func (w *wfile) ensureFileLocked() error {
	if w.file != nil {
		return nil
	}
	file, path, err := w.n.fs.newStagingFile(w.n.ino)
	if err != nil {
		return err
	}
	w.file, w.path = file, path
	return nil
}
