package wrap

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/byobfs/byob/providers"
)

// Operation names an Observer is told.
const (
	OpStat            = "stat"
	OpList            = "list"
	OpGet             = "get"
	OpPut             = "put"
	OpDelete          = "delete"
	OpCopy            = "copy"
	OpCreateMultipart = "create-multipart"
	OpResumeMultipart = "resume-multipart"
	OpUploadPart      = "upload-part"
	OpListParts       = "list-parts"
	OpComplete        = "complete-multipart"
	OpAbort           = "abort-multipart"
)

// Observer learns of every call a counted store makes. Under Stack it sits
// below Retrying, so each attempt is one call. It must be safe for
// concurrent use.
type Observer interface {
	// Call reports one call: its operation (Op*), how long it took, and
	// its error (nil on success; a listing stopped by its own callback is
	// a success).
	Call(op string, d time.Duration, err error)
	// Bytes reports bytes read from the store (in) or written to it (out).
	Bytes(in, out int64)
}

// Count returns st with every call reported to o. It implements
// providers.Multiparter exactly when st does.
func Count(st providers.Store, o Observer) providers.Store {
	c := &counted{inner: st, o: o}
	if mp, ok := st.(providers.Multiparter); ok {
		return &countedMP{counted: c, mp: mp}
	}
	return c
}

type counted struct {
	inner providers.Store
	o     Observer
}

type countedMP struct {
	*counted
	mp providers.Multiparter
}

var (
	_ providers.Store       = (*counted)(nil)
	_ providers.Multiparter = (*countedMP)(nil)
	_ providers.Upload      = (*countedUpload)(nil)
)

// Unwrap returns the decorated store.
func (c *counted) Unwrap() providers.Store { return c.inner }

func (c *counted) Capabilities() providers.Capabilities { return c.inner.Capabilities() }

func (c *counted) Close() error {
	if cl, ok := c.inner.(providers.Closer); ok {
		return cl.Close()
	}
	return nil
}

func (c *counted) done(op string, start time.Time, err error) { c.o.Call(op, time.Since(start), err) }

func (c *counted) Stat(ctx context.Context, key string) (providers.ObjectInfo, error) {
	start := time.Now()
	i, err := c.inner.Stat(ctx, key)
	c.done(OpStat, start, err)
	return i, err
}

func (c *counted) List(ctx context.Context, o providers.ListOptions, fn func(providers.Entry) error) error {
	start := time.Now()
	var stopped error // the callback's own error ends the listing: not a failure
	err := c.inner.List(ctx, o, func(e providers.Entry) error {
		if err := fn(e); err != nil {
			stopped = err
			return err
		}
		return nil
	})
	if stopped != nil && errors.Is(err, stopped) {
		c.done(OpList, start, nil)
	} else {
		c.done(OpList, start, err)
	}
	return err
}

func (c *counted) Get(ctx context.Context, key string, off, n int64, o providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	start := time.Now()
	rc, i, err := c.inner.Get(ctx, key, off, n, o)
	c.done(OpGet, start, err)
	if err != nil {
		return rc, i, err
	}
	return &countedBody{ReadCloser: rc, o: c.o}, i, nil
}

func (c *counted) Put(ctx context.Context, key string, r io.Reader, size int64, o providers.PutOptions) (providers.ObjectInfo, error) {
	start := time.Now()
	i, err := c.inner.Put(ctx, key, r, size, o)
	c.done(OpPut, start, err)
	if err == nil {
		c.o.Bytes(0, size)
	}
	return i, err
}

func (c *counted) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := c.inner.Delete(ctx, key)
	c.done(OpDelete, start, err)
	return err
}

func (c *counted) Copy(ctx context.Context, src, dst string, o providers.CopyOptions) (providers.ObjectInfo, error) {
	start := time.Now()
	i, err := c.inner.Copy(ctx, src, dst, o)
	c.done(OpCopy, start, err)
	return i, err
}

// countedBody reports the bytes read from a Get's body.
type countedBody struct {
	io.ReadCloser
	o Observer
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.o.Bytes(int64(n), 0)
	}
	return n, err
}

func (c *countedMP) CreateMultipart(ctx context.Context, key string, o providers.PutOptions) (providers.Upload, error) {
	start := time.Now()
	u, err := c.mp.CreateMultipart(ctx, key, o)
	c.done(OpCreateMultipart, start, err)
	if err != nil {
		return u, err
	}
	return &countedUpload{Upload: u, c: c.counted}, nil
}

func (c *countedMP) ResumeMultipart(ctx context.Context, key, id string) (providers.Upload, error) {
	start := time.Now()
	u, err := c.mp.ResumeMultipart(ctx, key, id)
	c.done(OpResumeMultipart, start, err)
	if err != nil {
		return u, err
	}
	return &countedUpload{Upload: u, c: c.counted}, nil
}

type countedUpload struct {
	providers.Upload
	c *counted
}

func (u *countedUpload) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, o providers.PartOptions) (providers.Part, error) {
	start := time.Now()
	p, err := u.Upload.UploadPart(ctx, n, r, size, o)
	u.c.done(OpUploadPart, start, err)
	if err == nil {
		u.c.o.Bytes(0, size)
	}
	return p, err
}

func (u *countedUpload) ListParts(ctx context.Context) ([]providers.Part, error) {
	start := time.Now()
	p, err := u.Upload.ListParts(ctx)
	u.c.done(OpListParts, start, err)
	return p, err
}

func (u *countedUpload) Complete(ctx context.Context, parts []providers.Part, o providers.CompleteOptions) (providers.ObjectInfo, error) {
	start := time.Now()
	i, err := u.Upload.Complete(ctx, parts, o)
	u.c.done(OpComplete, start, err)
	return i, err
}

func (u *countedUpload) Abort(ctx context.Context) error {
	start := time.Now()
	err := u.Upload.Abort(ctx)
	u.c.done(OpAbort, start, err)
	return err
}
