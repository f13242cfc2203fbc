package wrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/byobfs/byob/providers"
)

// ErrInvalidRoot: Confine was given a root that is not a plain key prefix.
var ErrInvalidRoot = errors.New("invalid confinement root")

// Confine returns a Store that sees only the keys of st below root: key k of
// the returned store is root+"/"+k in st. Listings map Prefix and
// StartAfter the same way, strip root+"/" from every entry and never return
// an entry outside it; Copy maps both keys, so it stays inside; the
// ObjectInfo of every call has the stripped key. The result implements
// providers.Multiparter and providers.Presigner exactly when st does
// (Upload.Key is stripped too). Capabilities are st's with MaxKeyLength
// reduced by len(root)+1. Errors are st's, unchanged: an OpError names the
// full key in st. Close closes st; Unwrap returns it.
//
// root "" means no confinement: st itself is returned. Otherwise root must
// be valid UTF-8 made of non-empty segments other than "." and ".." (no
// leading, trailing or doubled "/", no NUL), and shorter than st's
// MaxKeyLength; else the error wraps ErrInvalidRoot.
//
// Keys are never cleaned or interpreted: in a bucket "a/../b" is a literal
// key of seven bytes, not "b", and "/x" is not absolute. Prepending root+"/"
// to the bytes given is therefore all confinement needs: every key the
// inner store sees starts with root+"/", whatever the caller wrote, so no
// ".." or "/" can climb out. Cleaning would be the unsafe choice: it would
// make two keys ("a/../b" and "b") alias one object, leave the objects that
// really are named "a/../b" unreachable, and put the safety in a parser
// rather than in a prefix. The empty key is refused (providers.ErrInvalidKey)
// on every call: in st it would name root+"/", the directory marker of the
// root itself, which the confined store neither shows nor lets anyone
// overwrite or delete. For the same reason a listing leaves that marker out.
func Confine(st providers.Store, root string) (providers.Store, error) {
	if root == "" {
		return st, nil
	}
	if err := checkRoot(root); err != nil {
		return nil, err
	}
	caps := st.Capabilities()
	if caps.MaxKeyLength-len(root)-1 < 1 {
		return nil, fmt.Errorf("wrap: root of %d bytes leaves no room under the store's %d-byte key limit: %w", len(root), caps.MaxKeyLength, ErrInvalidRoot)
	}
	caps.MaxKeyLength -= len(root) + 1
	s := &confined{inner: st, prefix: root + "/", caps: caps}
	mp, isMP := st.(providers.Multiparter)
	ps, isPS := st.(providers.Presigner)
	switch {
	case isMP && isPS:
		return &confinedMPPS{s, confinedMP{s, mp}, confinedPS{s, ps}}, nil
	case isMP:
		return &confinedMPOnly{s, confinedMP{s, mp}}, nil
	case isPS:
		return &confinedPSOnly{s, confinedPS{s, ps}}, nil
	}
	return s, nil
}

// checkRoot reports why root cannot be a confinement root, or nil.
func checkRoot(root string) error {
	if !utf8.ValidString(root) || strings.IndexByte(root, 0) >= 0 {
		return fmt.Errorf("wrap: root %q is not valid UTF-8 without NUL: %w", root, ErrInvalidRoot)
	}
	for seg := range strings.SplitSeq(root, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("wrap: root %q has an empty, %q or %q segment (no leading, trailing or doubled %q): %w", root, ".", "..", "/", ErrInvalidRoot)
		}
	}
	return nil
}

// confined is the Store Confine returns. It is immutable after Confine and
// safe for concurrent use as far as inner is.
type confined struct {
	inner  providers.Store
	prefix string // root + "/"
	caps   providers.Capabilities
}

// The four shapes Confine returns, one per combination of optional
// interfaces of the inner store.
type (
	confinedMPOnly struct {
		*confined
		confinedMP
	}
	confinedPSOnly struct {
		*confined
		confinedPS
	}
	confinedMPPS struct {
		*confined
		confinedMP
		confinedPS
	}
)

var (
	_ providers.Store       = (*confined)(nil)
	_ providers.Multiparter = (*confinedMPOnly)(nil)
	_ providers.Presigner   = (*confinedPSOnly)(nil)
	_ providers.Multiparter = (*confinedMPPS)(nil)
	_ providers.Presigner   = (*confinedMPPS)(nil)
	_ providers.Upload      = (*confinedUpload)(nil)
)

// Unwrap returns the store Confine was given.
func (s *confined) Unwrap() providers.Store { return s.inner }

// Close closes the store Confine was given.
func (s *confined) Close() error {
	if c, ok := s.inner.(providers.Closer); ok {
		return c.Close()
	}
	return nil
}

// Root returns the confinement root (without the trailing "/").
func (s *confined) Root() string { return strings.TrimSuffix(s.prefix, "/") }

