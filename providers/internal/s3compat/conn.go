package s3compat

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"time"
)

// A request body of known length reaches the connection through
// io.LimitReader (net/http's transferWriter), so io.Copy moves it 32 KiB
// at a time through a buffer of its own: a second copy of every byte and
// 32,768 writes per GiB, a fifth of a mount's CPU when it uploads. A body
// held in memory (an ExactReader over a *bytes.Reader, as the mount's
// streamed parts are) is written in place instead: one Write of the whole
// body, which the kernel copies once.

// wholeWriter is a body that writes its next n bytes to w itself; handled
// is false when it cannot, and nothing was written.
type wholeWriter interface {
	writeWhole(w io.Writer, n int64) (written int64, err error, handled bool)
}

// wholeWriteConn is a client connection that lets a wholeWriter body
// write itself; every other body goes the usual way (sendfile for files).
type wholeWriteConn struct{ net.Conn }

func (c wholeWriteConn) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		if ww, ok := unwrapNop(lr.R).(wholeWriter); ok {
			n, err, handled := ww.writeWhole(c.Conn, lr.N)
			if handled {
				lr.N -= n
				return n, err
			}
		}
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{c.Conn}, r)
}

// nopTypes are io.NopCloser's two result types: SDKs (minio-go) wrap the
// body in one, and net/http hands it on wrapped.
var nopTypes = [2]reflect.Type{
	reflect.TypeOf(io.NopCloser(strings.NewReader(""))),
	reflect.TypeOf(io.NopCloser(struct{ io.Reader }{})),
}

// unwrapNop returns the reader inside an io.NopCloser, else r.
func unwrapNop(r io.Reader) io.Reader {
	if t := reflect.TypeOf(r); t == nopTypes[0] || t == nopTypes[1] {
		if inner, ok := reflect.ValueOf(r).Field(0).Interface().(io.Reader); ok {
			return inner
		}
	}
	return r
}

// writerOnly hides a writer's ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }

// writeWhole writes all of the body at once when its reader is a
// *bytes.Reader holding exactly the size given (checked before the first
// byte leaves; a mismatch fails as Read would) and n covers it.
func (e *ExactReader) writeWhole(w io.Writer, n int64) (int64, error, bool) {
	br, ok := e.r.(*bytes.Reader)
	if !ok || e.err != nil || e.remaining == 0 || n < e.remaining {
		return 0, nil, false
	}
	switch held := int64(br.Len()); {
	case held < e.remaining:
		e.err = fmt.Errorf("reader ended %d bytes short of the size given", e.remaining-held)
		return 0, e.err, true
	case held > e.remaining:
		e.err = fmt.Errorf("reader holds more bytes than the size given")
		return 0, e.err, true
	}
	m, err := br.WriteTo(w)
	e.remaining -= m
	return m, err, true
}

// wholeWrites makes tr's connections wholeWriteConns. Over TLS the body
// is encrypted through tls.Conn's own buffers and never reaches ReadFrom:
// the wrapper then changes nothing.
func wholeWrites(tr *http.Transport) {
	dial := tr.DialContext
	if dial == nil && tr.Dial != nil {
		legacy := tr.Dial
		dial = func(_ context.Context, network, addr string) (net.Conn, error) { return legacy(network, addr) }
		tr.Dial = nil
	}
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil || c == nil {
			return c, err
		}
		return wholeWriteConn{c}, nil
	}
}
