package transfer

import (
	"bytes"
	"context"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
	"github.com/byobfs/byob/providers/mem"
	"github.com/byobfs/byob/providers/wrap"
)

// smallMem is a mem store with 1 KiB minimum parts.
func smallMem(maxParts int) *mem.Store {
	return mem.New(mem.Options{MinPartSize: 1 << 10, MaxParts: maxParts})
}

func testOptions() Options {
	o := DefaultOptions()
	o.PartSize = 1 << 10
	return o
}

func readAll(t *testing.T, st providers.Store, key string) []byte {
	t.Helper()
	rc, _, err := st.Get(context.Background(), key, 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

func requireCRC(t *testing.T, info providers.ObjectInfo, data []byte) {
	t.Helper()
	want := providers.CRC32C(crc32.Checksum(data, providers.CRC32CTable))
	for _, c := range info.Checksums {
		if c.Algorithm == providers.ChecksumCRC32C {
			require.True(t, c.Equal(want), "whole CRC32C %s, want %s", c, want)
			return
		}
	}
	t.Fatalf("no CRC32C in %v", info.Checksums)
}

// requireGone asserts the store no longer knows the upload.
func requireGone(t *testing.T, st providers.Store, key, id string) {
	t.Helper()
	require.NotEmpty(t, id)
	_, err := st.(providers.Multiparter).ResumeMultipart(context.Background(), key, id)
	require.ErrorIs(t, err, providers.ErrUploadNotFound)
}

func TestUploadFileSmallIsOnePut(t *testing.T) {
	ctx := context.Background()
	f := faulty.Wrap(smallMem(0), faulty.Options{})
	u := NewUploader(retried(f, 20), testOptions())
	data := randBytes(1, 1<<10) // exactly one part
	info, err := u.UploadFile(ctx, "k", bytes.NewReader(data), int64(len(data)), SourceFingerprint{}, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, f.Calls(faulty.OpPut))
	require.Equal(t, 0, f.Calls(faulty.OpCreateMultipart))
	require.Equal(t, data, readAll(t, f, "k"))
	requireCRC(t, info, data)
}

func TestUploadFilePartCountLimit(t *testing.T) {
	ctx := context.Background()
	f := faulty.Wrap(smallMem(8), faulty.Options{})
	u := NewUploader(retried(f, 20), testOptions())
	data := randBytes(4, 100<<10)
	_, err := u.UploadFile(ctx, "k", bytes.NewReader(data), int64(len(data)), SourceFingerprint{}, providers.PutOptions{})
	require.NoError(t, err)
	require.LessOrEqual(t, f.Calls(faulty.OpUploadPart), 8)
	require.Greater(t, f.Calls(faulty.OpUploadPart), 1)
	require.Equal(t, data, readAll(t, f, "k"))

	ps, err := filePartSize(10<<40, 0, providers.Capabilities{MinPartSize: 5 << 20, MaxPartSize: 5 << 30, MaxParts: 10000})
	require.NoError(t, err)
	require.Equal(t, int64(1049)<<20, ps, "10 TiB in 10,000 parts of whole MiB")
	_, err = filePartSize(1<<30, 0, providers.Capabilities{MinPartSize: 1, MaxPartSize: 1 << 20, MaxParts: 10})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
}

// pseudoStream yields n pseudo-random bytes in odd-sized reads, hiding its size.
type pseudoStream struct {
	data []byte
	off  int
}

func (s *pseudoStream) Read(p []byte) (int, error) {
	if s.off >= len(s.data) {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 777)], s.data[s.off:])
	s.off += n
	return n, nil
}

