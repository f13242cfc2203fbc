package sync

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

// Mover moves the bytes of one object. The lead backs it with
// providers/transfer's Uploader (multipart, resume journal) and Downloader
// (parallel ranged reads); StoreMover is the plain default.
type Mover interface {
	// Upload stores src as key in dst with opts (metadata includes "mtime").
	// It must read every byte of src before committing the object and call
	// src.Verify after the last read and before the commit: an error from
	// Verify (ErrSourceChanged) must fail the upload with nothing stored.
	Upload(ctx context.Context, dst providers.Store, key string, src UploadSource, opts providers.PutOptions) (providers.ObjectInfo, error)
	// Download writes the whole object key, which must still have Version
	// version (when not ""), to w from offset 0, and returns the object's
	// info with its user metadata.
	Download(ctx context.Context, src providers.Store, key, version string, size int64, w io.WriterAt) (providers.ObjectInfo, error)
	// Copy copies srcKey to dstKey inside one store, server-side.
	Copy(ctx context.Context, s providers.Store, srcKey, dstKey string, opts providers.CopyOptions) (providers.ObjectInfo, error)
}

// UploadSource is the bytes an upload reads: a local file or another
// store's object.
type UploadSource interface {
	// Size is the number of bytes to upload.
	Size() int64
	// Fingerprint identifies the bytes (for a resume journal).
	Fingerprint() transfer.SourceFingerprint
	// OpenRange returns n bytes from off. Ranges may be read concurrently.
	OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error)
	// Verify reports ErrSourceChanged when the source no longer matches its
	// fingerprint (a local file written to while it was read).
	Verify(ctx context.Context) error
}

// StoreMover moves bytes with single Store.Put, Get and Copy calls.
type StoreMover struct{}

var _ Mover = StoreMover{}

// Upload puts src in one request. The reader it hands Put checks the source
// before it delivers the last bytes, so a changed file is never committed.
func (StoreMover) Upload(ctx context.Context, dst providers.Store, key string, src UploadSource, opts providers.PutOptions) (providers.ObjectInfo, error) {
	r, err := src.OpenRange(ctx, 0, src.Size())
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	defer r.Close()
	return dst.Put(ctx, key, &verifyingReader{ctx: ctx, r: r, src: src, left: src.Size()}, src.Size(), opts)
}

// Download reads the object in one Get.
func (StoreMover) Download(ctx context.Context, src providers.Store, key, version string, size int64, w io.WriterAt) (providers.ObjectInfo, error) {
	rc, info, err := src.Get(ctx, key, 0, -1, providers.GetOptions{IfMatch: version})
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	defer rc.Close()
	n, err := io.Copy(io.NewOffsetWriter(w, 0), rc)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	if n != info.Size {
		return providers.ObjectInfo{}, fmt.Errorf("%w: got %d of %d bytes", providers.ErrSizeMismatch, n, info.Size)
	}
	return info, nil
}

// Copy forwards to the store.
func (StoreMover) Copy(ctx context.Context, s providers.Store, srcKey, dstKey string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	return s.Copy(ctx, srcKey, dstKey, opts)
}

// verifyingReader reads exactly left bytes and calls Verify before it
// returns the last of them; a source that ends early is ErrSourceChanged.
type verifyingReader struct {
	ctx  context.Context
	r    io.Reader
	src  UploadSource
	left int64
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > v.left {
		p = p[:v.left]
	}
	n, err := v.r.Read(p)
	v.left -= int64(n)
	if v.left == 0 {
		if verr := v.src.Verify(v.ctx); verr != nil {
			return 0, verr
		}
		return n, nil
	}
	if err == io.EOF {
		return n, fmt.Errorf("%w: ended %d bytes early", ErrSourceChanged, v.left)
	}
	return n, err
}

// localSource is a local file opened for upload.
type localSource struct {
	f  *os.File
	fp transfer.SourceFingerprint
}

var _ UploadSource = (*localSource)(nil)

func openLocalSource(path string) (*localSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return &localSource{f: f, fp: transfer.SourceFingerprint{
		Path: path, Size: fi.Size(), ModTime: fi.ModTime(), Inode: idOf(fi).ino}}, nil
}

func (l *localSource) Size() int64                             { return l.fp.Size }
func (l *localSource) Fingerprint() transfer.SourceFingerprint { return l.fp }
func (l *localSource) Close() error                            { return l.f.Close() }

func (l *localSource) OpenRange(_ context.Context, off, n int64) (io.ReadCloser, error) {
	return io.NopCloser(io.NewSectionReader(l.f, off, n)), nil
}

// Verify re-reads the open file's size and mtime.
func (l *localSource) Verify(context.Context) error {
	fi, err := l.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != l.fp.Size || !fi.ModTime().Equal(l.fp.ModTime) {
		return fmt.Errorf("%w: %s: size %d -> %d, mtime %s -> %s", ErrSourceChanged, l.fp.Path,
			l.fp.Size, fi.Size(), l.fp.ModTime.Format(time.RFC3339Nano), fi.ModTime().Format(time.RFC3339Nano))
	}
	return nil
}

// remoteSource is an object of another store, read with conditional
// ranged Gets so every range comes from one Version.
type remoteSource struct {
	store providers.Store
	info  providers.ObjectInfo
}

var _ UploadSource = (*remoteSource)(nil)

func (r *remoteSource) Size() int64 { return r.info.Size }
func (r *remoteSource) Fingerprint() transfer.SourceFingerprint {
	return transfer.SourceFingerprint{Size: r.info.Size, ModTime: r.info.Mtime(), Version: r.info.Version}
}
func (r *remoteSource) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	if n == 0 {
		return io.NopCloser(eofReader{}), nil
	}
	rc, _, err := r.store.Get(ctx, r.info.Key, off, n, providers.GetOptions{IfMatch: r.info.Version})
	return rc, err
}
func (r *remoteSource) Verify(context.Context) error { return nil }

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
