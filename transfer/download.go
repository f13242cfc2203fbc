package transfer

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/byobfs/byob/providers"
)

// DownloadOptions configure a Downloader. Zero fields take the defaults.
type DownloadOptions struct {
	// PartSize is the size of each ranged Get (default 16 MiB).
	PartSize int64
	// Concurrency is the number of ranges in flight (default 4).
	Concurrency int
}

// DefaultDownloadOptions returns 16 MiB ranges, 4 in flight.
func DefaultDownloadOptions() DownloadOptions {
	return DownloadOptions{PartSize: DefaultPartSize, Concurrency: 4}
}

// Downloader reads objects of one store with parallel ranged Gets. It is
// safe for concurrent use.
type Downloader struct {
	st providers.Store
	o  DownloadOptions // immutable
}

// NewDownloader returns a Downloader reading from st, which retries its
// calls itself (wrap.Stack): a range whose body breaks is resumed by it.
func NewDownloader(st providers.Store, o DownloadOptions) *Downloader {
	d := DefaultDownloadOptions()
	if o.PartSize <= 0 {
		o.PartSize = d.PartSize
	}
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	return &Downloader{st: st, o: o}
}

// ErrChanged is wrapped (with providers.ErrPrecondition) by the error of a
// download whose object changed while it was read.
var ErrChanged = errors.New("object changed during the transfer")

// Download writes the object key to w and returns the attributes it had
// when the download started. Every range is conditional on that Version; a
// change fails the download with an error wrapping providers.ErrPrecondition
// and ErrChanged. Bytes already written to w are then not of one version:
// callers write to a temporary file and rename it on success.
func (d *Downloader) Download(ctx context.Context, key string, w io.WriterAt) (providers.ObjectInfo, error) {
	info, err := d.st.Stat(ctx, key)
	if err != nil {
		return info, err
	}
	size := info.Size
	count := int(ceilDiv(size, d.o.PartSize))
	crcs := make([]uint32, count)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.o.Concurrency)
	bufs := sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}
	for i := 0; i < count; i++ {
		if gctx.Err() != nil {
			break
		}
		off := int64(i) * d.o.PartSize
		n := min(d.o.PartSize, size-off)
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err // another range failed while this one waited for a slot
			}
			bp := bufs.Get().(*[]byte)
			defer bufs.Put(bp)
			crc, err := d.fetch(gctx, key, info.Version, off, n, w, *bp)
			crcs[i] = crc
			return err
		})
	}
	if err := g.Wait(); err != nil {
		if errors.Is(err, providers.ErrPrecondition) {
			return info, fmt.Errorf("transfer: download of %q: %w: %w", key, ErrChanged, err)
		}
		return info, err
	}
	if err := ctx.Err(); err != nil {
		return info, err
	}
	var whole uint32
	for i, c := range crcs {
		if i == 0 {
			whole = c
		} else {
			whole = providers.CombineCRC32C(whole, c, min(d.o.PartSize, size-int64(i)*d.o.PartSize))
		}
	}
	got := providers.CRC32C(whole)
	for _, c := range info.Checksums {
		if c.Algorithm == providers.ChecksumCRC32C && !c.Equal(got) {
			return info, providers.NewOpError("download", key, providers.ErrChecksum,
				fmt.Errorf("read CRC32C %s, the store reports %s", got, c))
		}
	}
	return withCRC(info, got), nil
}

// fetch copies n bytes from off, conditional on version, to w at off, and
// returns their CRC32C.
func (d *Downloader) fetch(ctx context.Context, key, version string, off, n int64, w io.WriterAt, buf []byte) (uint32, error) {
	rc, _, err := d.st.Get(ctx, key, off, n, providers.GetOptions{IfMatch: version})
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	crc := crc32.New(providers.CRC32CTable)
	ow := io.NewOffsetWriter(w, off)
	got, err := io.CopyBuffer(io.MultiWriter(ow, crc), io.LimitReader(rc, n), buf)
	if err != nil {
		return 0, err
	}
	if got != n {
		return 0, providers.NewOpError("get", key, providers.ErrSizeMismatch, fmt.Errorf("range at %d: %d bytes, want %d", off, got, n))
	}
	return crc.Sum32(), nil
}
