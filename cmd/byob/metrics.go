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

	byobfs "github.com/byobfs/byob/fs"
	"github.com/byobfs/byob/providers"
)

// metrics counts what a mount asks of its store, for --metrics-addr
// (Prometheus text format, no client library needed for a handful of
// counters). Requests and errors are counted by operation; bytes by
// direction.
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

// countingStore wraps a Store and counts into m. Block-cache misses are
// the Gets the mount makes; hits are reads the cache answered, counted by
// the caller from cache statistics when available.
type countingStore struct {
	providers.Store
	m *metrics
}

func (c *countingStore) Stat(ctx context.Context, key string) (providers.ObjectInfo, error) {
	i, err := c.Store.Stat(ctx, key)
	c.m.count("stat", err)
	return i, err
}

func (c *countingStore) List(ctx context.Context, o providers.ListOptions, fn func(providers.Entry) error) error {
	err := c.Store.List(ctx, o, fn)
	c.m.count("list", err)
	return err
}

func (c *countingStore) Get(ctx context.Context, key string, off, n int64, o providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	rc, i, err := c.Store.Get(ctx, key, off, n, o)
	c.m.count("get", err)
	if err != nil {
		return rc, i, err
	}
	return &countingReader{ReadCloser: rc, n: &c.m.read}, i, nil
}

func (c *countingStore) Put(ctx context.Context, key string, r io.Reader, size int64, o providers.PutOptions) (providers.ObjectInfo, error) {
	i, err := c.Store.Put(ctx, key, r, size, o)
	c.m.count("put", err)
	if err == nil {
		c.m.written.Add(size)
	}
	return i, err
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	err := c.Store.Delete(ctx, key)
	c.m.count("delete", err)
	return err
}

func (c *countingStore) Copy(ctx context.Context, src, dst string, o providers.CopyOptions) (providers.ObjectInfo, error) {
	i, err := c.Store.Copy(ctx, src, dst, o)
	c.m.count("copy", err)
	return i, err
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.n.Add(int64(n))
	return n, err
}

// countingMultiStore keeps multipart uploads available (and counted).
type countingMultiStore struct {
	*countingStore
	mp providers.Multiparter
}

func (c *countingMultiStore) CreateMultipart(ctx context.Context, key string, o providers.PutOptions) (providers.Upload, error) {
	u, err := c.mp.CreateMultipart(ctx, key, o)
	c.m.count("create-multipart", err)
	if err != nil {
		return u, err
	}
	return &countingUpload{Upload: u, m: c.m}, nil
}

func (c *countingMultiStore) ResumeMultipart(ctx context.Context, key, id string) (providers.Upload, error) {
	u, err := c.mp.ResumeMultipart(ctx, key, id)
	c.m.count("resume-multipart", err)
	if err != nil {
		return u, err
	}
	return &countingUpload{Upload: u, m: c.m}, nil
}

type countingUpload struct {
	providers.Upload
	m *metrics
}

func (u *countingUpload) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, o providers.PartOptions) (providers.Part, error) {
	p, err := u.Upload.UploadPart(ctx, n, r, size, o)
	u.m.count("upload-part", err)
	if err == nil {
		u.m.written.Add(size)
	}
	return p, err
}

func (u *countingUpload) Complete(ctx context.Context, parts []providers.Part, o providers.CompleteOptions) (providers.ObjectInfo, error) {
	i, err := u.Upload.Complete(ctx, parts, o)
	u.m.count("complete-multipart", err)
	return i, err
}

// counted wraps st for m, keeping Multiparter when st has it.
func counted(st providers.Store, m *metrics) providers.Store {
	c := &countingStore{Store: st, m: m}
	if mp, ok := st.(providers.Multiparter); ok {
		return &countingMultiStore{countingStore: c, mp: mp}
	}
	return c
}
