package faulty

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// backend is a loopback HTTP server standing in for MinIO and friends. GET
// ?size=N streams N pattern bytes (with Content-Length unless &chunked);
// PUT and POST read and count the body. Every request is recorded.
type backend struct {
	srv     *httptest.Server
	hits    atomic.Int64
	bodyIn  atomic.Int64
	mu      sync.Mutex
	lastReq *http.Request // GUARDED_BY(mu); headers and URL only
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	require.True(t, strings.HasPrefix(b.srv.URL, "http://127.0.0.1:"), b.srv.URL)
	return b
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	b.hits.Add(1)
	b.mu.Lock()
	b.lastReq = r.Clone(r.Context())
	b.mu.Unlock()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		size, _ := strconv.ParseInt(r.URL.Query().Get("size"), 10, 64)
		if !has(r, "chunked") {
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Etag", `"abc"`)
		if r.Method == http.MethodHead {
			return
		}
		_, _ = io.Copy(w, io.LimitReader(&pattern{}, size))
	default:
		n, err := io.Copy(io.Discard, r.Body)
		b.bodyIn.Add(n)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Got", strconv.FormatInt(n, 10))
		_, _ = io.WriteString(w, "ok")
	}
}

func (b *backend) last() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastReq
}

// pattern yields an endless, position-dependent byte stream without
// allocating: patternTable repeated, its length prime so no buffer size of
// the code under test lines up with it.
type pattern struct{ off int }

var patternTable = func() []byte {
	b := make([]byte, 65521)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}()

func (p *pattern) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m := copy(b[n:], patternTable[p.off:])
		n += m
		p.off = (p.off + m) % len(patternTable)
	}
	return n, nil
}

func patternCRC(n int64) uint32 {
	h := crc32.NewIEEE()
	_, _ = io.Copy(h, io.LimitReader(&pattern{}, n))
	return h.Sum32()
}

func newTestProxy(t *testing.T, b *backend, opts ProxyOptions) *Proxy {
	t.Helper()
	p, err := NewProxy(b.srv.URL, opts)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// client makes a fresh connection per request, so a reset is never hidden
// by net/http's retry of idempotent requests on a reused connection.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, DisableCompression: true}}
}

func do(t *testing.T, method, url string, body io.Reader) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	resp, err := client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestNewProxyRefusesNonLoopback(t *testing.T) {
	for _, target := range []string{
		"http://10.0.0.1:9000", "http://169.254.169.254", "http://example.com:80",
		"https://127.0.0.1:9000", "127.0.0.1:9000", "http://127.0.0.1:9000/bucket",
		"http://user:pw@127.0.0.1:9000", "http://[::ffff:8.8.8.8]:80",
	} {
		_, err := NewProxy(target, ProxyOptions{})
		require.Error(t, err, target)
		require.NotContains(t, err.Error(), "pw", "no secret in the error")
	}
	_, err := NewProxy("http://127.0.0.1:1", ProxyOptions{Rules: []Rule{{Kind: KindGet}}})
	require.ErrorContains(t, err, "Action")
	_, err = NewProxy("http://127.0.0.1:1", ProxyOptions{Rules: []Rule{{Action: Respond}}})
	require.ErrorContains(t, err, "Status")

	p, err := NewProxy("http://localhost:1", ProxyOptions{})
	require.NoError(t, err)
	defer p.Close()
	require.True(t, strings.HasPrefix(p.Addr(), "127.0.0.1:"), p.Addr())
	require.Equal(t, "http://"+p.Addr(), p.URL())
	require.Error(t, p.SetRules(Rule{}), "a rule needs an action")
}

func TestProxyForwardsAsIs(t *testing.T) {
	b := newBackend(t)
	p := newTestProxy(t, b, ProxyOptions{})
	const uri = "/bucket/a%20b/c%2Fd+e~%21?list-type=2&prefix=a%2Fb&x=%7E&empty="
	for _, host := range []string{"", "mybucket.s3.example.test:9000"} {
		req, err := http.NewRequest(http.MethodPut, p.URL()+uri, strings.NewReader("payload"))
		require.NoError(t, err)
		if host != "" {
			req.Host = host
		}
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")
		req.Header.Set("X-Amz-Date", "20260101T000000Z")
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		req.Header["X-Amz-Meta-Multi"] = []string{"1", "2"}
		req.Header.Set("Content-Type", "text/x-odd")
		resp, err := client().Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "ok", string(body))
		require.Equal(t, "7", resp.Header.Get("X-Got"))

		got := b.last()
		wantHost := host
		if host == "" {
			wantHost = p.Addr() // the client signs for the proxy's address
		}
		require.Equal(t, wantHost, got.Host, "the Host header is forwarded unchanged")
		require.Equal(t, uri, got.RequestURI, "path escaping and query are forwarded byte for byte")
		for _, k := range []string{"Authorization", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Meta-Multi", "Content-Type"} {
			require.Equal(t, req.Header[k], got.Header[k], k)
		}
		require.EqualValues(t, 7, got.ContentLength)
		require.Empty(t, got.Header.Get("X-Forwarded-For"))
	}
	require.EqualValues(t, 14, p.BytesIn())
	require.EqualValues(t, 4, p.BytesOut())
	require.Equal(t, 2, p.Count(KindPut))
}

