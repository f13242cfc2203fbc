package faulty

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"sync"
	"time"

	"github.com/byobfs/byob/providers"
)

// Op names, as Store rules, Calls and the Before hook see them. They match
// the Op of the providers.OpError a backend returns.
const (
	OpStat            = "stat"
	OpList            = "list"
	OpGet             = "get"
	OpPut             = "put"
	OpDelete          = "delete"
	OpCopy            = "copy"
	OpCreateMultipart = "create-multipart"
	OpResumeMultipart = "resume-multipart"
	OpUploadPart      = "upload-part"
	OpListParts       = "list-parts"
	OpComplete        = "complete"
	OpAbort           = "abort"
)

// StoreAction is what a StoreRule does to a call it fires on.
type StoreAction uint8

const (
	// Fail (the zero value) fails the call before it reaches the inner
	// store, with the rule's Err or the Store's default error.
	Fail StoreAction = iota
	// Cut lets a Get or List start and breaks it later: a Get body returns
	// an error after After bytes, a List returns one after delivering After
	// entries. A stream that ends at or before the cut point ends normally
	// (and the fault is not counted). On other ops Cut acts as Fail.
	Cut
	// Delay only adds the rule's Latency; the call then proceeds.
	Delay
)

func (a StoreAction) String() string {
	switch a {
	case Fail:
		return "fail"
	case Cut:
		return "cut"
	case Delay:
		return "delay"
	}
	return fmt.Sprintf("StoreAction(%d)", uint8(a))
}

// StoreRule picks calls of a Store and injects a fault into them.
//
// A call matches when Op, Key and Match all accept it. Of the calls it
// matches, the rule fires on the Nth only (Nth > 0), or at Rate (a seeded
// draw per matching call, 0 < Rate < 1), or on every one (Nth == 0 and Rate
// 0 or >= 1); Times > 0 caps how often it fires. Rules are tried in order:
// every matching rule counts the call, the Latency of every firing rule is
// added up, and the first firing Fail or Cut rule decides the fault (later
// ones do not fire on that call).
type StoreRule struct {
	// Op is one of the Op constants; "" matches every op.
	Op string
	// Key, when set, matches only calls on exactly this key: the object key,
	// the prefix for List, the destination for Copy, the upload's key for
	// the multipart ops.
	Key string
	// Match, when set, must also accept the call. It runs under the Store's
	// mutex: it must not call the Store.
	Match func(op, key string) bool

	Nth   int
	Times int
	Rate  float64

	Action StoreAction
	// Err is the error Fail and Cut return; nil means the default (see
	// Options.Err, and Cut).
	Err error
	// After is, for Cut, the bytes of a Get body or the entries of a List
	// delivered before the error.
	After int64
	// Latency delays the call before its fault (for any Action), honouring ctx.
	Latency time.Duration
}

// FailNth fails the nth call (1-based) of op with the default error.
func FailNth(op string, n int) StoreRule { return StoreRule{Op: op, Nth: n, Action: Fail} }

// FailRate fails calls of op with probability p, drawn from the seeded source.
func FailRate(op string, p float64) StoreRule { return StoreRule{Op: op, Rate: p, Action: Fail} }

// CutGet makes every Get body fail after n bytes, with an error wrapping
// providers.ErrUnavailable, io.ErrUnexpectedEOF and ErrInjected.
func CutGet(n int64) StoreRule { return StoreRule{Op: OpGet, Action: Cut, After: n} }

// CutList makes every List fail after delivering k entries, with an error
// wrapping providers.ErrUnavailable and ErrInjected.
func CutList(k int) StoreRule { return StoreRule{Op: OpList, Action: Cut, After: int64(k)} }

// AddLatency delays every call of op ("" for all) by d.
func AddLatency(op string, d time.Duration) StoreRule {
	return StoreRule{Op: op, Action: Delay, Latency: d}
}

func (r *StoreRule) matches(op, key string) bool {
	return (r.Op == "" || r.Op == op) && (r.Key == "" || r.Key == key) &&
		(r.Match == nil || r.Match(op, key))
}

