package faulty

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Action is what a proxy Rule does to a request it fires on. The zero
// value is not an action: NewProxy and SetRules refuse a rule without one.
type Action uint8

const (
	_ Action = iota
	// Throttle answers with the dialect's throttling error without
	// forwarding: Status (default 503; 429 for GCS's rateLimitExceeded)
	// with S3's SlowDown, GCS's JSON error or Azure's ServerBusy.
	Throttle
	// InternalError answers Status (default 500) with the dialect's
	// InternalError / backendError, without forwarding.
	InternalError
	// Respond answers Status with Body and Header, without forwarding. With
	// no Body but a Code, the body is the dialect's error for Code and
	// Message (e.g. Azure 403 AuthenticationFailed for an expired SAS).
	Respond
	// Reset resets the client's connection (RST, so the client sees
	// ECONNRESET) before any response, without forwarding. net/http's
	// client silently retries an idempotent request (GET, HEAD) once when
	// this happens on a reused keep-alive connection, as it would against a
	// real server: the retry is a new request, counted and ruled on anew.
	Reset
	// ResetAfterForward forwards the request, lets the server finish it,
	// then resets the client's connection before any response: the request
	// took effect but the client cannot know.
	ResetAfterForward
	// ResetAfterHeaders forwards, sends the status line, headers and at
	// most After body bytes, then resets the connection.
	ResetAfterHeaders
	// Truncate forwards and sends the headers (the full Content-Length
	// included) and After body bytes, then closes the connection, so the
	// client sees io.ErrUnexpectedEOF. A body no longer than After passes
	// whole and the fault is not counted.
	Truncate
	// Slow only adds Latency; the request is then forwarded. It is not
	// counted as a fault.
	Slow
)

func (a Action) String() string {
	names := [...]string{"unset", "throttle", "internal-error", "respond", "reset",
		"reset-after-forward", "reset-after-headers", "truncate", "slow"}
	if int(a) < len(names) {
		return names[a]
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// Rule picks requests passing through a Proxy and injects a fault.
//
// A request matches when Kind and Match accept it. Of the requests it
// matches, the rule fires on the Nth only (Nth > 0), or at Rate (a seeded
// draw per matching request, 0 < Rate < 1), or on every one (Nth == 0, Rate
// 0 or >= 1); Times > 0 caps how often it fires. Rules are tried in order:
// every matching rule counts the request, the Latency of every firing rule
// is added up and waited first, and the first firing rule whose Action is
// not Slow decides the fault.
type Rule struct {
	// Kind is one of the Kind constants; "" matches every request.
	Kind string
	// Match, when set, must also accept the request. It must not read the
	// body; it runs under the proxy's mutex.
	Match func(*http.Request) bool

	Nth   int
	Times int
	Rate  float64

	Action Action
	// Status overrides the status of Throttle and InternalError; Respond
	// requires it.
	Status int
	// Code and Message make Respond's body in the dialect's error format
	// when Body is nil.
	Code, Message string
	// Body and Header are Respond's body and extra headers.
	Body   []byte
	Header http.Header
	// After is the body bytes Truncate and ResetAfterHeaders send first.
	After int64
	// Latency delays the request before its fault (for any Action); a
	// client that gives up ends the wait.
	Latency time.Duration
}

func (r *Rule) check() error {
	switch {
	case r.Action == 0 || r.Action > Slow:
		return fmt.Errorf("faulty: rule for kind %q has no valid Action", r.Kind)
	case r.Action == Respond && (r.Status < 100 || r.Status > 999):
		return fmt.Errorf("faulty: Respond rule for kind %q needs a Status", r.Kind)
	case r.After < 0 || r.Nth < 0 || r.Times < 0 || r.Rate < 0 || r.Latency < 0:
		return fmt.Errorf("faulty: rule for kind %q has a negative field", r.Kind)
	}
	return nil
}

// ProxyOptions configure NewProxy.
type ProxyOptions struct {
	// Dialect selects classification and error formats (default S3).
	Dialect Dialect
	// Seed seeds the source Rate rules draw from.
	Seed int64
	// Rules are the initial rules; SetRules replaces them.
	Rules []Rule
}

// Proxy is a loopback HTTP reverse proxy that injects faults. It is safe
// for concurrent use.
type Proxy struct {
	target    *url.URL
	dialect   Dialect
	seed      int64
	ln        net.Listener
	srv       *http.Server
	transport *http.Transport
	bytesOut  atomic.Int64
	bytesIn   atomic.Int64
	reqID     atomic.Int64

	mu sync.Mutex
	// GUARDED_BY(mu): everything below.
	rng      *rand.Rand
	rules    []proxyRule
	counts   map[string]int
	injected int
}

type proxyRule struct {
	Rule
	sel selector
}

var _ http.Handler = (*Proxy)(nil)

// NewProxy starts a proxy on 127.0.0.1 (a free port) forwarding to target,
// which must be an http:// URL whose host is a loopback IP or "localhost".
// Close stops it.
func NewProxy(target string, opts ProxyOptions) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("faulty: bad proxy target: %w", err)
	}
	if u.Scheme != "http" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("faulty: proxy target must be http://HOST:PORT on loopback, got %q", u.Redacted())
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("faulty: proxy target %q is not on loopback", u.Host)
	}
	dialAddr := net.JoinHostPort(host, port)
	rules, err := newProxyRules(opts.Rules)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faulty: listen: %w", err)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	p := &Proxy{
		target:  &url.URL{Scheme: "http", Host: u.Host},
		dialect: opts.Dialect,
		seed:    opts.Seed,
		ln:      ln,
		transport: &http.Transport{
			Proxy: nil, // never an environment proxy
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "tcp", dialAddr) // only ever the target
			},
			DisableCompression:  true, // pass bodies as the server sent them
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		},
		rng:    rand.New(rand.NewSource(opts.Seed)),
		rules:  rules,
		counts: map[string]int{},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func newProxyRules(rs []Rule) ([]proxyRule, error) {
	out := make([]proxyRule, len(rs))
	for i, r := range rs {
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("rule %d: %w", i, err)
		}
		out[i] = proxyRule{Rule: r}
	}
	return out, nil
}