func TestProxyHeadPassesContentLength(t *testing.T) {
	b := newBackend(t)
	p := newTestProxy(t, b, ProxyOptions{})
	resp, _, err := do(t, http.MethodHead, p.URL()+"/bucket/key?size=12345", nil)
	require.NoError(t, err)
	require.EqualValues(t, 12345, resp.ContentLength)
	require.Equal(t, `"abc"`, resp.Header.Get("Etag"))
	require.Equal(t, 1, p.Count(KindHead))
	require.Zero(t, p.BytesOut())
}

func TestProxyDialectErrors(t *testing.T) {
	type s3Err struct {
		Code, Message, Resource, RequestId string
	}
	tests := []struct {
		name    string
		dialect Dialect
		rule    Rule
		path    string
		status  int
		check   func(t *testing.T, h http.Header, body []byte)
	}{
		{"s3 slowdown", S3, Rule{Action: Throttle}, "/bucket/key", 503, func(t *testing.T, h http.Header, body []byte) {
			var e s3Err
			require.NoError(t, xml.Unmarshal(body, &e))
			require.Equal(t, "SlowDown", e.Code)
			require.Equal(t, "Please reduce your request rate.", e.Message)
			require.Equal(t, "/bucket/key", e.Resource)
			require.NotEmpty(t, e.RequestId)
			require.Equal(t, "application/xml", h.Get("Content-Type"))
		}},
		{"s3 internal", S3, Rule{Action: InternalError}, "/bucket/key", 500, func(t *testing.T, _ http.Header, body []byte) {
			var e s3Err
			require.NoError(t, xml.Unmarshal(body, &e))
			require.Equal(t, "InternalError", e.Code)
		}},
		{"gcs 503", GCS, Rule{Action: Throttle}, "/storage/v1/b/bkt/o", 503, func(t *testing.T, h http.Header, body []byte) {
			e := gcsErr(t, body)
			require.Equal(t, 503, e.Error.Code)
			require.Equal(t, "backendError", e.Error.Errors[0].Reason)
			require.Contains(t, h.Get("Content-Type"), "application/json")
		}},
		{"gcs 429", GCS, Rule{Action: Throttle, Status: 429}, "/upload/storage/v1/b/bkt/o", 429, func(t *testing.T, _ http.Header, body []byte) {
			e := gcsErr(t, body)
			require.Equal(t, 429, e.Error.Code)
			require.Equal(t, "rateLimitExceeded", e.Error.Errors[0].Reason)
		}},
		{"gcs 500", GCS, Rule{Action: InternalError}, "/storage/v1/b/bkt/o/k", 500, func(t *testing.T, _ http.Header, body []byte) {
			require.Equal(t, 500, gcsErr(t, body).Error.Code)
		}},
		{"gcs xml api", GCS, Rule{Action: Throttle}, "/bkt/k", 503, func(t *testing.T, _ http.Header, body []byte) {
			var e s3Err
			require.NoError(t, xml.Unmarshal(body, &e))
			require.NotEmpty(t, e.Code)
		}},
		{"azure busy", Azure, Rule{Action: Throttle}, "/devstoreaccount1/c/blob", 503, func(t *testing.T, h http.Header, body []byte) {
			var e s3Err
			require.NoError(t, xml.Unmarshal(body, &e))
			require.Equal(t, "ServerBusy", e.Code)
			require.Equal(t, "ServerBusy", h.Get("X-Ms-Error-Code"))
			require.Contains(t, e.Message, "RequestId:")
		}},
		{"azure internal", Azure, Rule{Action: InternalError}, "/devstoreaccount1/c/blob", 500, func(t *testing.T, h http.Header, _ []byte) {
			require.Equal(t, "InternalError", h.Get("X-Ms-Error-Code"))
		}},
		{"azure expired sas", Azure, Rule{Action: Respond, Status: 403, Code: "AuthenticationFailed",
			Message: "Server failed to authenticate the request. Signed expiry time [Mon, 01 Jan 2024 00:00:00 GMT] must be after signed start time"},
			"/devstoreaccount1/c/blob", 403, func(t *testing.T, h http.Header, body []byte) {
				require.Equal(t, "AuthenticationFailed", h.Get("X-Ms-Error-Code"))
				require.Contains(t, string(body), "Signed expiry time")
			}},
		{"raw respond", S3, Rule{Action: Respond, Status: 418, Body: []byte("teapot"), Header: http.Header{"X-Custom": {"1"}}},
			"/bucket/key", 418, func(t *testing.T, h http.Header, body []byte) {
				require.Equal(t, "teapot", string(body))
				require.Equal(t, "1", h.Get("X-Custom"))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t)
			p := newTestProxy(t, b, ProxyOptions{Dialect: tt.dialect, Rules: []Rule{tt.rule}})
			resp, body, err := do(t, http.MethodGet, p.URL()+tt.path, nil)
			require.NoError(t, err)
			require.Equal(t, tt.status, resp.StatusCode)
			tt.check(t, resp.Header, body)
			require.Zero(t, b.hits.Load(), "the request never reached the server")
			require.Equal(t, 1, p.Injected())
			require.EqualValues(t, len(body), p.BytesOut())

			// HEAD gets the status and headers without a body.
			resp, body, err = do(t, http.MethodHead, p.URL()+tt.path, nil)
			require.NoError(t, err)
			require.Equal(t, tt.status, resp.StatusCode)
			require.Empty(t, body)
		})
	}
}

