package s3compat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// countConn counts the writes made on a connection.
type countConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// SyscallConn would let sendfile reach the socket past Write.
func (c countConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}

// A PUT through BuildTransport's transport with WholeWrites sends a body held in memory in
// one write (not 32 KiB at a time), with the same bytes; a body of another
// kind, or one that breaks its size, goes as before.
func TestWholeWriteThroughTransport(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || int64(len(b)) != r.ContentLength {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got.Store(sha256.Sum256(b))
	}))
	defer srv.Close()
	var writes atomic.Int64
	base := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countConn{c, &writes}, nil
	}}
	tr, err := BuildTransport(Options{Transport: base}, Endpoint{})
	require.NoError(t, err)
	WholeWrites(tr)
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	put := func(r io.Reader, size int64) (*ExactReader, error) {
		er, body, err := UploadBody("put", "k", r, size, strings.NewReader(""))
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPut, srv.URL+"/k", body)
		require.NoError(t, err)
		req.ContentLength = size
		got.Store([32]byte{})
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = io.ErrUnexpectedEOF
			}
		}
		return er, err
	}

	writes.Store(0)
	er, err := put(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	require.NoError(t, er.Mismatch("put", "k"))
	require.Equal(t, sha256.Sum256(data), got.Load())
	require.LessOrEqual(t, writes.Load(), int64(4), "headers and the body in one write each")

	// Another reader: the usual copy, 32 KiB at a time, same bytes.
	writes.Store(0)
	er, err = put(iotest.HalfReader(bytes.NewReader(data)), int64(len(data)))
	require.NoError(t, err)
	require.NoError(t, er.Mismatch("put", "k"))
	require.Equal(t, sha256.Sum256(data), got.Load())
	require.Greater(t, writes.Load(), int64(100))

	// A section of a file goes with sendfile, but only on a socket of
	// net's own: through the counting wrapper it is written as before.
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, append([]byte("head"), data...), 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	s0 := sendfileCalls.Load()
	er, err = put(io.NewSectionReader(f, 4, int64(len(data))), int64(len(data)))
	require.NoError(t, err)
	require.NoError(t, er.Mismatch("put", "k"))
	require.Equal(t, sha256.Sum256(data), got.Load())
	require.Equal(t, s0, sendfileCalls.Load(), "a wrapped connection is written through")

	plain, err := BuildTransport(Options{Transport: &http.Transport{}}, Endpoint{})
	require.NoError(t, err)
	WholeWrites(plain)
	defer plain.CloseIdleConnections()
	client.Transport = plain
	er, err = put(io.NewSectionReader(f, 4, int64(len(data))), int64(len(data)))
	require.NoError(t, err)
	require.NoError(t, er.Mismatch("put", "k"))
	require.Equal(t, sha256.Sum256(data), got.Load())
	require.Greater(t, sendfileCalls.Load(), s0, "sent with sendfile")
	off, err := f.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	require.Zero(t, off, "the file's own offset is not used")

	// A section longer than the size given, or a file shorter than its
	// section: nothing stored, the mismatch reported.
	er, err = put(io.NewSectionReader(f, 3, int64(len(data))+1), int64(len(data)))
	require.Error(t, err)
	require.ErrorIs(t, er.Mismatch("put", "k"), providers.ErrSizeMismatch)
	require.Equal(t, [32]byte{}, got.Load(), "the server stored nothing")
	require.NoError(t, os.Truncate(path, 4+int64(len(data))/2))
	s1 := sendfileCalls.Load()
	er, err = put(io.NewSectionReader(f, 4, int64(len(data))), int64(len(data)))
	require.Error(t, err)
	require.ErrorIs(t, er.Mismatch("put", "k"), providers.ErrSizeMismatch)
	require.Equal(t, [32]byte{}, got.Load(), "the server stored nothing")
	require.Greater(t, sendfileCalls.Load(), s1)
	client.Transport = tr

	// A body shorter or longer than its size: nothing stored, the
	// mismatch reported.
	for _, d := range [][]byte{data[:len(data)-1], append(bytes.Clone(data), 'x')} {
		er, err = put(bytes.NewReader(d), int64(len(data)))
		require.Error(t, err)
		require.ErrorIs(t, er.Mismatch("put", "k"), providers.ErrSizeMismatch)
		require.Equal(t, [32]byte{}, got.Load(), "the server stored nothing")
	}
}

// A base transport that sets only the legacy Dial keeps dialing through it.
func TestWholeWritesKeepsLegacyDial(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	var dials atomic.Int64
	base := &http.Transport{}
	//lint:ignore SA1019 the legacy hook is what is tested
	base.Dial = func(network, addr string) (net.Conn, error) {
		dials.Add(1)
		return net.Dial(network, addr)
	}
	tr, err := BuildTransport(Options{Transport: base}, Endpoint{})
	require.NoError(t, err)
	WholeWrites(tr)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.EqualValues(t, 1, dials.Load())
}
