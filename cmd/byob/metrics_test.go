package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/mem"
	"github.com/byobfs/byob/providers/wrap"
)

func TestMetricsCountAndServe(t *testing.T) {
	ctx := context.Background()
	m := newMetrics()
	st := wrap.Count(mem.New(mem.DefaultOptions()), m)
	_, ok := st.(providers.Multiparter)
	require.True(t, ok, "multipart stays available")
	_, err := st.Put(ctx, "a", strings.NewReader("hello"), 5, providers.PutOptions{})
	require.NoError(t, err)
	rc, _, err := st.Get(ctx, "a", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	io.Copy(io.Discard, rc)
	rc.Close()
	_, err = st.Stat(ctx, "missing")
	require.ErrorIs(t, err, providers.ErrNotExist)
	_, err = st.Copy(ctx, "a", "b", providers.CopyOptions{IfMatch: "stale-version"})
	require.Error(t, err)

	addr, stop := serveOnFreePort(t, m)
	defer stop()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`byob_store_requests_total{op="put"} 1`,
		`byob_store_requests_total{op="get"} 1`,
		`byob_store_requests_total{op="stat"} 1`,
		`byob_store_errors_total{op="stat"} 0`, // not-found is not an error
		`byob_store_errors_total{op="copy"} 1`,
		"byob_store_bytes_read_total 5",
		"byob_store_bytes_written_total 5",
		"byob_upload_queue 0",
	} {
		require.Contains(t, text, want)
	}
}

func serveOnFreePort(t *testing.T, m *metrics) (string, func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	stop, err := m.serve(context.Background(), addr, nil, nil)
	require.NoError(t, err)
	return addr, stop
}
