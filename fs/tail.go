package fs

import (
	"context"
	"errors"
	"hash/crc32"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/sys/unix"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/providers"
)

// The tail: a streamed file's sequential writes are copied into a
// part-sized memory buffer (the tail) and answered at once. When the tail
// holds a whole part it is sealed: the stream uploads the part from that
// memory, and a background write puts the same bytes in the staging file
// with O_DIRECT. A FUSE write then costs a copy of 1 MiB instead of a
// page-cache write (0.8 CPU-s per GiB here, and the writer waited for
// each), and the part is not read back from the staging file.
//
// The staging file stays the authority: everything that reads it, cuts it
// or writes it out of order (a read through a writable handle, a truncate,
// a write elsewhere, publish) first calls flushTailLocked, which waits for
// the background writes and writes a partial tail itself. A background
// write that fails fails the next of those (publish: close reports EIO).
// The stream holds at most UploadConcurrency+1 sealed tails: a writer
// ahead of the uploads waits for one to be sent, as rclone and
// mountpoint-s3 make writers wait. All tails together stay within
// tailMemory; beyond it, writes go to the staging file as before.

// partMem is a part's bytes in memory: a tail, and once sealed, shared by
// the staging write and the part upload. The buffer goes back to the pool
// when both are done.
type partMem struct {
	buf  *[]byte // of cap ps, the budget it holds
	off  int64   // offset in the file, a multiple of the part size
	n    int
	crc  uint32 // CRC-32C of bytes()
	refs atomic.Int32
}

func (m *partMem) bytes() []byte { return (*m.buf)[:m.n] }

func (m *partMem) release() {
	if m.refs.Add(-1) == 0 {
		tailBudget.Release(int64(cap(*m.buf))) // get returns buffers of cap == ps, what newPartMem took
		tailBufs.put(m.buf)
	}
}

// tailBufs recycles tail buffers (aligned to cache.DirectAlign). Not a
// sync.Pool: the collector empties those every other cycle, and a fresh
// 16 MiB buffer costs page faults on every page (writing into new buffers
// cost 0.33 CPU-s per GiB here, three times a copy into used ones). Idle
// buffers are let go after bufIdle.
var tailBufs = bufList{max: 8}

const bufIdle = 2 * time.Second

type bufList struct {
	mu    sync.Mutex
	max   int
	free  []*[]byte // GUARDED_BY(mu)
	used  time.Time // GUARDED_BY(mu): last get
	timer *time.Timer
}

func (l *bufList) get(size int64) *[]byte {
	l.mu.Lock()
	l.used = time.Now()
	for len(l.free) > 0 {
		p := l.free[len(l.free)-1]
		l.free = l.free[:len(l.free)-1]
		if int64(cap(*p)) == size {
			l.mu.Unlock()
			return p
		}
	}
	l.mu.Unlock()
	b := cache.AlignedBuffer(int(size))
	return &b
}

func (l *bufList) put(p *[]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.free) < l.max {
		l.free = append(l.free, p)
	}
	if l.timer == nil {
		l.timer = time.AfterFunc(bufIdle, l.trim)
	}
}

// trim lets the buffers go once none was asked for during bufIdle.
func (l *bufList) trim() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timer = nil
	if idle := time.Since(l.used); idle < bufIdle {
		l.timer = time.AfterFunc(bufIdle-idle, l.trim)
		return
	}
	clear(l.free)
	l.free = l.free[:0]
}

// tailBudget caps the memory of tails across all files being written:
// a file that finds it used up writes to its staging file, as before tails.
var tailBudget = semaphore.NewWeighted(tailMemory)

// tailMemory is the tail budget: 8 parts of the default 16 MiB (a writer
// ahead of its upload holds UploadConcurrency+2 = 6). Idle buffers kept
// for reuse (bufList, at most 8, let go after bufIdle) are not counted.
const tailMemory = 128 << 20

// newPartMem returns an empty tail for the part at off, or nil when the
// tail budget has no room for it.
func newPartMem(ps, off int64) *partMem {
	if !tailBudget.TryAcquire(ps) {
		return nil
	}
	m := &partMem{off: off, buf: tailBufs.get(ps)}
	m.refs.Store(1)
	return m
}

