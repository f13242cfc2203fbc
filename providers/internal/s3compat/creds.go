package s3compat

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/credfile"
)

// FileCreds follows an address's credentials file (Address.CredentialsFile)
// for a backend: the SDK's credentials provider takes its values from
// Current (or Stale tells it to), and Retry re-runs a request that failed on
// credentials once the file holds newer ones. A nil *FileCreds stands for
// static credentials: Retry then just calls.
type FileCreds struct {
	src     *credfile.Source
	served  atomic.Uint64 // generation of the values the SDK holds
	onNewer atomic.Pointer[func()]
}

// NewFileCreds follows a.CredentialsFile; nil when the address has none.
// The error is the file's (it names the file, never a value).
func NewFileCreds(a providers.Address) (*FileCreds, error) {
	if a.CredentialsFile == "" {
		return nil, nil
	}
	src, err := credfile.NewSource(a.Scheme, a.CredentialsFile, 0)
	if err != nil {
		return nil, providers.NewOpError("open", "", providers.ErrPermission, err)
	}
	return &FileCreds{src: src}, nil
}

// NewFileCredsFrom follows src (tests pick its interval).
func NewFileCredsFrom(src *credfile.Source) *FileCreds { return &FileCreds{src: src} }

// OnNewer sets what to do when a failed request finds newer credentials in
// the file, before it is re-run: drop the SDK's cached values.
func (f *FileCreds) OnNewer(fn func()) { f.onNewer.Store(&fn) }

// Current returns the credentials to sign with (the file is looked at
// again when the source's interval has passed) and records their
// generation as the one the SDK holds.
func (f *FileCreds) Current() credfile.Creds {
	c, g := f.src.Current()
	f.served.Store(g)
	return c
}

// Stale reports whether the file holds credentials newer than the ones the
// SDK took last (the file is stat'ed at most once per interval).
func (f *FileCreds) Stale() bool { return f.src.Check() != f.served.Load() }

// Retry returns call's result; when call failed on credentials (see
// AuthFailure), the file, re-read now, holds newer credentials than the
// SDK signed with, and again (nil: always) agrees, it drops the SDK's
// cached values and returns the result of one more call.
func Retry[T any](f *FileCreds, again func() bool, call func() (T, error)) (T, error) {
	if f == nil {
		return call()
	}
	used := f.served.Load()
	v, err := call()
	if err == nil || !AuthFailure(err) {
		return v, err
	}
	if f.src.Reload() == used || (again != nil && !again()) {
		return v, err
	}
	if fn := f.onNewer.Load(); fn != nil {
		(*fn)()
	}
	return call()
}

// Call runs one SDK request through Retry and maps its error with m (the
// backend's error mapping for the operation and key): both S3 backends
// send every request through it.
func Call[T any](f *FileCreds, again func() bool, m func(error) error, do func() (T, error)) (T, error) {
	return Retry(f, again, func() (T, error) {
		v, err := do()
		return v, m(err)
	})
}

// Unmapped is Call's mapping for a request whose error is mapped by its
// caller.
func Unmapped(err error) error { return err }

// Retry0 is Retry for a call with no result.
func Retry0(f *FileCreds, call func() error) error {
	_, err := Retry(f, nil, func() (struct{}, error) { return struct{}{}, call() })
	return err
}

// AuthFailure reports an error mapped by MapError that may come from
// credentials the server no longer takes: ErrPermission or ErrExpired, or
// a 401/403 (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied, ...).
func AuthFailure(err error) bool {
	var oe *providers.OpError
	if !errors.As(err, &oe) {
		return false
	}
	return errors.Is(oe.Kind, providers.ErrPermission) || errors.Is(oe.Kind, providers.ErrExpired) ||
		oe.Status == 401 || oe.Status == 403
}

// Body is the body of an upload that Retry may send again. Each attempt
// reads its own reader over the same bytes: net/http may still be reading
// the first attempt's body after its response came back (a 401/403 can
// arrive before the body is sent), so a second attempt must not seek or
// read that reader. A reader that cannot give a second one (not a file,
// byte or string reader, or section of one) is not sent again.
type Body struct {
	r     io.Reader
	fresh func() io.Reader // a new reader over the same bytes; nil: none
}

// NewBody returns the Body for an upload of the size bytes r holds from
// where it is now.
func NewBody(r io.Reader, size int64) *Body {
	b := &Body{r: r}
	if size == 0 {
		b.fresh = func() io.Reader { return r } // never read
		return b
	}
	var ra io.ReaderAt
	base := int64(0)
	switch x := r.(type) {
	case *os.File:
		ra = x
	case *bytes.Reader:
		ra = x
	case *strings.Reader:
		ra = x
	case *io.SectionReader:
		// ReadAt and Seek of these count from the same origin.
		ra, base, _ = x.Outer()
	default:
		return b
	}
	start, err := r.(io.Seeker).Seek(0, io.SeekCurrent)
	if err != nil {
		return b
	}
	b.fresh = func() io.Reader { return io.NewSectionReader(ra, base+start, size) }
	return b
}

// Reader is the reader of the current attempt.
func (b *Body) Reader() io.Reader { return b.r }

// Again is Retry's again: it readies a new reader for one more attempt,
// or reports false when there is none.
func (b *Body) Again() bool {
	if b.fresh == nil {
		return false
	}
	b.r = b.fresh()
	return true
}

// StatusOf is the HTTP status of an error mapped by MapError, 0 when none.
func StatusOf(err error) int {
	var oe *providers.OpError
	if errors.As(err, &oe) {
		return oe.Status
	}
	return 0
}