// URL is the proxy's base URL, "http://127.0.0.1:PORT".
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Addr is the proxy's "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops the proxy and closes its connections, both sides.
func (p *Proxy) Close() {
	_ = p.srv.Close()
	p.transport.CloseIdleConnections()
}

// SetRules replaces the rules; their counts start from zero. An invalid
// rule leaves the old rules in place.
func (p *Proxy) SetRules(rules ...Rule) error {
	rs, err := newProxyRules(rules)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.rules = rs
	p.mu.Unlock()
	return nil
}

// Counts returns a copy of the request counts by kind.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts)
}

// Count returns how many requests of kind arrived, faulted ones included.
func (p *Proxy) Count(kind string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[kind]
}

// Injected returns how many faults were injected (latency not included).
func (p *Proxy) Injected() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.injected
}

// BytesOut returns the response body bytes sent to clients, made-up error
// bodies included.
func (p *Proxy) BytesOut() int64 { return p.bytesOut.Load() }

// BytesIn returns the request body bytes forwarded to the target.
func (p *Proxy) BytesIn() int64 { return p.bytesIn.Load() }

// Reset zeroes the counts, byte counters and every rule's counts, and
// reseeds the random source.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = map[string]int{}
	p.injected = 0
	p.bytesOut.Store(0)
	p.bytesIn.Store(0)
	p.rng = rand.New(rand.NewSource(p.seed))
	for i := range p.rules {
		p.rules[i].sel = selector{}
	}
}

func (p *Proxy) addInjected() {
	p.mu.Lock()
	p.injected++
	p.mu.Unlock()
}

// decision is what the rules chose for one request.
type decision struct {
	rule    *Rule // the fault; nil: forward unchanged
	latency time.Duration
}

func (p *Proxy) decide(kind string, r *http.Request) decision {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[kind]++
	var d decision
	for i := range p.rules {
		pr := &p.rules[i]
		if (pr.Kind != "" && pr.Kind != kind) || (pr.Match != nil && !pr.Match(r)) {
			continue
		}
		if d.rule != nil && pr.Action != Slow {
			pr.sel.seen++ // counted, but one fault per request
			continue
		}
		if !pr.sel.fires(pr.Nth, pr.Times, pr.Rate, p.rng) {
			continue
		}
		d.latency += pr.Latency
		if pr.Action != Slow {
			rule := pr.Rule // a copy: SetRules may run meanwhile
			d.rule = &rule
			switch rule.Action {
			case Truncate: // counted when the cut happens
			default:
				p.injected++
			}
		}
	}
	return d
}

// ServeHTTP classifies, counts, applies the rules and forwards.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := p.decide(Classify(p.dialect, r), r)
	if err := sleep(r.Context(), d.latency); err != nil {
		return
	}
	if d.rule == nil {
		p.forward(w, r, nil)
		return
	}
	switch d.rule.Action {
	case Throttle:
		status := d.rule.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		code, msg := p.dialect.throttleError(status)
		p.respondError(w, r, status, code, msg)
	case InternalError:
		status := d.rule.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		code, msg := p.dialect.internalError()
		p.respondError(w, r, status, code, msg)
	case Respond:
		if d.rule.Body == nil && d.rule.Code != "" {
			p.respondError(w, r, d.rule.Status, d.rule.Code, d.rule.Message)
			return
		}
		p.respond(w, r, d.rule.Status, d.rule.Header, d.rule.Body)
	case Reset:
		abortConn(w, true)
	default:
		p.forward(w, r, d.rule)
	}
}