// Options configure Wrap. The zero value injects nothing.
type Options struct {
	// Seed seeds the source Rate rules draw from.
	Seed int64
	// Rules are the initial rules; SetRules replaces them.
	Rules []StoreRule
	// Err, when set, makes the error of Fail rules that have no Err of their
	// own. The default is providers.NewOpError(op, key, providers.ErrServer,
	// ErrInjected).
	Err func(op, key string) error
	// Before, when set, runs before every call (after it is counted, before
	// the rules); a non-nil error fails the call with that error, counted as
	// injected. It runs outside the Store's mutex and may block.
	Before func(op, key string) error
}

// Store decorates a providers.Store with fault injection. It is safe for
// concurrent use.
type Store struct {
	inner providers.Store
	seed  int64
	errFn func(op, key string) error // immutable after Wrap

	mu sync.Mutex
	// GUARDED_BY(mu): everything below.
	rng      *rand.Rand
	rules    []storeRule
	before   func(op, key string) error
	calls    map[string]int
	injected int
}

type storeRule struct {
	StoreRule
	sel selector
}

var (
	_ providers.Store       = (*Store)(nil)
	_ providers.Multiparter = (*Store)(nil)
	_ providers.Closer      = (*Store)(nil)
)

// Wrap returns a Store forwarding to s under opts. The result always
// implements providers.Multiparter; see the package doc.
func Wrap(s providers.Store, opts Options) *Store {
	w := &Store{
		inner:  s,
		seed:   opts.Seed,
		errFn:  opts.Err,
		rng:    rand.New(rand.NewSource(opts.Seed)),
		before: opts.Before,
		calls:  map[string]int{},
	}
	w.rules = newStoreRules(opts.Rules)
	return w
}

func newStoreRules(rs []StoreRule) []storeRule {
	out := make([]storeRule, len(rs))
	for i, r := range rs {
		out[i] = storeRule{StoreRule: r}
	}
	return out
}

// Inner returns the wrapped store.
func (s *Store) Inner() providers.Store { return s.inner }

// SetRules replaces the rules; their counts start from zero.
func (s *Store) SetRules(rules ...StoreRule) {
	rs := newStoreRules(rules)
	s.mu.Lock()
	s.rules = rs
	s.mu.Unlock()
}

// SetBefore replaces the Before hook (nil removes it).
func (s *Store) SetBefore(f func(op, key string) error) {
	s.mu.Lock()
	s.before = f
	s.mu.Unlock()
}

// Calls returns how many calls of op were made, faulted ones included.
func (s *Store) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Injected returns how many faults were injected (Before errors included).
func (s *Store) Injected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.injected
}

// Reset zeroes the call and fault counts and every rule's counts, and
// reseeds the random source, so what follows behaves as after Wrap.
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.injected = 0
	s.rng = rand.New(rand.NewSource(s.seed))
	for i := range s.rules {
		s.rules[i].sel = selector{}
	}
}

func (s *Store) addInjected() {
	s.mu.Lock()
	s.injected++
	s.mu.Unlock()
}

// fault is what the rules decided for one call: none, or a Fail or Cut.
type fault struct {
	action StoreAction // Fail or Cut; meaningful when set
	set    bool
	err    error // the rule's Err, nil for the default
	after  int64
}

// begin counts the call, runs Before and the rules and waits out their
// latency. A non-nil error fails the call (it is already counted as
// injected); otherwise the fault, if set, is for the caller to apply.
func (s *Store) begin(ctx context.Context, op, key string) (fault, error) {
	s.mu.Lock()
	s.calls[op]++
	before := s.before
	s.mu.Unlock()
	if before != nil {
		if err := before(op, key); err != nil {
			s.addInjected()
			return fault{}, err
		}
	}
	var (
		f       fault
		latency time.Duration
	)
	s.mu.Lock()
	for i := range s.rules {
		r := &s.rules[i]
		if !r.matches(op, key) {
			continue
		}
		if f.set && r.Action != Delay {
			r.sel.seen++ // the call counts, but one fault per call
			continue
		}
		if !r.sel.fires(r.Nth, r.Times, r.Rate, s.rng) {
			continue
		}
		latency += r.Latency
		if r.Action != Delay {
			f = fault{action: r.Action, set: true, err: r.Err, after: r.After}
		}
	}
	s.mu.Unlock()
	if err := sleep(ctx, latency); err != nil {
		return fault{}, providers.NewOpError(op, key, nil, err)
	}
	if f.set && (f.action == Fail || (op != OpGet && op != OpList)) {
		s.addInjected()
		return fault{}, s.failErr(f.err, op, key)
	}
	return f, nil
}

