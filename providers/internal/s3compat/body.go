package s3compat

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/byobfs/byob/providers"
)

// ExactReader yields exactly the size given of its reader. When the reader
// ends early, or holds a byte more, Read returns an error instead of the
// final bytes, so the HTTP request is aborted before the server has the
// whole body and never stores a wrong one. Over a *bytes.Reader the size is
// checked before the first byte leaves (writeWhole, conn.go).
type ExactReader struct {
	r         io.Reader
	remaining int64
	err       error // the size mismatch seen, if any
}

// UploadBody returns the body to send for an upload of size bytes of r:
// an *ExactReader over r, or for size 0 the given empty body once r proved
// empty. The error is op's ErrSizeMismatch when r holds bytes although size
// is 0. After the request, er.Mismatch tells whether r broke the size.
func UploadBody(op, key string, r io.Reader, size int64, empty io.Reader) (er *ExactReader, body io.Reader, err error) {
	er = &ExactReader{r: r, remaining: size}
	if size != 0 {
		return er, er, nil
	}
	if err := er.checkEmpty(); err != nil {
		return nil, nil, providers.NewOpError(op, key, providers.ErrSizeMismatch, err)
	}
	return er, empty, nil
}

// Mismatch is op's ErrSizeMismatch error when the reader held fewer or more
// bytes than the size, else nil. It wins over the request's own error,
// which the aborted body caused.
func (e *ExactReader) Mismatch(op, key string) error {
	if e.err == nil {
		return nil
	}
	return providers.NewOpError(op, key, providers.ErrSizeMismatch, e.err)
}

func (e *ExactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.remaining {
		p = p[:e.remaining]
	}
	n, err := e.r.Read(p)
	e.remaining -= int64(n)
	if e.remaining == 0 {
		if err := e.checkEmpty(); err != nil {
			return 0, err
		}
		return n, nil
	}
	if err == io.EOF {
		return 0, e.short(e.remaining)
	}
	return n, err
}

// short records and returns the error of a reader n bytes short of the size.
func (e *ExactReader) short(n int64) error {
	e.err = fmt.Errorf("reader ended %d bytes short of the size given", n)
	return e.err
}

// long records and returns the error of a reader holding more bytes than
// the size.
func (e *ExactReader) long() error {
	e.err = errors.New("reader holds more bytes than the size given")
	return e.err
}

// checkEmpty fails when r still has a byte.
func (e *ExactReader) checkEmpty() error {
	var b [1]byte
	for {
		n, err := e.r.Read(b[:])
		if n > 0 {
			return e.long()
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// BodyReader maps the errors of a Get's body cut mid-stream onto the
// contract. A cancelled ctx fails the next Read even when the bytes are
// already buffered.
type BodyReader struct {
	ctx    context.Context // the Get's: the body's lifetime
	rc     io.ReadCloser
	key    string
	mapErr MapErrFunc
}

// NewBodyReader returns rc, the body of a Get of key under ctx, with its
// errors mapped by mapErr.
func NewBodyReader(ctx context.Context, rc io.ReadCloser, key string, mapErr MapErrFunc) *BodyReader {
	return &BodyReader{ctx: ctx, rc: rc, key: key, mapErr: mapErr}
}

func (b *BodyReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, providers.NewOpError("get", b.key, nil, err)
	}
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = b.mapErr("get", b.key, err)
	}
	return n, err
}

// Close closes the body.
func (b *BodyReader) Close() error { return b.rc.Close() }