type gcsError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Errors  []struct {
			Reason string `json:"reason"`
		} `json:"errors"`
	} `json:"error"`
}

func gcsErr(t *testing.T, body []byte) gcsError {
	t.Helper()
	var e gcsError
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.NotEmpty(t, e.Error.Message)
	require.Len(t, e.Error.Errors, 1)
	return e
}

func TestProxyResets(t *testing.T) {
	t.Run("before headers", func(t *testing.T) {
		b := newBackend(t)
		p := newTestProxy(t, b, ProxyOptions{Rules: []Rule{{Kind: KindGet, Action: Reset}}})
		_, _, err := do(t, http.MethodGet, p.URL()+"/bucket/key?size=10", nil)
		require.ErrorIs(t, err, syscall.ECONNRESET)
		require.Zero(t, b.hits.Load())
		require.Equal(t, 1, p.Injected())
	})
	t.Run("after forward", func(t *testing.T) {
		b := newBackend(t)
		p := newTestProxy(t, b, ProxyOptions{Rules: []Rule{{Kind: KindPut, Action: ResetAfterForward}}})
		_, _, err := do(t, http.MethodPut, p.URL()+"/bucket/key", strings.NewReader("data"))
		require.ErrorIs(t, err, syscall.ECONNRESET)
		require.EqualValues(t, 1, b.hits.Load(), "the server did the work")
		require.EqualValues(t, 4, b.bodyIn.Load())
		require.Equal(t, 1, p.Injected())
	})
	t.Run("after headers", func(t *testing.T) {
		b := newBackend(t)
		p := newTestProxy(t, b, ProxyOptions{Rules: []Rule{{Kind: KindGet, Action: ResetAfterHeaders, After: 1000}}})
		resp, body, err := do(t, http.MethodGet, p.URL()+"/bucket/key?size=100000", nil)
		require.ErrorIs(t, err, syscall.ECONNRESET)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.EqualValues(t, 100000, resp.ContentLength)
		require.LessOrEqual(t, len(body), 1000)
		require.Equal(t, 1, p.Injected())
	})
}