func (s *Store) failErr(ruleErr error, op, key string) error {
	switch {
	case ruleErr != nil:
		return ruleErr
	case s.errFn != nil:
		return s.errFn(op, key)
	}
	return providers.NewOpError(op, key, providers.ErrServer, ErrInjected)
}

// Stat forwards to the inner store under the rules of OpStat.
func (s *Store) Stat(ctx context.Context, key string) (providers.ObjectInfo, error) {
	if _, err := s.begin(ctx, OpStat, key); err != nil {
		return providers.ObjectInfo{}, err
	}
	return s.inner.Stat(ctx, key)
}

// List forwards to the inner store under the rules of OpList (the key is
// opts.Prefix). A Cut rule stops the listing after After entries.
func (s *Store) List(ctx context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	f, err := s.begin(ctx, OpList, opts.Prefix)
	if err != nil {
		return err
	}
	if !f.set {
		return s.inner.List(ctx, opts, fn)
	}
	var n int64
	err = s.inner.List(ctx, opts, func(e providers.Entry) error {
		if n >= f.after {
			return errStopList
		}
		n++
		return fn(e)
	})
	if !errors.Is(err, errStopList) {
		return err
	}
	s.addInjected()
	if f.err != nil {
		return f.err
	}
	return providers.NewOpError(OpList, opts.Prefix, providers.ErrUnavailable,
		fmt.Errorf("listing cut after %d entries: %w", n, ErrInjected))
}

// Get forwards to the inner store under the rules of OpGet. A Cut rule
// wraps the body so that it fails after After bytes.
func (s *Store) Get(ctx context.Context, key string, off, length int64, opts providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	f, err := s.begin(ctx, OpGet, key)
	if err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	rc, info, err := s.inner.Get(ctx, key, off, length, opts)
	if err != nil || !f.set {
		return rc, info, err
	}
	cutErr := f.err
	if cutErr == nil {
		cutErr = providers.NewOpError(OpGet, key, providers.ErrUnavailable,
			fmt.Errorf("%w: body cut after %d bytes: %w", io.ErrUnexpectedEOF, f.after, ErrInjected))
	}
	return &cutReader{rc: rc, left: f.after, err: cutErr, fire: s.addInjected}, info, nil
}

// Put forwards to the inner store under the rules of OpPut.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	if _, err := s.begin(ctx, OpPut, key); err != nil {
		return providers.ObjectInfo{}, err
	}
	return s.inner.Put(ctx, key, r, size, opts)
}

// Delete forwards to the inner store under the rules of OpDelete.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.begin(ctx, OpDelete, key); err != nil {
		return err
	}
	return s.inner.Delete(ctx, key)
}

// Copy forwards to the inner store under the rules of OpCopy; rules see
// the destination key.
func (s *Store) Copy(ctx context.Context, src, dst string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	if _, err := s.begin(ctx, OpCopy, dst); err != nil {
		return providers.ObjectInfo{}, err
	}
	return s.inner.Copy(ctx, src, dst, opts)
}

// Capabilities returns the inner store's, unchanged and uncounted.
func (s *Store) Capabilities() providers.Capabilities { return s.inner.Capabilities() }

// Close closes the inner store when it is a providers.Closer.
func (s *Store) Close() error {
	if c, ok := s.inner.(providers.Closer); ok {
		return c.Close()
	}
	return nil
}

// cutReader passes at most left bytes of rc, then fails with err unless rc
// ends exactly there. Like any body it is read by one goroutine.
type cutReader struct {
	rc    io.ReadCloser
	left  int64
	err   error
	fire  func() // counts the fault, once
	fired bool
}

func (r *cutReader) Read(p []byte) (int, error) {
	if r.fired {
		return 0, r.err
	}
	if r.left <= 0 {
		var one [1]byte
		n, err := r.rc.Read(one[:])
		if n == 0 && err == io.EOF {
			return 0, io.EOF
		}
		r.fired = true
		r.fire()
		return 0, r.err
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.rc.Read(p)
	r.left -= int64(n)
	return n, err
}

func (r *cutReader) Close() error { return r.rc.Close() }
