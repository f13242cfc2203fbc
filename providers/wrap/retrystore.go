package wrap

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/byobfs/byob/providers"
)

// retryingStore is the decorator Retrying returns for a store
// without Multiparter. It holds no mutable state.
type retryingStore struct {
	inner providers.Store
	p     RetryPolicy
}

// retryingMultipartStore adds the retried Multiparter of an inner store
// that has one.
type retryingMultipartStore struct {
	*retryingStore
	mp providers.Multiparter
}

var (
	_ providers.Store       = (*retryingStore)(nil)
	_ providers.Closer      = (*retryingStore)(nil)
	_ providers.Store       = (*retryingMultipartStore)(nil)
	_ providers.Multiparter = (*retryingMultipartStore)(nil)
	_ providers.Upload      = (*retryingUpload)(nil)
)

// Retrying returns st with every call retried under p, as the
// package doc describes. The result implements providers.Multiparter exactly
// when st does, and providers.Closer always (a no-op when st is not one).
func Retrying(st providers.Store, p RetryPolicy) providers.Store {
	rs := &retryingStore{inner: st, p: p}
	if mp, ok := st.(providers.Multiparter); ok {
		return &retryingMultipartStore{retryingStore: rs, mp: mp}
	}
	return rs
}

// Unwrap returns the decorated store.
func (s *retryingStore) Unwrap() providers.Store { return s.inner }

func (s *retryingStore) Capabilities() providers.Capabilities { return s.inner.Capabilities() }

func (s *retryingStore) Close() error {
	if c, ok := s.inner.(providers.Closer); ok {
		return c.Close()
	}
	return nil
}

func (s *retryingStore) Stat(ctx context.Context, key string) (providers.ObjectInfo, error) {
	var info providers.ObjectInfo
	err := Do(ctx, s.p, func(ctx context.Context) error {
		var err error
		info, err = s.inner.Stat(ctx, key)
		return err
	})
	return info, err
}

func (s *retryingStore) Delete(ctx context.Context, key string) error {
	return Do(ctx, s.p, func(ctx context.Context) error { return s.inner.Delete(ctx, key) })
}

func (s *retryingStore) Copy(ctx context.Context, src, dst string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	var info providers.ObjectInfo
	err := Do(ctx, s.p, func(ctx context.Context) error {
		var err error
		info, err = s.inner.Copy(ctx, src, dst, opts)
		return err
	})
	return info, err
}

// Put retries only when r can be rewound to where it stands now.
func (s *retryingStore) Put(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	sk, ok := r.(io.Seeker)
	if !ok {
		return s.inner.Put(ctx, key, r, size, opts)
	}
	start, err := sk.Seek(0, io.SeekCurrent)
	if err != nil {
		return s.inner.Put(ctx, key, r, size, opts)
	}
	var info providers.ObjectInfo
	first := true
	err = Do(ctx, s.p, func(ctx context.Context) error {
		if !first {
			if _, err := sk.Seek(start, io.SeekStart); err != nil {
				return &permanentError{providers.NewOpError("put", key, nil, fmt.Errorf("rewinding the reader: %w", err))}
			}
		}
		first = false
		var err error
		info, err = s.inner.Put(ctx, key, r, size, opts)
		return err
	})
	return info, unwrapPermanent(err)
}

// List resumes after the last key delivered and never delivers a key twice.
func (s *retryingStore) List(ctx context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	last, delivered := opts.StartAfter, false
	var fnErr error
	err := doProgress(ctx, s.p, func(ctx context.Context) (bool, error) {
		o := opts
		if delivered && last > o.StartAfter {
			o.StartAfter = last
		}
		progress := false
		err := s.inner.List(ctx, o, func(e providers.Entry) error {
			if delivered && e.Key <= last {
				return nil // a common prefix StartAfter cannot exclude
			}
			if err := fn(e); err != nil {
				fnErr = err
				return &permanentError{err}
			}
			last, delivered, progress = e.Key, true, true
			return nil
		})
		return progress, err
	})
	if fnErr != nil {
		return fnErr
	}
	return unwrapPermanent(err)
}