// writeTailLocked takes p at off into the tail when it continues the
// file's sequential stream, and reports whether it did and how many bytes
// of p are taken (all of them, unless err); when it did not, the caller
// flushes the tail and writes p to the staging file. Called with w.mu
// held.
func (w *wfile) writeTailLocked(ctx context.Context, p []byte, off int64) (int, bool, error) {
	st := w.st.Load()
	if st == nil || len(p) == 0 || st.ps%cache.DirectAlign != 0 || !st.streaming() {
		return 0, false, nil
	}
	taken := 0
	if w.tail == nil {
		if off != w.size.Load() {
			return 0, false, nil
		}
		head := (st.ps - off%st.ps) % st.ps
		if int64(len(p)) <= head {
			return 0, false, nil
		}
		t := newPartMem(st.ps, off+head)
		if t == nil {
			return 0, false, nil // the tail budget is used up: the staging file takes it
		}
		if head > 0 {
			// Appending from inside a part (after a flush): the bytes up
			// to the next part boundary go to the staging file, the tail
			// starts there. No background write covers that part.
			err := w.tailErrLocked()
			if err == nil {
				_, err = w.stageLocked(p[:head], off)
			}
			if err != nil {
				t.release()
				return 0, true, err
			}
			p, taken = p[head:], int(head)
		}
		w.tail = t
	} else if off != w.tail.off+int64(w.tail.n) {
		return 0, false, nil
	}
	for len(p) > 0 {
		t := w.tail
		c := copy((*t.buf)[t.n:st.ps], p)
		t.crc = crc32.Update(t.crc, providers.CRC32CTable, (*t.buf)[t.n:t.n+c]) // while the bytes are in the CPU's cache
		t.n += c
		p = p[c:]
		if int64(t.n) < st.ps {
			taken += c
			continue
		}
		w.tail = nil
		if err := w.sealLocked(ctx, st, t); err != nil {
			return taken, true, err
		}
		taken += c
		if len(p) == 0 {
			break
		}
		if w.tail = newPartMem(st.ps, t.off+st.ps); w.tail == nil {
			// No budget for another tail: the rest goes to the staging
			// file, as any write.
			if _, err := w.stageLocked(p, t.off+st.ps); err != nil {
				return taken, true, err
			}
			taken += len(p)
			break
		}
	}
	return taken, true, nil
}

// sealLocked hands a full tail to the stream and writes it to the staging
// file in the background; when the stream does not take it, the tail is
// written to the staging file here and reported as written, as any write.
func (w *wfile) sealLocked(ctx context.Context, st *streamer, t *partMem) error {
	t.refs.Store(2)
	if st.takeMem(ctx, t) {
		w.tailWG.Add(1)
		go func() {
			defer w.tailWG.Done()
			defer t.release()
			if err := w.writeStaging(t); err != nil {
				w.failTail(err)
			}
		}()
		return nil
	}
	t.refs.Store(1)
	defer t.release()
	if _, err := w.stageLocked(t.bytes(), t.off); err != nil {
		w.failTail(err) // earlier writes into this tail were answered
		return err
	}
	return nil
}

// writeStaging writes a sealed tail to the staging file, with O_DIRECT
// when the file system takes it (a refusal is remembered for the whole FS:
// the later tails of every file go through the page cache at once).
func (w *wfile) writeStaging(t *partMem) error {
	if d := w.direct(); d != nil {
		_, err := d.WriteAt(t.bytes(), t.off)
		if err == nil || !cache.DirectRefused(err) {
			return err
		}
		w.n.fs.stagingNoDirect.Store(true)
	}
	_, err := w.file.WriteAt(t.bytes(), t.off)
	return err
}

// direct returns the staging file opened with O_DIRECT, opening it once;
// nil when the file system refuses it.
func (w *wfile) direct() *os.File {
	if w.n.fs.stagingNoDirect.Load() {
		return nil
	}
	w.dOnce.Do(func() {
		if f, err := os.OpenFile(w.path, os.O_WRONLY|unix.O_DIRECT, 0); err == nil {
			w.dfile = f
		}
	})
	return w.dfile
}

// flushTailLocked makes the staging file hold every byte written: it waits
// for the background writes of sealed tails and writes the partial tail.
// It reports a background write that failed (and keeps reporting it: the
// staging file misses those bytes). Called with w.mu held.
func (w *wfile) flushTailLocked() error {
	w.tailWG.Wait()
	if t := w.tail; t != nil {
		w.tail = nil
		_, err := w.stageLocked(t.bytes(), t.off)
		t.release()
		if err != nil {
			w.failTail(err) // those bytes were answered: the file is broken
			return err
		}
	}
	return w.tailErrLocked()
}

// stageLocked writes p at off to the staging file and tells the stream,
// if any, which bytes changed. Called with w.mu held.
func (w *wfile) stageLocked(p []byte, off int64) (int, error) {
	n, err := w.file.WriteAt(p, off)
	if st := w.st.Load(); st != nil {
		st.wrote(off, int64(n))
	}
	return n, err
}

// failTail records a staging write of answered bytes that failed: every
// later flush (and so publish) reports it, until a truncate to 0.
func (w *wfile) failTail(err error) {
	w.tailMu.Lock()
	w.tailErr = errors.Join(w.tailErr, err)
	w.tailMu.Unlock()
}

func (w *wfile) tailErrLocked() error {
	w.tailMu.Lock()
	defer w.tailMu.Unlock()
	return w.tailErr
}

// resetTailLocked forgets the tail and a failed staging write: the file is
// truncated to 0, so none of those bytes matter any more.
func (w *wfile) resetTailLocked() {
	w.tailWG.Wait()
	if w.tail != nil {
		w.tail.release()
		w.tail = nil
	}
	w.tailMu.Lock()
	w.tailErr = nil
	w.tailMu.Unlock()
}

// dropTailLocked is resetTailLocked, and lets the O_DIRECT descriptor go
// too (the file is being discarded).
func (w *wfile) dropTailLocked() {
	w.resetTailLocked()
	if w.dfile != nil {
		w.dfile.Close()
		w.dfile = nil
	}
}
