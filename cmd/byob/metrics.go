package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	byobfs "github.com/byobfs/byob/fs"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/wrap"
)

// metrics counts what a mount asks of its store, for --metrics-addr
// (Prometheus text format, no client library needed for a handful of
// counters). It is the Observer of the mount's store stack (wrap.Count):
// requests and errors are counted by operation, bytes by direction.
type metrics struct {
	mu       sync.Mutex
	requests map[string]*atomic.Int64 // GUARDED_BY(mu) for the map; values atomic
	errors   map[string]*atomic.Int64 // GUARDED_BY(mu)
	read     atomic.Int64             // bytes read from the store
	written  atomic.Int64             // bytes written to the store
}

func newMetrics() *metrics {
	return &metrics{requests: map[string]*atomic.Int64{}, errors: map[string]*atomic.Int64{}}
}

var _ wrap.Observer = (*metrics)(nil)

// Call implements wrap.Observer: one store call.
func (m *metrics) Call(op string, _ time.Duration, err error) { m.count(op, err) }

// Bytes implements wrap.Observer: bytes read from and written to the store.
func (m *metrics) Bytes(in, out int64) {
	m.read.Add(in)
	m.written.Add(out)
}

func (m *metrics) count(op string, err error) {
	m.mu.Lock()
	r, e := m.requests[op], m.errors[op]
	if r == nil {
		r, e = new(atomic.Int64), new(atomic.Int64)
		m.requests[op], m.errors[op] = r, e
	}
	m.mu.Unlock()
	r.Add(1)
	if err != nil && !errors.Is(err, providers.ErrNotExist) {
		e.Add(1)
	}
}

// serve answers GET /metrics on addr until ctx ends.
func (m *metrics) serve(ctx context.Context, addr string, fss []*byobfs.FS, cacheStats func() (hits, misses int64)) (func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	// Go's profiles, for `go tool pprof http://ADDR/debug/pprof/profile`:
	// the address is the user's choice (loopback in the examples).
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		var b strings.Builder
		m.mu.Lock()
		ops := make([]string, 0, len(m.requests))
		for op := range m.requests {
			ops = append(ops, op)
		}
		m.mu.Unlock()
		sort.Strings(ops)
		b.WriteString("# HELP byob_store_requests_total Store operations by kind.\n# TYPE byob_store_requests_total counter\n")
		for _, op := range ops {
			m.mu.Lock()
			v := m.requests[op].Load()
			m.mu.Unlock()
			fmt.Fprintf(&b, "byob_store_requests_total{op=%q} %d\n", op, v)
		}
		b.WriteString("# HELP byob_store_errors_total Failed store operations by kind (not-found excluded).\n# TYPE byob_store_errors_total counter\n")
		for _, op := range ops {
			m.mu.Lock()
			v := m.errors[op].Load()
			m.mu.Unlock()
			fmt.Fprintf(&b, "byob_store_errors_total{op=%q} %d\n", op, v)
		}
		fmt.Fprintf(&b, "# HELP byob_store_bytes_read_total Bytes read from the store.\n# TYPE byob_store_bytes_read_total counter\nbyob_store_bytes_read_total %d\n", m.read.Load())
		fmt.Fprintf(&b, "# HELP byob_store_bytes_written_total Bytes written to the store.\n# TYPE byob_store_bytes_written_total counter\nbyob_store_bytes_written_total %d\n", m.written.Load())
		var pending, pendingBytes int64
		for _, f := range fss {
			p, _ := f.Pending(r.Context())
			for _, u := range p {
				pending++
				pendingBytes += u.Size
			}
		}
		fmt.Fprintf(&b, "# HELP byob_upload_queue Files acknowledged but not yet uploaded.\n# TYPE byob_upload_queue gauge\nbyob_upload_queue %d\n", pending)
		fmt.Fprintf(&b, "# HELP byob_upload_queue_bytes Bytes acknowledged but not yet uploaded.\n# TYPE byob_upload_queue_bytes gauge\nbyob_upload_queue_bytes %d\n", pendingBytes)
		if cacheStats != nil {
			hits, misses := cacheStats()
			fmt.Fprintf(&b, "# HELP byob_cache_block_reads_total Block reads served from the cache or fetched.\n# TYPE byob_cache_block_reads_total counter\nbyob_cache_block_reads_total{result=\"hit\"} %d\nbyob_cache_block_reads_total{result=\"miss\"} %d\n", hits, misses)
		}
		io.WriteString(w, b.String())
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	return func() { srv.Close() }, nil
}