func TestProxyTruncate(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprint("chunked=", chunked), func(t *testing.T) {
			b := newBackend(t)
			p := newTestProxy(t, b, ProxyOptions{Rules: []Rule{{Kind: KindGet, Action: Truncate, After: 70000}}})
			url := p.URL() + "/bucket/key?size=200000"
			if chunked {
				url += "&chunked"
			}
			resp, body, err := do(t, http.MethodGet, url, nil)
			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			if !chunked {
				require.EqualValues(t, 200000, resp.ContentLength, "the full length is announced")
			}
			require.Len(t, body, 70000)
			require.Equal(t, patternCRC(70000), crc32.ChecksumIEEE(body))
			require.Equal(t, 1, p.Injected())
			require.EqualValues(t, 70000, p.BytesOut())

			// A body no longer than the cut passes whole, and is no fault.
			p.Reset()
			_, body, err = do(t, http.MethodGet, p.URL()+"/bucket/key?size=70000", nil)
			require.NoError(t, err)
			require.Len(t, body, 70000)
			require.Zero(t, p.Injected())
		})
	}
}

func TestProxyLatency(t *testing.T) {
	b := newBackend(t)
	p := newTestProxy(t, b, ProxyOptions{Rules: []Rule{{Kind: KindHead, Action: Slow, Latency: 80 * time.Millisecond}}})
	start := time.Now()
	resp, _, err := do(t, http.MethodHead, p.URL()+"/bucket/key", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond)
	require.Zero(t, p.Injected(), "latency is not a fault")

	// A client that gives up ends the wait and never reaches the server.
	require.NoError(t, p.SetRules(Rule{Action: Slow, Latency: time.Hour}))
	c := client()
	c.Timeout = 50 * time.Millisecond
	_, err = c.Get(p.URL() + "/bucket/key")
	require.Error(t, err)
	require.EqualValues(t, 1, b.hits.Load())
}

func TestProxyCountsS3(t *testing.T) {
	b := newBackend(t)
	p := newTestProxy(t, b, ProxyOptions{})
	type call struct {
		method, path string
		hdr          string // x-amz-copy-source when set
	}
	calls := []call{
		{"HEAD", "/bucket/key", ""},
		{"HEAD", "/bucket/key", ""},
		{"HEAD", "/bucket", ""},
		{"GET", "/bucket/key?size=10", ""},
		{"GET", "/bucket/key?uploadId=u1", ""},
		{"GET", "/bucket?list-type=2&prefix=a%2F&delimiter=%2F", ""},
		{"GET", "/bucket/", ""},
		{"GET", "/bucket?uploads&prefix=key", ""},
		{"GET", "/bucket?location", ""},
		{"PUT", "/bucket/key", ""},
		{"PUT", "/bucket/key?partNumber=1&uploadId=u1", ""},
		{"PUT", "/bucket/key?partNumber=2&uploadId=u1", ""},
		{"PUT", "/bucket/dst", "/bucket/key"},
		{"PUT", "/bucket/dst?partNumber=1&uploadId=u2", "/bucket/key"},
		{"POST", "/bucket/key?uploads", ""},
		{"POST", "/bucket/key?uploadId=u1", ""},
		{"POST", "/bucket?delete", ""},
		{"DELETE", "/bucket/key?uploadId=u1", ""},
		{"DELETE", "/bucket/key", ""},
	}
	for _, c := range calls {
		req, err := http.NewRequest(c.method, p.URL()+c.path, nil)
		require.NoError(t, err)
		if c.hdr != "" {
			req.Header.Set("X-Amz-Copy-Source", c.hdr)
		}
		resp, err := client().Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	require.Equal(t, map[string]int{
		KindHead: 2, KindBucket: 2, KindGet: 1, KindListParts: 1, KindList: 2, KindListUploads: 1,
		KindPut: 1, KindPutPart: 2, KindCopy: 1, KindCopyPart: 1, KindCreate: 1, KindComplete: 1,
		KindDeleteBatch: 1, KindAbort: 1, KindDelete: 1,
	}, p.Counts())
	require.Equal(t, 2, p.Count(KindHead))
	require.Zero(t, p.Count(KindOther))
	okBodies := 0
	for _, c := range calls {
		if c.method != "GET" && c.method != "HEAD" {
			okBodies++
		}
	}
	require.EqualValues(t, 10+2*okBodies, p.BytesOut(), "10 object bytes plus the \"ok\" bodies")
	p.Reset()
	require.Empty(t, p.Counts())
	require.Zero(t, p.BytesOut())
}

func TestProxyNthAndMatch(t *testing.T) {
	b := newBackend(t)
	p := newTestProxy(t, b, ProxyOptions{Rules: []Rule{
		{Kind: KindGet, Nth: 2, Action: Throttle},
		{Match: func(r *http.Request) bool { return strings.Contains(r.URL.Path, "poison") }, Action: InternalError},
	}})
	var statuses []int
	for _, path := range []string{"/b/k1", "/b/k2", "/b/poison", "/b/k3", "/b/poison"} {
		resp, _, err := do(t, http.MethodGet, p.URL()+path, nil)
		require.NoError(t, err)
		statuses = append(statuses, resp.StatusCode)
	}
	require.Equal(t, []int{200, 503, 500, 200, 500}, statuses)
	require.Equal(t, 3, p.Injected())
	require.EqualValues(t, 2, b.hits.Load())
	require.Equal(t, 5, p.Count(KindGet))

	// Rules are replaced at run time, counts start afresh.
	require.NoError(t, p.SetRules(Rule{Kind: KindGet, Nth: 1, Action: Throttle}))
	resp, _, err := do(t, http.MethodGet, p.URL()+"/b/poison", nil)
	require.NoError(t, err)
	require.Equal(t, 503, resp.StatusCode)
	resp, _, err = do(t, http.MethodGet, p.URL()+"/b/poison", nil)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
}

func TestProxyRateReproducible(t *testing.T) {
	run := func(seed int64) ([]int, int) {
		b := newBackend(t)
		p := newTestProxy(t, b, ProxyOptions{Seed: seed, Rules: []Rule{{Kind: KindGet, Rate: 0.3, Action: Throttle}}})
		var out []int
		for range 100 {
			resp, _, err := do(t, http.MethodGet, p.URL()+"/b/k", nil)
			require.NoError(t, err)
			out = append(out, resp.StatusCode)
		}
		return out, p.Injected()
	}
	a, na := run(42)
	b, nb := run(42)
	c, _ := run(43)
	require.Equal(t, a, b)
	require.Equal(t, na, nb)
	require.InDelta(t, 30, na, 18)
	require.NotEqual(t, a, c)
}

func TestProxyConcurrent(t *testing.T) {
	b := newBackend(t)
	p := newTestProxy(t, b, ProxyOptions{Seed: 1, Rules: []Rule{{Rate: 0.5, Action: Throttle}}})
	c := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}}
	var wg sync.WaitGroup
	var throttled atomic.Int64
	for range 8 {
		wg.Go(func() {
			for range 25 {
				resp, err := c.Get(p.URL() + "/b/k?size=100")
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 503 {
					throttled.Add(1)
				}
				_ = p.Counts()
			}
		})
	}
	require.NoError(t, p.SetRules(Rule{Rate: 0.5, Action: Throttle}))
	wg.Wait()
	require.Equal(t, 200, p.Count(KindGet))
	require.EqualValues(t, p.Injected(), throttled.Load())
	require.EqualValues(t, 200-throttled.Load(), b.hits.Load())
}

