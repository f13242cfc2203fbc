package integration

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
	"github.com/byobfs/byob/providers/minio"
	"github.com/byobfs/byob/providers/wrap"
	"github.com/byobfs/byob/transfer"
	"github.com/byobfs/byob/transfer/transfertest"
)

// genReaderAt is a deterministic pseudo-random io.ReaderAt of size bytes
// that costs no RAM beyond one 1 MiB block: MiB number c of the object is
// the block rotated by an offset drawn from c, so every MiB differs and a
// part put at the wrong offset changes the hash. Reading is a memmove.
type genReaderAt struct {
	size  int64
	seed  uint64
	block []byte // 2 MiB: the 1 MiB block twice, so a rotation is one slice
}

const genBlock = 1 << 20

func newGen(size int64, seed uint64) genReaderAt {
	b := make([]byte, 2*genBlock)
	for i := 0; i < genBlock; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], splitmix(seed^uint64(i)))
	}
	copy(b[genBlock:], b[:genBlock])
	return genReaderAt{size: size, seed: seed, block: b}
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (g genReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= g.size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > g.size-off {
		n = int(g.size - off)
	}
	for i := 0; i < n; {
		pos := off + int64(i)
		c := uint64(pos) / genBlock
		in := int((splitmix(c^g.seed) + uint64(pos%genBlock)) % genBlock)
		i += copy(p[i:n], g.block[in:in+genBlock-int(pos%genBlock)])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func sha256Of(t testing.TB, r io.Reader) [32]byte {
	t.Helper()
	h := sha256.New()
	_, err := io.CopyBuffer(h, r, make([]byte, 1<<20))
	require.NoError(t, err)
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// openMinIO opens the minio store of bucket, through endpoint when set.
func openMinIO(t testing.TB, s *testenv.S3Server, bucket, endpoint string) (providers.Store, string) {
	t.Helper()
	a, err := providers.ParseAddress(s.Address(bucket))
	require.NoError(t, err)
	if endpoint != "" {
		a.Endpoint = endpoint // the fault proxy, as ?endpoint= would set it
	}
	st, err := minio.Open(context.Background(), a, minio.DefaultOptions())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st, a.Redacted()
}

// requireNoUpload checks, on the server directly, that neither the journaled
// upload ID nor any upload of key is left.
func requireNoUpload(t *testing.T, s *testenv.S3Server, direct providers.Store, bucket, key, id string) {
	t.Helper()
	require.NotEmpty(t, id, "the upload ID was journaled")
	_, err := direct.(providers.Multiparter).ResumeMultipart(context.Background(), key, id)
	require.ErrorIs(t, err, providers.ErrUploadNotFound)
	c, err := s.Client()
	require.NoError(t, err)
	for u := range c.ListIncompleteUploads(context.Background(), bucket, key, false) {
		require.NoError(t, u.Err)
		require.NotEqual(t, key, u.Key, "upload %s of %q left behind", u.UploadID, u.Key)
	}
}

// recordID returns an AfterPart hook saving the journaled upload ID.
func recordID(j transfer.Journal, store, key string, id *atomic.Value) func(int) {
	return func(int) {
		if rec, _ := j.LoadUpload(context.Background(), store, key); rec != nil {
			id.Store(rec.UploadID)
		}
	}
}

// TestTransferFaulty1GiB: a 1 GiB upload and download through a proxy that
// fails about 10% of requests (503 SlowDown, connection resets, truncated
// bodies, and one Complete that succeeds but whose answer is lost) produce
// the exact bytes and leave no upload behind.
func TestTransferFaulty1GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB transfer")
	}
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	proxy, err := faulty.NewProxy(s.URL, faulty.ProxyOptions{Dialect: faulty.S3, Seed: 42, Rules: []faulty.Rule{
		{Kind: faulty.KindComplete, Nth: 1, Action: faulty.ResetAfterForward},
		{Rate: 0.05, Action: faulty.Throttle},
		{Rate: 0.04, Action: faulty.Reset},
		{Kind: faulty.KindGet, Rate: 0.05, Action: faulty.Truncate, After: 1 << 20},
		{Kind: faulty.KindPutPart, Rate: 0.03, Action: faulty.ResetAfterHeaders},
	}})
	require.NoError(t, err)
	defer proxy.Close()
	st, storeID := openMinIO(t, s, bucket, proxy.URL())
	direct, _ := openMinIO(t, s, bucket, "")

	const size = 1 << 30
	src := newGen(size, 1)
	want := sha256Of(t, io.NewSectionReader(src, 0, size))
	retry := wrap.RetryPolicy{MaxAttempts: 10, Initial: 10 * time.Millisecond, Max: 200 * time.Millisecond}
	j := transfertest.NewMemJournal()
	var id atomic.Value
	o := transfer.DefaultOptions()
	o.Journal, o.StoreID = j, storeID
	st = wrap.Retrying(st, retry)
	o.AfterPart = recordID(j, storeID, "big/object", &id)

	ctx := context.Background()
	start := time.Now()
	info, err := transfer.NewUploader(st, o).UploadFile(ctx, "big/object", src, size,
		transfer.SourceFingerprint{Path: "gen", Size: size}, providers.PutOptions{})
	require.NoError(t, err)
	up := time.Since(start)
	require.EqualValues(t, size, info.Size)
	require.Equal(t, 0, j.Len())
	requireNoUpload(t, s, direct, bucket, "big/object", id.Load().(string))

	out, err := os.Create(filepath.Join(t.TempDir(), "download"))
	require.NoError(t, err)
	defer out.Close()
	start = time.Now()
	dinfo, err := transfer.NewDownloader(st, transfer.DownloadOptions{}).Download(ctx, "big/object", out)
	require.NoError(t, err)
	down := time.Since(start)
	require.EqualValues(t, size, dinfo.Size)
	_, err = out.Seek(0, io.SeekStart)
	require.NoError(t, err)
	require.Equal(t, want, sha256Of(t, out), "downloaded bytes are the uploaded ones")

	counts := proxy.Counts()
	t.Logf("upload %v, download %v; proxy: %d faults injected, requests %v, %d MiB to the server",
		up.Round(time.Millisecond), down.Round(time.Millisecond), proxy.Injected(), counts, proxy.BytesOut()>>20)
	require.Greater(t, proxy.Injected(), 8, "faults were injected")
	require.GreaterOrEqual(t, counts[faulty.KindComplete], 2, "the lost Complete answer was retried")
}

// TestTransferAbortOnPermanentError: a part refused with 403 fails the upload,
// which is aborted on the server and forgotten by the journal.
func TestTransferAbortOnPermanentError(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	proxy, err := faulty.NewProxy(s.URL, faulty.ProxyOptions{Rules: []faulty.Rule{
		{Kind: faulty.KindPutPart, Nth: 3, Action: faulty.Respond, Status: 403, Code: "AccessDenied", Message: "Access Denied."},
	}})
	require.NoError(t, err)
	defer proxy.Close()
	st, storeID := openMinIO(t, s, bucket, proxy.URL())
	direct, _ := openMinIO(t, s, bucket, "")

	const size = 40 << 20
	j := transfertest.NewMemJournal()
	var id atomic.Value
	o := transfer.DefaultOptions()
	o.PartSize = 5 << 20
	o.Concurrency = 1
	o.Journal, o.StoreID = j, storeID
	o.AfterPart = recordID(j, storeID, "denied", &id)
	_, err = transfer.NewUploader(wrap.Retrying(st, wrap.DefaultRetryPolicy()), o).UploadFile(context.Background(), "denied", newGen(size, 2), size,
		transfer.SourceFingerprint{Size: size}, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrPermission)
	require.Equal(t, 1, proxy.Count(faulty.KindAbort))
	require.Equal(t, 0, j.Len())
	requireNoUpload(t, s, direct, bucket, "denied", id.Load().(string))
	_, err = direct.Stat(context.Background(), "denied")
	require.ErrorIs(t, err, providers.ErrNotExist)
}

// TestTransferResumeOnMinIO: an upload cancelled after 3 parts is resumed
// from the journal by a new Uploader, which sends only the missing parts.
func TestTransferResumeOnMinIO(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	proxy, err := faulty.NewProxy(s.URL, faulty.ProxyOptions{})
	require.NoError(t, err)
	defer proxy.Close()
	st, storeID := openMinIO(t, s, bucket, proxy.URL())

	const size = 60<<20 + 12345 // 12 parts of 5 MiB
	src := newGen(size, 3)
	fp := transfer.SourceFingerprint{Path: "gen3", Size: size, ModTime: time.Unix(1700000000, 0)}
	j := transfertest.NewMemJournal()
	o := transfer.DefaultOptions()
	o.PartSize, o.Concurrency, o.Journal, o.StoreID = 5<<20, 2, j, storeID
	ctx, cancel := context.WithCancel(context.Background())
	o.AfterPart = func(n int) {
		if n == 3 {
			cancel()
		}
	}
	_, err = transfer.NewUploader(wrap.Retrying(st, wrap.DefaultRetryPolicy()), o).UploadFile(ctx, "resumed", src, size, fp, providers.PutOptions{})
	require.ErrorIs(t, err, context.Canceled)
	rec, err := j.LoadUpload(context.Background(), storeID, "resumed")
	require.NoError(t, err)
	require.NotNil(t, rec)
	done := len(rec.Parts)
	require.GreaterOrEqual(t, done, 3)

	// The second run's calls are counted at the store, not at the proxy:
	// requests the first run started just before its cancel can reach the
	// proxy after that run has returned.
	counted := faulty.Wrap(st, faulty.Options{})
	o.AfterPart = nil
	_, err = transfer.NewUploader(counted, o).UploadFile(context.Background(), "resumed", src, size, fp, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, 13-done, counted.Calls(faulty.OpUploadPart), "only missing parts sent")
	require.Equal(t, 0, counted.Calls(faulty.OpCreateMultipart))
	rc, _, err := st.Get(context.Background(), "resumed", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	defer rc.Close()
	require.Equal(t, sha256Of(t, io.NewSectionReader(src, 0, size)), sha256Of(t, rc))
	direct, _ := openMinIO(t, s, bucket, "")
	requireNoUpload(t, s, direct, bucket, "resumed", rec.UploadID)
}
