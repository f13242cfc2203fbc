package s3compat

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A request body of known length reaches the connection through
// io.LimitReader (net/http's transferWriter), so io.Copy moves it 32 KiB
// at a time through a buffer of its own: a second copy of every byte and
// 32,768 writes per GiB, a fifth of a mount's CPU when it uploads. A body
// held in memory (an ExactReader over a *bytes.Reader, as the mount's
// streamed parts are) is written in place instead: one Write of the whole
// body, which the kernel copies once; a section of a file (the parts of
// UploadFile) goes with sendfile(2), without passing through user memory.

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

// writeWhole writes all of the body at once when n covers it: from a
// *bytes.Reader holding exactly the size given (checked before the first
// byte leaves; a mismatch fails as Read would) in one Write, and from an
// *io.SectionReader over an *os.File with sendfile(2) (no copy through
// user memory; a file shorter than the size fails as Read would). Other
// readers are not handled.
func (e *ExactReader) writeWhole(w io.Writer, n int64) (int64, error, bool) {
	if e.err != nil || e.remaining == 0 || n < e.remaining {
		return 0, nil, false
	}
	switch r := e.r.(type) {
	case *bytes.Reader:
		switch held := int64(r.Len()); {
		case held < e.remaining:
			return 0, e.short(e.remaining - held), true
		case held > e.remaining:
			return 0, e.long(), true
		}
		m, err := r.WriteTo(w)
		e.remaining -= m
		return m, err, true
	case *io.SectionReader:
		ra, base, size := r.Outer()
		f, ok := ra.(*os.File)
		if !ok {
			return 0, nil, false
		}
		// Only a socket of net's own: a wrapper's Write (counting, rate
		// limits) must not be bypassed.
		var sc syscall.Conn
		switch c := w.(type) {
		case *net.TCPConn:
			sc = c
		case *net.UnixConn:
			sc = c
		default:
			return 0, nil, false
		}
		pos, err := r.Seek(0, io.SeekCurrent)
		if err != nil || size-pos != e.remaining {
			return 0, nil, false // a section that breaks the size: Read says so
		}
		m, err, handled := sendFileRange(sc, f, base+pos, e.remaining)
		if !handled {
			return 0, nil, false
		}
		if _, serr := r.Seek(m, io.SeekCurrent); err == nil {
			err = serr
		}
		e.remaining -= m
		if err == nil && e.remaining > 0 {
			err = e.short(e.remaining)
		}
		return m, err, true
	}
	return 0, nil, false
}

// sendfileCalls counts sendfile(2) calls (tests).
var sendfileCalls atomic.Int64

// sendFileRange sends n bytes of f from off on conn with sendfile(2),
// waiting for the socket as net does. f's own offset is not used (the
// parts of one file go out at once over several connections). It stops
// early at the end of f. handled is false when the kernel refused the
// pair before a byte left (the caller copies instead).
func sendFileRange(conn syscall.Conn, f *os.File, off, n int64) (written int64, err error, handled bool) {
	dst, err := conn.SyscallConn()
	if err != nil {
		return 0, nil, false
	}
	src, err := f.SyscallConn()
	if err != nil {
		return 0, nil, false
	}
	var serr error
	handled = true
	cerr := src.Control(func(sfd uintptr) {
		werr := dst.Write(func(dfd uintptr) bool {
			for written < n {
				o := off + written
				// At most 1 MiB a call: a cancelled request's Close
				// waits for the call in progress, which may read the disk.
				m, e := unix.Sendfile(int(dfd), int(sfd), &o, int(min(n-written, 1<<20)))
				sendfileCalls.Add(1)
				if m > 0 {
					written += int64(m)
				}
				switch {
				case e == unix.EAGAIN:
					return false // wait until the socket takes more
				case e == unix.EINTR:
				case e != nil:
					if written == 0 && (e == unix.EINVAL || e == unix.ENOSYS || e == unix.EOPNOTSUPP) {
						handled = false
					}
					serr = e
					return true
				case m == 0:
					return true // end of f
				}
			}
			return true
		})
		if serr == nil {
			serr = werr
		}
	})
	if !handled {
		return 0, nil, false
	}
	if serr == nil {
		serr = cerr
	}
	if serr != nil {
		serr = os.NewSyscallError("sendfile", serr)
	}
	return written, serr, true
}

// WholeWrites makes tr's connections wholeWriteConns. Over TLS the body
// is encrypted through tls.Conn's own buffers and never reaches ReadFrom:
// the wrapper then changes nothing. Only minio-go's multipart parts reach
// a connection as an ExactReader (its PutObject, and aws-sdk-go-v2 for
// every body, wrap the body first), so only providers/minio installs it.
func WholeWrites(tr *http.Transport) {
	dial := tr.DialContext
	//lint:ignore SA1019 a caller's transport may still set only Dial: it keeps being used
	if legacy := tr.Dial; dial == nil && legacy != nil {
		dial = func(_ context.Context, network, addr string) (net.Conn, error) { return legacy(network, addr) }
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