func unwrapPermanent(err error) error {
	var pe *permanentError
	if errors.As(err, &pe) && err == error(pe) {
		return pe.err
	}
	return err
}

// Get retries opening and returns a body that resumes after a cut.
func (s *retryingStore) Get(ctx context.Context, key string, off, length int64, opts providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	var (
		rc   io.ReadCloser
		info providers.ObjectInfo
	)
	err := Do(ctx, s.p, func(ctx context.Context) error {
		var err error
		rc, info, err = s.inner.Get(ctx, key, off, length, opts)
		return err
	})
	if err != nil {
		return nil, info, err
	}
	pin := opts.IfMatch
	if pin == "" {
		pin = info.Version
	}
	// The body ends at the object's size (info.Size is the whole object's)
	// or at off+length when that is sooner.
	end := info.Size
	if length >= 0 && off+length < end {
		end = off + length
	}
	return &resumingBody{ctx: ctx, s: s, key: key, pin: pin, pos: off, end: end, rc: rc}, info, nil
}

// resumingBody is a Get body that reopens the object at the first byte not
// yet delivered when the stream breaks. It is read by one goroutine.
type resumingBody struct {
	ctx   context.Context // the Get's context, for the life of the body
	s     *retryingStore
	key   string
	pin   string // Version every reopening is conditional on
	pos   int64  // offset of the next byte to deliver
	end   int64  // offset the body ends at; -1 when unknown
	rc    io.ReadCloser
	fails int // consecutive failures without a byte delivered
	err   error
}

func (b *resumingBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	for {
		if b.rc == nil {
			if err := b.reopen(); err != nil {
				b.err = err
				return 0, err
			}
			if b.rc == nil { // nothing left to read
				b.err = io.EOF
				return 0, io.EOF
			}
		}
		n, err := b.rc.Read(p)
		b.pos += int64(n)
		if n > 0 {
			b.fails = 0
		}
		switch {
		case err == nil:
			return n, nil
		case errors.Is(err, io.EOF) && (b.end < 0 || b.pos >= b.end):
			b.err = io.EOF
			return n, io.EOF
		case errors.Is(err, io.EOF):
			err = providers.NewOpError("get", b.key, providers.ErrUnavailable,
				fmt.Errorf("%w: body ended at offset %d, expected %d", io.ErrUnexpectedEOF, b.pos, b.end))
		}
		// The stream broke: deliver what we have, then decide.
		_ = b.rc.Close()
		b.rc = nil
		b.fails++
		if b.pin == "" {
			err = fmt.Errorf("cannot resume a read of an object without a version: %w", err)
			b.err = err
		} else if rerr := b.s.p.retry(b.ctx, b.fails, err); rerr != nil {
			b.err = rerr
		}
		if n > 0 || b.err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, b.err
		}
	}
}

// reopen opens the rest of the object, conditional on the pinned version,
// retrying under the policy.
func (b *resumingBody) reopen() error {
	if b.end >= 0 && b.pos >= b.end {
		return nil
	}
	length := int64(-1)
	if b.end >= 0 {
		length = b.end - b.pos
	}
	for {
		rc, _, err := b.s.inner.Get(b.ctx, b.key, b.pos, length, providers.GetOptions{IfMatch: b.pin})
		if err == nil {
			b.rc = rc
			return nil
		}
		if errors.Is(err, providers.ErrPrecondition) {
			return fmt.Errorf("%q changed while it was read: %w", b.key, err)
		}
		b.fails++
		if rerr := b.s.p.retry(b.ctx, b.fails, err); rerr != nil {
			return rerr
		}
	}
}

func (b *resumingBody) Close() error {
	if b.rc != nil {
		err := b.rc.Close()
		b.rc = nil
		return err
	}
	return nil
}

