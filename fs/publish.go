package fs

import (
	"context"
	"time"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

// publish makes the server (or, in write-back mode, the journal) hold the
// staging file's current contents. It holds w.mu for the whole upload, so
// writes wait and the uploaded bytes are one snapshot. A file unlinked while
// open is never published.
func (w *wfile) publish(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.dirty || w.cancelled.Load() || w.gone {
		return nil
	}
	if err := w.fillLocked(ctx); err != nil { // only an mtime changed
		return err
	}
	if err := w.flushTailLocked(); err != nil {
		w.n.fs.log.Error("staging write failed", "key", w.n.Key(), "err", err)
		return err
	}
	n := w.n
	f := n.fs
	n.mu.Lock()
	key := n.Key()
	mtime := w.mtime
	created := n.attr.Mtime
	n.mu.Unlock()
	if mtime.IsZero() {
		mtime = w.lastWrite
	}
	if mtime.IsZero() {
		mtime = created
	}
	if mtime.IsZero() {
		mtime = time.Now()
	}
	size := w.size.Load()
	if f.opts.WriteBack {
		if err := f.wb.stage(ctx, n, w, key, size, mtime); err != nil {
			f.log.Error("write-back staging failed", "key", key, "err", err)
			return err
		}
		w.dirty = false
		return nil
	}
	uctx, done := w.uploadCtx(ctx)
	defer done()
	var (
		info     providers.ObjectInfo
		err      error
		streamed bool
	)
	if st := w.st.Load(); st != nil && !st.Idle() {
		info, streamed, err = st.Finish(uctx, size)
		if err == nil {
			// Completed, or given up: either way the next publish uploads
			// the staging file.
			w.st.Store(nil)
			if streamed {
				mtime = st.Mtime()
			}
		}
	}
	if err == nil && !streamed {
		info, err = f.upload(uctx, key, w.file, size, mtime)
	}
	if err != nil {
		if w.cancelled.Load() {
			return nil
		}
		f.log.Error("upload failed", "key", key, "size", size, "err", err)
		return err
	}
	w.dirty = false
	n.mu.Lock()
	if !n.removed {
		n.setRemoteLocked(info, time.Now())
		n.attr.Mtime = mtime
		n.openVer = ""
	}
	n.mu.Unlock()
	f.added(parentKey(key), n)
	return nil
}

// upload stores size bytes of r as key with mtime metadata: one Put, or a
// multipart upload for large files (transfer.Uploader decides).
func (f *FS) upload(ctx context.Context, key string, r interface {
	ReadAt([]byte, int64) (int, error)
}, size int64, mtime time.Time) (providers.ObjectInfo, error) {
	if err := f.checkKey(key); err != nil {
		return providers.ObjectInfo{}, err
	}
	put := providers.PutOptions{Metadata: map[string]string{providers.MetaMtime: providers.FormatMtime(mtime)}}
	info, err := f.up.UploadFile(ctx, key, r, size, transfer.SourceFingerprint{}, put)
	if err != nil {
		return info, err
	}
	if info.Metadata == nil {
		info.Metadata = put.Metadata
	}
	return info, nil
}
