package faulty

import (
	"context"
	"io"

	"github.com/byobfs/byob/providers"
)

// CreateMultipart starts an upload on the inner store under the rules of
// OpCreateMultipart and returns it wrapped. When the inner store is not a
// providers.Multiparter the call is counted and fails with an error wrapping
// providers.ErrUnsupported.
func (s *Store) CreateMultipart(ctx context.Context, key string, opts providers.PutOptions) (providers.Upload, error) {
	mp, err := s.multiparter(OpCreateMultipart, key)
	if err != nil {
		return nil, err
	}
	if _, err := s.begin(ctx, OpCreateMultipart, key); err != nil {
		return nil, err
	}
	u, err := mp.CreateMultipart(ctx, key, opts)
	if err != nil {
		return nil, err
	}
	return &upload{s: s, u: u}, nil
}

// ResumeMultipart reattaches to an upload of the inner store under the
// rules of OpResumeMultipart and returns it wrapped; like CreateMultipart it
// fails with providers.ErrUnsupported when the inner store has no multipart.
func (s *Store) ResumeMultipart(ctx context.Context, key, uploadID string) (providers.Upload, error) {
	mp, err := s.multiparter(OpResumeMultipart, key)
	if err != nil {
		return nil, err
	}
	if _, err := s.begin(ctx, OpResumeMultipart, key); err != nil {
		return nil, err
	}
	u, err := mp.ResumeMultipart(ctx, key, uploadID)
	if err != nil {
		return nil, err
	}
	return &upload{s: s, u: u}, nil
}

func (s *Store) multiparter(op, key string) (providers.Multiparter, error) {
	if mp, ok := s.inner.(providers.Multiparter); ok {
		return mp, nil
	}
	s.mu.Lock()
	s.calls[op]++
	s.mu.Unlock()
	return nil, providers.NewOpError(op, key, providers.ErrUnsupported, nil)
}

// upload wraps an inner Upload; its calls count on, and obey the rules of,
// the Store that made it. Rules see the upload's object key.
type upload struct {
	s *Store
	u providers.Upload
}

var _ providers.Upload = (*upload)(nil)

func (u *upload) ID() string  { return u.u.ID() }
func (u *upload) Key() string { return u.u.Key() }

func (u *upload) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (providers.Part, error) {
	if _, err := u.s.begin(ctx, OpUploadPart, u.u.Key()); err != nil {
		return providers.Part{}, err
	}
	return u.u.UploadPart(ctx, n, r, size, opts)
}

func (u *upload) ListParts(ctx context.Context) ([]providers.Part, error) {
	if _, err := u.s.begin(ctx, OpListParts, u.u.Key()); err != nil {
		return nil, err
	}
	return u.u.ListParts(ctx)
}

func (u *upload) Complete(ctx context.Context, parts []providers.Part, opts providers.CompleteOptions) (providers.ObjectInfo, error) {
	if _, err := u.s.begin(ctx, OpComplete, u.u.Key()); err != nil {
		return providers.ObjectInfo{}, err
	}
	return u.u.Complete(ctx, parts, opts)
}

func (u *upload) Abort(ctx context.Context) error {
	if _, err := u.s.begin(ctx, OpAbort, u.u.Key()); err != nil {
		return err
	}
	return u.u.Abort(ctx)
}