func (p *Proxy) respondError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	h, body := p.dialect.errorResponse(r, status, code, msg, requestID(p.reqID.Add(1)))
	p.respond(w, r, status, h, body)
}

func (p *Proxy) respond(w http.ResponseWriter, r *http.Request, status int, h http.Header, body []byte) {
	for k, vs := range h {
		w.Header()[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	n, _ := w.Write(body)
	p.bytesOut.Add(int64(n))
}

// hopHeaders are the connection-level headers a proxy does not forward.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
}

// forward sends r to the target as it came (method, escaped path, raw
// query, Host, headers but the hop-by-hop ones, streamed body) and streams
// the answer back, applying rule (ResetAfterForward, ResetAfterHeaders,
// Truncate) when set.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, rule *Rule) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	u := *r.URL
	u.Scheme, u.Host = p.target.Scheme, p.target.Host
	out.URL = &u
	out.Host = r.Host // signatures cover the Host the client used
	removeHopHeaders(out.Header)
	out.Close = false
	rc := http.NewResponseController(w)
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		out.Body = &countingBody{rc: r.Body, n: &p.bytesIn}
		// The server may answer before it has read the whole body.
		_ = rc.EnableFullDuplex()
	}
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client went away
		}
		http.Error(w, "faulty proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if rule != nil && rule.Action == ResetAfterForward {
		_, _ = io.Copy(io.Discard, resp.Body) // let the server finish
		abortConn(w, true)
		return
	}
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = append([]string(nil), vs...)
	}
	removeHopHeaders(h)
	for _, k := range []string{"Content-Type", "Date"} {
		if _, ok := h[k]; !ok {
			h[k] = nil // suppress what net/http would add
		}
	}
	if resp.ContentLength >= 0 && h.Get("Content-Length") == "" && r.Method != http.MethodHead {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	for k := range resp.Trailer {
		h.Add("Trailer", k)
	}
	w.WriteHeader(resp.StatusCode)
	_ = rc.Flush()
	limit := int64(-1)
	if rule != nil && (rule.Action == Truncate || rule.Action == ResetAfterHeaders) {
		limit = rule.After
	}
	cut, err := p.copyBody(w, rc, resp.Body, limit)
	switch {
	case cut && rule.Action == Truncate:
		p.addInjected()
		abortConn(w, false)
	case rule != nil && rule.Action == ResetAfterHeaders:
		abortConn(w, true)
	case err != nil:
		// The server's body broke: break the client's too, rather than
		// let it see a short body as complete.
		abortConn(w, false)
	default:
		for k, vs := range resp.Trailer {
			h[http.TrailerPrefix+k] = vs
		}
	}
}

// copyBody streams body to w, flushing every write so nothing accumulates.
// With limit >= 0 it stops after limit bytes and reports cut when the body
// had more.
func (p *Proxy) copyBody(w http.ResponseWriter, rc *http.ResponseController, body io.Reader, limit int64) (cut bool, err error) {
	buf := make([]byte, 32<<10)
	var sent int64
	for {
		chunk := buf
		if limit >= 0 {
			if sent >= limit {
				n, err := body.Read(buf[:1])
				if n == 0 && errors.Is(err, io.EOF) {
					return false, nil
				}
				return true, nil
			}
			if rem := limit - sent; rem < int64(len(chunk)) {
				chunk = chunk[:rem]
			}
		}
		n, rerr := body.Read(chunk)
		if n > 0 {
			m, werr := w.Write(chunk[:n])
			sent += int64(m)
			p.bytesOut.Add(int64(m))
			if werr != nil {
				return false, werr
			}
			if ferr := rc.Flush(); ferr != nil {
				return false, ferr
			}
		}
		if errors.Is(rerr, io.EOF) {
			return false, nil
		}
		if rerr != nil {
			return false, rerr
		}
	}
}

// abortConn ends the client's connection without completing the response:
// with rst, by a TCP reset (SO_LINGER 0), so the client reads ECONNRESET;
// otherwise by a normal close after flushing what was written. It never
// returns normally when the connection cannot be hijacked.
func abortConn(w http.ResponseWriter, rst bool) {
	rc := http.NewResponseController(w)
	if !rst {
		_ = rc.Flush()
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && rst {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// countingBody counts the request body bytes read through it.
type countingBody struct {
	rc io.ReadCloser
	n  *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return c.rc.Close() }