func TestUploadStreamGrowsParts(t *testing.T) {
	ctx := context.Background()
	m := mem.New(mem.Options{MinPartSize: 1 << 10, MaxParts: 20, MaxObjectSize: 1 << 20})
	f := faulty.Wrap(m, faulty.Options{Seed: 5, Rules: []faulty.StoreRule{faulty.FailRate(faulty.OpUploadPart, 0.2)}})
	u := NewUploader(retried(f, 20), testOptions())
	data := randBytes(7, 300<<10) // far more than 20 parts of 1 KiB
	info, err := u.UploadStream(ctx, "s", &pseudoStream{data: data}, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, data, readAll(t, f, "s"))
	requireCRC(t, info, data)

	sz := newStreamSizer(1<<10, m.Capabilities())
	require.GreaterOrEqual(t, sz.capacity(20), int64(1<<20), "20 parts reach MaxObjectSize")
	require.Equal(t, int64(1<<10), sz.size(1))

	s3 := newStreamSizer(0, providers.Capabilities{MinPartSize: 5 << 20, MaxPartSize: 5 << 30, MaxParts: 10000, MaxObjectSize: 5 << 40})
	require.GreaterOrEqual(t, s3.capacity(10000), int64(5<<40))
	require.Greater(t, s3.every, 100, "S3 parts grow slowly")

	// Short streams are one Put; too long ones fail and are aborted.
	f.SetRules()
	f.Reset()
	_, err = u.UploadStream(ctx, "short", &pseudoStream{data: data[:1000]}, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, f.Calls(faulty.OpPut))
	require.Equal(t, 0, f.Calls(faulty.OpCreateMultipart))
	require.Equal(t, data[:1000], readAll(t, f, "short"))

	_, err = u.UploadStream(ctx, "huge", &pseudoStream{data: make([]byte, 2<<20)}, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	require.Equal(t, 1, f.Calls(faulty.OpAbort))
}

func TestUploadStreamMemoryCap(t *testing.T) {
	ctx := context.Background()
	f := faulty.Wrap(smallMem(0), faulty.Options{Rules: []faulty.StoreRule{faulty.AddLatency(faulty.OpUploadPart, time.Millisecond)}})
	o := testOptions()
	o.PartSize = 4 << 10
	o.Concurrency = 4
	o.MemoryLimit = 4 * 4 << 10 // 4 parts in flight + 1 being read: the pool must throttle the reader
	u := NewUploader(retried(f, 20), o)
	data := randBytes(8, 200<<10)

	var mu sync.Mutex
	maxLive := int64(0)
	invariantsBroken := 0 // counted here, asserted on the test's goroutine
	u.o.AfterPart = func(int) {
		in, _ := u.mem.InUse()
		ok := u.mem.checkInvariants()
		mu.Lock()
		maxLive = max(maxLive, in)
		if !ok {
			invariantsBroken++
		}
		mu.Unlock()
	}
	_, err := u.UploadStream(ctx, "s", &pseudoStream{data: data}, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, data, readAll(t, f, "s"))
	_, peak := u.mem.InUse()
	require.LessOrEqual(t, peak, o.MemoryLimit)
	require.Equal(t, int64(4*4<<10), peak, "four 4 KiB buffers live at the peak")
	require.LessOrEqual(t, maxLive, o.MemoryLimit)
	require.Zero(t, invariantsBroken, "the pool's invariants held after every part")
	in, _ := u.mem.InUse()
	require.Zero(t, in)
	require.True(t, u.mem.checkInvariants())
}

func TestUploadStreamSpills(t *testing.T) {
	ctx := context.Background()
	f := faulty.Wrap(smallMem(0), faulty.Options{})
	dir := t.TempDir()
	o := testOptions()
	o.PartSize = 8 << 10
	o.Concurrency = 2
	o.MemoryLimit = 8 << 10 // threshold 4 KiB: 8 KiB parts spill
	o.SpillDir = dir
	spilled := 0
	var mu sync.Mutex
	o.AfterPart = func(int) {
		ents, _ := os.ReadDir(dir)
		mu.Lock()
		spilled = max(spilled, len(ents))
		mu.Unlock()
	}
	u := NewUploader(retried(f, 20), o)
	data := randBytes(9, 50<<10)
	_, err := u.UploadStream(ctx, "s", &pseudoStream{data: data}, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, data, readAll(t, f, "s"))
	require.Greater(t, spilled, 0, "parts went through spill files")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, ents, "spill files removed")
	_, peak := u.mem.InUse()
	require.Zero(t, peak, "no part buffer in memory")
}

func TestUploadWithoutMultipart(t *testing.T) {
	ctx := context.Background()
	st := onlyStore{smallMem(0)}
	u := NewUploader(retried(st, 20), testOptions())
	data := randBytes(10, 10<<10)
	_, err := u.UploadFile(ctx, "k", bytes.NewReader(data), int64(len(data)), SourceFingerprint{}, providers.PutOptions{})
	require.NoError(t, err)
	_, err = u.UploadStream(ctx, "s", &pseudoStream{data: data}, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, data, readAll(t, st, "k"))
	require.Equal(t, data, readAll(t, st, "s"))
	_, isMP := u.st.(providers.Multiparter)
	require.False(t, isMP)
}

// onlyStore hides every optional interface of a store.
type onlyStore struct{ providers.Store }

// gateStore holds every UploadPart until want parts are in flight at once
// (or a deadline passes), recording the most seen, so a test can prove
// UploadFile really sends Concurrency parts concurrently.
type gateStore struct {
	*mem.Store
	want int

	mu       sync.Mutex
	inFlight int
	peak     int
	timedOut bool          // a part gave up waiting at the gate
	arrived  chan struct{} // closed when inFlight first reaches want
}

func (g *gateStore) CreateMultipart(ctx context.Context, key string, opts providers.PutOptions) (providers.Upload, error) {
	up, err := g.Store.CreateMultipart(ctx, key, opts)
	if err != nil {
		return nil, err
	}
	return &gateUpload{Upload: up, g: g}, nil
}

type gateUpload struct {
	providers.Upload
	g *gateStore
}

func (u *gateUpload) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (providers.Part, error) {
	g := u.g
	g.mu.Lock()
	g.inFlight++
	g.peak = max(g.peak, g.inFlight)
	if g.inFlight == g.want {
		select {
		case <-g.arrived:
		default:
			close(g.arrived)
		}
	}
	g.mu.Unlock()
	select {
	case <-g.arrived:
	case <-time.After(30 * time.Second):
		g.mu.Lock()
		g.timedOut = true
		g.mu.Unlock()
	}
	defer func() {
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
	}()
	return u.Upload.UploadPart(ctx, n, r, size, opts)
}

func TestUploadFilePartsInFlight(t *testing.T) {
	const conc = 4
	g := &gateStore{Store: smallMem(0), want: conc, arrived: make(chan struct{})}
	o := testOptions()
	o.Concurrency = conc
	u := NewUploader(retried(g, 20), o)
	data := randBytes(5, 16<<10) // 16 parts of 1 KiB
	info, err := u.UploadFile(context.Background(), "k", bytes.NewReader(data), int64(len(data)), SourceFingerprint{}, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, data, readAll(t, g, "k"))
	requireCRC(t, info, data)
	require.Equal(t, conc, g.peak, "parts in flight at once")
	require.False(t, g.timedOut, "the parts met at the gate instead of waiting it out")
}

// retried is st with every call retried up to attempts times without
// sleeping: the stores the uploader is given retry (wrap.Stack).
func retried(st providers.Store, attempts int) providers.Store {
	return wrap.Retrying(st, wrap.RetryPolicy{MaxAttempts: attempts, Initial: time.Millisecond, Max: 8 * time.Millisecond,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
}

func randBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