// Multiparter.

func (s *retryingMultipartStore) CreateMultipart(ctx context.Context, key string, opts providers.PutOptions) (providers.Upload, error) {
	var u providers.Upload
	err := Do(ctx, s.p, func(ctx context.Context) error {
		var err error
		u, err = s.mp.CreateMultipart(ctx, key, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &retryingUpload{s: s.retryingStore, u: u}, nil
}

func (s *retryingMultipartStore) ResumeMultipart(ctx context.Context, key, uploadID string) (providers.Upload, error) {
	var u providers.Upload
	err := Do(ctx, s.p, func(ctx context.Context) error {
		var err error
		u, err = s.mp.ResumeMultipart(ctx, key, uploadID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &retryingUpload{s: s.retryingStore, u: u}, nil
}

// retryingUpload retries every call of an inner Upload.
type retryingUpload struct {
	s *retryingStore
	u providers.Upload
}

func (u *retryingUpload) ID() string  { return u.u.ID() }
func (u *retryingUpload) Key() string { return u.u.Key() }

func (u *retryingUpload) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (providers.Part, error) {
	var p providers.Part
	err := Do(ctx, u.s.p, func(ctx context.Context) error {
		var err error
		p, err = u.u.UploadPart(ctx, n, r, size, opts)
		return err
	})
	return p, err
}

func (u *retryingUpload) ListParts(ctx context.Context) ([]providers.Part, error) {
	var ps []providers.Part
	err := Do(ctx, u.s.p, func(ctx context.Context) error {
		var err error
		ps, err = u.u.ListParts(ctx)
		return err
	})
	return ps, err
}

func (u *retryingUpload) Abort(ctx context.Context) error {
	return Do(ctx, u.s.p, func(ctx context.Context) error { return u.u.Abort(ctx) })
}

// Complete retries; when an earlier attempt failed in a way that may have
// completed the upload and a retry finds the upload gone, the object is
// confirmed by a Stat (see the package doc).
func (u *retryingUpload) Complete(ctx context.Context, parts []providers.Part, opts providers.CompleteOptions) (providers.ObjectInfo, error) {
	var (
		info      providers.ObjectInfo
		ambiguous bool
	)
	err := Do(ctx, u.s.p, func(ctx context.Context) error {
		var err error
		info, err = u.u.Complete(ctx, parts, opts)
		if err == nil {
			return nil
		}
		if ambiguous && errors.Is(err, providers.ErrUploadNotFound) {
			got, cerr := u.confirm(ctx, parts, opts)
			if cerr != nil {
				return &permanentError{errors.Join(err, cerr)}
			}
			info = got
			return nil
		}
		if Retryable(err) {
			ambiguous = true
		}
		return err
	})
	return info, unwrapPermanent(err)
}

// confirm checks that the object now at the upload's key is the one parts
// make: same size, and same whole CRC32C when both sides know it.
func (u *retryingUpload) confirm(ctx context.Context, parts []providers.Part, opts providers.CompleteOptions) (providers.ObjectInfo, error) {
	var want int64
	for _, p := range parts {
		want += p.Size
	}
	info, err := u.s.inner.Stat(ctx, u.u.Key())
	if err != nil {
		return info, fmt.Errorf("confirming an ambiguous complete: %w", err)
	}
	if info.Size != want {
		return info, fmt.Errorf("confirming an ambiguous complete: object has %d bytes, the parts %d", info.Size, want)
	}
	if opts.Checksum.Algorithm == providers.ChecksumCRC32C {
		for _, c := range info.Checksums {
			if c.Algorithm == providers.ChecksumCRC32C && !c.Equal(opts.Checksum) {
				return info, fmt.Errorf("confirming an ambiguous complete: CRC32C %s, want %s: %w", c, opts.Checksum, providers.ErrChecksum)
			}
		}
	}
	return info, nil
}
