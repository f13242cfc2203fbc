package sync

import (
	"context"
	"fmt"
	"io"

	"golang.org/x/sync/semaphore"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/wrap"
	"github.com/byobfs/byob/transfer"
)

// TransferMover is the Mover the CLI uses, the transfer engine behind
// sync: objects of at least one part go through the concurrent multipart
// Uploader (resumable through the journal) and the parallel ranged
// Downloader; smaller ones are one request each (StoreMover), which also
// checks a local source before its last byte is sent.
//
// The stores it is handed already retry every call (wrap.Stack), so the
// Uploader and Downloader try each call once on top of them.
//
// Streams: sync runs up to --transfers files at once, and a small file is
// one request at a time, but a large one has Concurrency parts in flight.
// Streams, when set, bounds the requests in flight across files: a large
// file takes Concurrency units of it for its whole transfer (a small file
// none: the file limit bounds those), so many small files keep --transfers
// requests busy while large files never open more than --transfers streams
// (nor hold more than that many part and copy buffers).
type TransferMover struct {
	o       TransferMoverOptions
	small   StoreMover
	streams *semaphore.Weighted // nil: no bound
}

// TransferMoverOptions configure a TransferMover.
type TransferMoverOptions struct {
	// PartSize is the multipart part size, and the size from which an
	// object goes through the uploader or downloader (0: the transfer
	// engine's default).
	PartSize int64
	// Concurrency is the parts (or ranges) of one large object in flight.
	Concurrency int
	// Streams bounds the requests in flight across files (0: no bound).
	Streams int
	// Journal, when set, makes large uploads resumable (the sync index).
	Journal transfer.Journal
	// SpillDir holds the spill files of streamed parts.
	SpillDir string
	// StoreID names a destination store in the journal.
	StoreID func(providers.Store) string
	// Retry retries a small object's whole Put, its source range included
	// (its reader cannot seek, so the store does not retry it).
	Retry wrap.RetryPolicy
}

// NewTransferMover returns a TransferMover.
func NewTransferMover(o TransferMoverOptions) *TransferMover {
	o.Concurrency = max(o.Concurrency, 1)
	m := &TransferMover{o: o}
	if o.Streams > 0 {
		m.streams = semaphore.NewWeighted(int64(o.Streams))
	}
	return m
}

// large takes the streams of one large transfer; release gives them back.
func (m *TransferMover) large(ctx context.Context) (release func(), err error) {
	if m.streams == nil {
		return func() {}, nil
	}
	n := min(int64(m.o.Concurrency), int64(m.o.Streams))
	if err := m.streams.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return func() { m.streams.Release(n) }, nil
}

var _ Mover = (*TransferMover)(nil)

func (m *TransferMover) threshold() int64 {
	if m.o.PartSize > 0 {
		return m.o.PartSize
	}
	return transfer.DefaultPartSize
}

func (m *TransferMover) Upload(ctx context.Context, dst providers.Store, key string, src UploadSource, opts providers.PutOptions) (providers.ObjectInfo, error) {
	if src.Size() < m.threshold() {
		// One Put; the store does not retry it (its reader is not a
		// Seeker), so the whole Put, source range included, is retried here.
		var info providers.ObjectInfo
		err := wrap.Do(ctx, m.o.Retry, func(ctx context.Context) error {
			var err error
			info, err = m.small.Upload(ctx, dst, key, src, opts)
			return err
		})
		return info, err
	}
	release, err := m.large(ctx)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	defer release()
	u := transfer.NewUploader(dst, transfer.Options{
		PartSize: m.o.PartSize, Concurrency: m.o.Concurrency,
		Journal: m.o.Journal, SpillDir: m.o.SpillDir, StoreID: m.o.StoreID(dst),
	})
	fp := src.Fingerprint()
	var info providers.ObjectInfo
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

func (m *TransferMover) Download(ctx context.Context, src providers.Store, key, version string, size int64, w io.WriterAt) (providers.ObjectInfo, error) {
	if size < m.threshold() {
		return m.small.Download(ctx, src, key, version, size, w)
	}
	release, err := m.large(ctx)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	defer release()
	d := transfer.NewDownloader(src, transfer.DownloadOptions{PartSize: m.o.PartSize, Concurrency: m.o.Concurrency})
	info, err := d.Download(ctx, key, w)
	if err != nil {
		return info, err
	}
	if version != "" && info.Version != version {
		return info, fmt.Errorf("%q changed since it was listed: %w", key, providers.ErrPrecondition)
	}
	return info, nil
}

func (m *TransferMover) Copy(ctx context.Context, s providers.Store, srcKey, dstKey string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	return m.small.Copy(ctx, s, srcKey, dstKey, opts)
}

// sourceReaderAt reads a local UploadSource at offsets (its ranges are
// cheap section readers over one open file).
type sourceReaderAt struct {
	ctx context.Context
	src UploadSource
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