// key maps a key of the confined store to the inner store's.
func (s *confined) key(op, k string) (string, error) {
	if k == "" {
		return "", providers.NewOpError(op, "", providers.ErrInvalidKey, errors.New("empty key"))
	}
	return s.prefix + k, nil
}

// strip maps an inner ObjectInfo back.
func (s *confined) strip(info providers.ObjectInfo) providers.ObjectInfo {
	info.Key = strings.TrimPrefix(info.Key, s.prefix)
	return info
}

// Capabilities are the inner store's, MaxKeyLength reduced by the root.
func (s *confined) Capabilities() providers.Capabilities {
	c := s.caps
	if c.VerifiedChecksums != nil {
		c.VerifiedChecksums = append(c.VerifiedChecksums[:0:0], c.VerifiedChecksums...)
	}
	return c
}

func (s *confined) Stat(ctx context.Context, key string) (providers.ObjectInfo, error) {
	k, err := s.key("stat", key)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	info, err := s.inner.Stat(ctx, k)
	return s.strip(info), err
}

// List lists below root: Prefix and StartAfter are mapped into the root and
// every entry is stripped; entries not below root (none, from a correct
// backend) and the root's own directory marker are left out.
func (s *confined) List(ctx context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	opts.Prefix = s.prefix + opts.Prefix
	if opts.StartAfter != "" {
		opts.StartAfter = s.prefix + opts.StartAfter
	}
	return s.inner.List(ctx, opts, func(e providers.Entry) error {
		rel, ok := strings.CutPrefix(e.Key, s.prefix)
		if !ok || rel == "" {
			return nil
		}
		e.Key = rel
		return fn(e)
	})
}

func (s *confined) Get(ctx context.Context, key string, off, length int64, opts providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	k, err := s.key("get", key)
	if err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	rc, info, err := s.inner.Get(ctx, k, off, length, opts)
	return rc, s.strip(info), err
}

func (s *confined) Put(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	k, err := s.key("put", key)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	info, err := s.inner.Put(ctx, k, r, size, opts)
	return s.strip(info), err
}

func (s *confined) Delete(ctx context.Context, key string) error {
	k, err := s.key("delete", key)
	if err != nil {
		return err
	}
	return s.inner.Delete(ctx, k)
}

func (s *confined) Copy(ctx context.Context, src, dst string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	ks, err := s.key("copy", src)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	kd, err := s.key("copy", dst)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	info, err := s.inner.Copy(ctx, ks, kd, opts)
	return s.strip(info), err
}

// confinedMP forwards multipart uploads with mapped keys.
type confinedMP struct {
	s  *confined
	mp providers.Multiparter
}

func (m confinedMP) CreateMultipart(ctx context.Context, key string, opts providers.PutOptions) (providers.Upload, error) {
	k, err := m.s.key("create-multipart", key)
	if err != nil {
		return nil, err
	}
	u, err := m.mp.CreateMultipart(ctx, k, opts)
	if err != nil {
		return nil, err
	}
	return &confinedUpload{s: m.s, u: u}, nil
}

func (m confinedMP) ResumeMultipart(ctx context.Context, key, uploadID string) (providers.Upload, error) {
	k, err := m.s.key("resume-multipart", key)
	if err != nil {
		return nil, err
	}
	u, err := m.mp.ResumeMultipart(ctx, k, uploadID)
	if err != nil {
		return nil, err
	}
	return &confinedUpload{s: m.s, u: u}, nil
}

// confinedUpload is an inner Upload whose key and result are stripped.
type confinedUpload struct {
	s *confined
	u providers.Upload
}

func (u *confinedUpload) ID() string  { return u.u.ID() }
func (u *confinedUpload) Key() string { return strings.TrimPrefix(u.u.Key(), u.s.prefix) }
func (u *confinedUpload) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (providers.Part, error) {
	return u.u.UploadPart(ctx, n, r, size, opts)
}
func (u *confinedUpload) ListParts(ctx context.Context) ([]providers.Part, error) {
	return u.u.ListParts(ctx)
}
func (u *confinedUpload) Complete(ctx context.Context, parts []providers.Part, opts providers.CompleteOptions) (providers.ObjectInfo, error) {
	info, err := u.u.Complete(ctx, parts, opts)
	return u.s.strip(info), err
}
func (u *confinedUpload) Abort(ctx context.Context) error { return u.u.Abort(ctx) }

// confinedPS forwards pre-signing with the mapped key.
type confinedPS struct {
	s  *confined
	ps providers.Presigner
}

func (p confinedPS) Presign(ctx context.Context, req providers.PresignRequest) (string, http.Header, error) {
	k, err := p.s.key("presign", req.Key)
	if err != nil {
		return "", nil, err
	}
	req.Key = k
	return p.ps.Presign(ctx, req)
}