// TestProxyStreamsLargeBodies moves 64 MiB each way and checks the bytes
// and that the process did not allocate anything near the body size: the
// proxy streams, it does not buffer.
func TestProxyStreamsLargeBodies(t *testing.T) {
	const size = 64 << 20
	b := newBackend(t)
	p := newTestProxy(t, b, ProxyOptions{})
	c := client()

	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}

	var got uint32
	alloc := allocated(func() {
		resp, err := c.Get(p.URL() + "/bucket/big?size=" + strconv.Itoa(size))
		require.NoError(t, err)
		defer resp.Body.Close()
		require.EqualValues(t, size, resp.ContentLength)
		h := crc32.NewIEEE()
		n, err := io.Copy(h, resp.Body)
		require.NoError(t, err)
		require.EqualValues(t, size, n)
		got = h.Sum32()
	})
	require.Equal(t, patternCRC(size), got)
	require.EqualValues(t, size, p.BytesOut())
	t.Logf("download through the proxy allocated %d KiB", alloc>>10)
	require.Less(t, alloc, uint64(size/4), "download allocated %d bytes", alloc)

	alloc = allocated(func() {
		req, err := http.NewRequest(http.MethodPut, p.URL()+"/bucket/big", io.LimitReader(&pattern{}, size))
		require.NoError(t, err)
		req.ContentLength = size
		resp, err := c.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, strconv.Itoa(size), resp.Header.Get("X-Got"))
	})
	require.EqualValues(t, size, p.BytesIn())
	require.EqualValues(t, size, b.bodyIn.Load())
	t.Logf("upload through the proxy allocated %d KiB", alloc>>10)
	require.Less(t, alloc, uint64(size/4), "upload allocated %d bytes", alloc)
	require.Equal(t, 1, p.Count(KindGet))
	require.Equal(t, 1, p.Count(KindPut))
}
