package main

import (
	"context"
	"fmt"
	"io"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/transfer"
	bsync "github.com/byobfs/byob/sync"
)

// transferMover backs sync's Mover with the transfer engine: objects of at
// least one part go through the concurrent multipart Uploader (resumable
// through the journal) and the parallel ranged Downloader; smaller ones are
// one request each (sync.StoreMover), which also checks a local source
// before its last byte is sent.
//
// The stores it is handed already retry every call (transfer's retrying
// Store), so the Uploader and Downloader try each call once on top of them.
type transferMover struct {
	partSize    int64
	concurrency int
	journal     transfer.Journal
	spillDir    string
	small       bsync.StoreMover
	storeID     func(providers.Store) string
	retry       transfer.RetryPolicy
}

var _ bsync.Mover = (*transferMover)(nil)

func (m *transferMover) threshold() int64 {
	if m.partSize > 0 {
		return m.partSize
	}
	return transfer.DefaultPartSize
}

func (m *transferMover) Upload(ctx context.Context, dst providers.Store, key string, src bsync.UploadSource, opts providers.PutOptions) (providers.ObjectInfo, error) {
	if src.Size() < m.threshold() {
		// One Put; the store does not retry it (its reader is not a
		// Seeker), so the whole Put, source range included, is retried here.
		var info providers.ObjectInfo
		err := transfer.Do(ctx, m.retry, func(ctx context.Context) error {
			var err error
			info, err = m.small.Upload(ctx, dst, key, src, opts)
			return err
		})
		return info, err
	}
	u := transfer.NewUploader(dst, transfer.Options{
		PartSize: m.partSize, Concurrency: m.concurrency, Retry: transfer.RetryPolicy{MaxAttempts: 1},
		Journal: m.journal, SpillDir: m.spillDir, StoreID: m.storeID(dst),
	})
	fp := src.Fingerprint()
	var info providers.ObjectInfo
	var err error
	if fp.Path != "" {
		// A local file: parts are read concurrently straight from it.
		info, err = u.UploadFile(ctx, key, &sourceReaderAt{ctx: ctx, src: src}, src.Size(), fp, opts)
	} else {
		// Another store's object: one streamed read, parts cut from it.
		var rc io.ReadCloser
		rc, err = src.OpenRange(ctx, 0, src.Size())
		if err != nil {
			return providers.ObjectInfo{}, err
		}
		info, err = u.UploadStream(ctx, key, io.LimitReader(rc, src.Size()), opts)
		rc.Close()
	}
	if err != nil {
		return info, err
	}
	if info.Size != src.Size() {
		return info, fmt.Errorf("uploaded %d bytes, expected %d: %w", info.Size, src.Size(), providers.ErrSizeMismatch)
	}
	// A source changed while it was read is reported so sync retries it.
	return info, src.Verify(ctx)
}

func (m *transferMover) Download(ctx context.Context, src providers.Store, key, version string, size int64, w io.WriterAt) (providers.ObjectInfo, error) {
	if size < m.threshold() {
		return m.small.Download(ctx, src, key, version, size, w)
	}
	d := transfer.NewDownloader(src, transfer.DownloadOptions{PartSize: m.partSize, Concurrency: m.concurrency, Retry: transfer.RetryPolicy{MaxAttempts: 1}})
	info, err := d.Download(ctx, key, w)
	if err != nil {
		return info, err
	}
	if version != "" && info.Version != version {
		return info, fmt.Errorf("%q changed since it was listed: %w", key, providers.ErrPrecondition)
	}
	return info, nil
}

func (m *transferMover) Copy(ctx context.Context, s providers.Store, srcKey, dstKey string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	return m.small.Copy(ctx, s, srcKey, dstKey, opts)
}

// sourceReaderAt reads a local UploadSource at offsets (its ranges are
// cheap section readers over one open file).
type sourceReaderAt struct {
	ctx context.Context
	src bsync.UploadSource
}

func (r *sourceReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.src.Size() {
		return 0, io.EOF
	}
	n := int64(len(p))
	if off+n > r.src.Size() {
		n = r.src.Size() - off
	}
	rc, err := r.src.OpenRange(r.ctx, off, n)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	got, err := io.ReadFull(rc, p[:n])
	if err == nil && int64(got) < int64(len(p)) {
		err = io.EOF
	}
	return got, err
}
