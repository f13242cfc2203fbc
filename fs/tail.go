package fs

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/transfer"
)

// The tail: a streamed file's sequential writes are copied into a
// part-sized memory buffer (the tail, a transfer.PartBuffer of the live
// upload) and answered at once. When the tail
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
// mountpoint-s3 make writers wait. All tails together stay within the
// uploader's LiveMemory; beyond it, writes go to the staging file.

// writeTailLocked takes p at off into the tail when it continues the
// file's sequential stream, and reports whether it did and how many bytes
// of p are taken (all of them, unless err); when it did not, the caller
// flushes the tail and writes p to the staging file. Called with w.mu
// held.
func (w *wfile) writeTailLocked(ctx context.Context, p []byte, off int64) (int, bool, error) {
	st := w.st.Load()
	if st == nil || len(p) == 0 || st.PartSize()%transfer.DirectAlign != 0 || !st.Following() {
		return 0, false, nil
	}
	ps := st.PartSize()
	taken := 0
	if w.tail == nil {
		if off != w.size.Load() {
			return 0, false, nil
		}
		head := (ps - off%ps) % ps
		if int64(len(p)) <= head {
			return 0, false, nil
		}
		t := st.Buffer(off + head)
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
				t.Release()
				return 0, true, err
			}
			p, taken = p[head:], int(head)
		}
		w.tail = t
	} else if off != w.tail.Off()+int64(w.tail.Len()) {
		return 0, false, nil
	}
	for len(p) > 0 {
		t := w.tail
		c := t.Write(p)
		p = p[c:]
		if !t.Full() {
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
		if w.tail = st.Buffer(t.Off() + ps); w.tail == nil {
			// No budget for another tail: the rest goes to the staging
			// file, as any write.
			if _, err := w.stageLocked(p, t.Off()+ps); err != nil {
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
func (w *wfile) sealLocked(ctx context.Context, st *transfer.Live, t *transfer.PartBuffer) error {
	t.Retain() // the staging write's hold
	if st.Take(ctx, t) {
		w.tailWG.Add(1)
		go func() {
			defer w.tailWG.Done()
			defer t.Release()
			if err := w.writeStaging(t); err != nil {
				w.failTail(err)
			}
		}()
		return nil
	}
	t.Release() // (the upload did not take its hold)
	defer t.Release()
	if _, err := w.stageLocked(t.Bytes(), t.Off()); err != nil {
		w.failTail(err) // earlier writes into this tail were answered
		return err
	}
	return nil
}

// writeStaging writes a sealed tail to the staging file, with O_DIRECT
// when the file system takes it (a refusal is remembered for the whole FS:
// the later tails of every file go through the page cache at once).
func (w *wfile) writeStaging(t *transfer.PartBuffer) error {
	if d := w.direct(); d != nil {
		_, err := d.WriteAt(t.Bytes(), t.Off())
		if err == nil || !cache.DirectRefused(err) {
			return err
		}
		w.n.fs.stagingNoDirect.Store(true)
	}
	_, err := w.file.WriteAt(t.Bytes(), t.Off())
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
		_, err := w.stageLocked(t.Bytes(), t.Off())
		t.Release()
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
		st.Wrote(off, int64(n))
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
		w.tail.Release()
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
