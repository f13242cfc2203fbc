package s3compattest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

func loopback() *http.Transport {
	return &http.Transport{DialContext: testenv.LoopbackDialer(), MaxIdleConnsPerHost: 32}
}

// Parse parses addr or fails t.
func Parse(t *testing.T, addr string) providers.Address {
	t.Helper()
	a, err := providers.ParseAddress(addr)
	require.NoError(t, err)
	return a
}

// newTestStore opens a store on a fresh bucket of the plain MinIO.
func newTestStore(t *testing.T, b Backend, mod ...func(*s3compat.Options)) (Store, *testenv.S3Server) {
	t.Helper()
	srv := testenv.MinIO(t)
	opts := s3compat.Options{Transport: loopback()}
	for _, m := range mod {
		m(&opts)
	}
	st, err := b.Open(context.Background(), Parse(t, srv.Address(srv.NewBucket(t))), opts)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st, srv
}

func put(t *testing.T, st providers.Store, key, data string) providers.ObjectInfo {
	t.Helper()
	info, err := st.Put(context.Background(), key, strings.NewReader(data), int64(len(data)), providers.PutOptions{})
	require.NoError(t, err)
	return info
}

func read(t *testing.T, st providers.Store, key string, off, n int64, opts providers.GetOptions) (string, providers.ObjectInfo, error) {
	t.Helper()
	rc, info, err := st.Get(context.Background(), key, off, n, opts)
	if err != nil {
		return "", info, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(b), info, nil
}

func crc(b []byte) providers.Checksum {
	return providers.CRC32C(crc32.Checksum(b, providers.CRC32CTable))
}

func testReadWrite(t *testing.T, b Backend) {
	st, _ := newTestStore(t, b)
	ctx := context.Background()
	info, err := st.Put(ctx, "dir/a b+c%d.txt", strings.NewReader("hello world"), 11, providers.PutOptions{
		ContentType: "text/plain", Metadata: map[string]string{"mtime": "1700000000.5", "md5chksum": "x"},
	})
	require.NoError(t, err)
	require.NotEmpty(t, info.Version)
	require.False(t, strings.Contains(info.Version, `"`))

	got, err := st.Stat(ctx, "dir/a b+c%d.txt")
	require.NoError(t, err)
	require.Equal(t, int64(11), got.Size)
	require.Equal(t, info.Version, got.Version)
	require.Equal(t, "text/plain", got.ContentType)
	require.Equal(t, map[string]string{"mtime": "1700000000.5", "md5chksum": "x"}, got.Metadata)

	for _, tc := range []struct {
		off, n int64
		want   string
	}{{0, -1, "hello world"}, {6, -1, "world"}, {0, 5, "hello"}, {6, 100, "world"}, {11, -1, ""}, {11, 5, ""}, {3, 0, ""}} {
		s, gi, err := read(t, st, "dir/a b+c%d.txt", tc.off, tc.n, providers.GetOptions{})
		require.NoError(t, err, "off %d n %d", tc.off, tc.n)
		require.Equal(t, tc.want, s, "off %d n %d", tc.off, tc.n)
		require.Equal(t, int64(11), gi.Size)
		require.Equal(t, info.Version, gi.Version)
	}
	_, _, err = read(t, st, "dir/a b+c%d.txt", 12, -1, providers.GetOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidRange)
	_, _, err = read(t, st, "dir/a b+c%d.txt", 0, -1, providers.GetOptions{IfMatch: "deadbeef"})
	require.ErrorIs(t, err, providers.ErrPrecondition)
	s, _, err := read(t, st, "dir/a b+c%d.txt", 0, 5, providers.GetOptions{IfMatch: info.Version})
	require.NoError(t, err)
	require.Equal(t, "hello", s)

	// Empty object: every read is empty, off 1 is past the end.
	put(t, st, "empty", "")
	s, gi, err := read(t, st, "empty", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	require.Empty(t, s)
	require.Zero(t, gi.Size)
	s, _, err = read(t, st, "empty", 0, 10, providers.GetOptions{})
	require.NoError(t, err)
	require.Empty(t, s)
	_, _, err = read(t, st, "empty", 1, -1, providers.GetOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidRange)

	_, err = st.Stat(ctx, "nope")
	require.ErrorIs(t, err, providers.ErrNotExist)
	var oe *providers.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, 404, oe.Status)
	_, _, err = read(t, st, "nope", 0, -1, providers.GetOptions{})
	require.ErrorIs(t, err, providers.ErrNotExist)
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "NoSuchKey", oe.Code)

	require.NoError(t, st.Delete(ctx, "empty"))
	require.NoError(t, st.Delete(ctx, "empty"))
	_, err = st.Stat(ctx, "empty")
	require.ErrorIs(t, err, providers.ErrNotExist)
}

func testPutSizeMismatchStoresNothing(t *testing.T, b Backend) {
	st, _ := newTestStore(t, b)
	ctx := context.Background()
	big := bytes.Repeat([]byte("x"), 3<<20) // past the SDK's Expect: 100-continue threshold
	for name, tc := range map[string]struct {
		data []byte
		size int64
	}{
		"short":       {[]byte("abc"), 4},
		"long":        {[]byte("abcde"), 4},
		"long-empty":  {[]byte("a"), 0},
		"short-large": {big[:len(big)-1], int64(len(big))},
		"long-large":  {big, int64(len(big)) - 1},
	} {
		t.Run(name, func(t *testing.T) {
			// iotest-style reader without Len/Seek so the SDK cannot peek.
			r := io.MultiReader(bytes.NewReader(tc.data))
			_, err := st.Put(ctx, name, r, tc.size, providers.PutOptions{})
			require.ErrorIs(t, err, providers.ErrSizeMismatch)
			_, err = st.Stat(ctx, name)
			require.ErrorIs(t, err, providers.ErrNotExist, "a wrong-size body must store nothing")
		})
	}
}

func testConditionalWrites(t *testing.T, b Backend) {
	st, _ := newTestStore(t, b)
	ctx := context.Background()
	v1, err := st.Put(ctx, "k", strings.NewReader("one"), 3, providers.PutOptions{IfNoneMatch: "*"})
	require.NoError(t, err)
	_, err = st.Put(ctx, "k", strings.NewReader("two"), 3, providers.PutOptions{IfNoneMatch: "*"})
	require.ErrorIs(t, err, providers.ErrPrecondition)
	_, err = st.Put(ctx, "k", strings.NewReader("two"), 3, providers.PutOptions{IfMatch: "0123456789abcdef0123456789abcdef"})
	require.ErrorIs(t, err, providers.ErrPrecondition)
	v2, err := st.Put(ctx, "k", strings.NewReader("two"), 3, providers.PutOptions{IfMatch: v1.Version})
	require.NoError(t, err)
	require.NotEqual(t, v1.Version, v2.Version)
	_, err = st.Put(ctx, "k", strings.NewReader("two"), 3, providers.PutOptions{IfNoneMatch: "abc"})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
}

func testChecksums(t *testing.T, b Backend) {
	st, _ := newTestStore(t, b)
	ctx := context.Background()
	data := []byte("checksummed bytes")
	_, err := st.Put(ctx, "good", bytes.NewReader(data), int64(len(data)), providers.PutOptions{Checksum: crc(data)})
	require.NoError(t, err)
	info, err := st.Stat(ctx, "good")
	require.NoError(t, err)
	c, ok := info.Checksum(providers.ChecksumCRC32C)
	require.True(t, ok, "the server reports the CRC32C it stored")
	require.True(t, c.Equal(crc(data)))

	_, err = st.Put(ctx, "bad", bytes.NewReader(data), int64(len(data)), providers.PutOptions{Checksum: crc([]byte("other"))})
	require.ErrorIs(t, err, providers.ErrChecksum)
	_, err = st.Stat(ctx, "bad")
	require.ErrorIs(t, err, providers.ErrNotExist)

	md5Wrong := providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: make([]byte, 16)}
	_, err = st.Put(ctx, "badmd5", bytes.NewReader(data), int64(len(data)), providers.PutOptions{Checksum: md5Wrong})
	require.ErrorIs(t, err, providers.ErrChecksum)
	require.True(t, st.Capabilities().Verifies(providers.ChecksumCRC32C))
}

func testList(t *testing.T, b Backend) {
	st, _ := newTestStore(t, b)
	ctx := context.Background()
	keys := []string{"a-b", "a/b", "a/c/d", "a/e", "b", "c/x", "c/y", "ü", "sp ace", "plus+"}
	for _, k := range keys {
		put(t, st, k, k)
	}
	list := func(o providers.ListOptions) []string {
		var out []string
		require.NoError(t, st.List(ctx, o, func(e providers.Entry) error {
			k := e.Key
			if e.IsPrefix {
				k += "*"
			} else {
				require.Equal(t, int64(len(e.Key)), e.Size)
				require.NotEmpty(t, e.Version)
			}
			out = append(out, k)
			return nil
		}))
		return out
	}
	require.Equal(t, []string{"a-b", "a/b", "a/c/d", "a/e", "b", "c/x", "c/y", "plus+", "sp ace", "ü"}, list(providers.ListOptions{}))
	require.Equal(t, []string{"a-b", "a/*", "b", "c/*", "plus+", "sp ace", "ü"}, list(providers.ListOptions{Delimiter: "/"}))
	require.Equal(t, []string{"a/b", "a/c/*", "a/e"}, list(providers.ListOptions{Prefix: "a/", Delimiter: "/"}))
	require.Equal(t, []string{"b", "c/*", "plus+", "sp ace", "ü"}, list(providers.ListOptions{Delimiter: "/", StartAfter: "a/c/d"}))
	require.Equal(t, []string{"a/e"}, list(providers.ListOptions{Prefix: "a/", Delimiter: "/", StartAfter: "a/c/d"}))
	require.Equal(t, []string{"c/y", "plus+", "sp ace", "ü"}, list(providers.ListOptions{StartAfter: "c/x"}))

	stop := errors.New("stop")
	n := 0
	err := st.List(ctx, providers.ListOptions{}, func(providers.Entry) error { n++; return stop })
	require.Same(t, stop, err)
	require.Equal(t, 1, n)
}

func testListPagesMergeInOrder(t *testing.T, b Backend) {
	// More than one page (1000 entries) of interleaved objects and prefixes.
	st, _ := newTestStore(t, b)
	ctx := context.Background()
	const n = 1100
	sem := make(chan struct{}, 16)
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		for _, k := range []string{keyN(i) + "-", keyN(i) + "/x"} {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				_, err := st.Put(ctx, k, strings.NewReader("v"), 1, providers.PutOptions{})
				errs <- err
			}()
		}
	}
	for i := 0; i < 2*n; i++ {
		require.NoError(t, <-errs)
	}
	var got []providers.Entry
	require.NoError(t, st.List(ctx, providers.ListOptions{Delimiter: "/"}, func(e providers.Entry) error {
		got = append(got, e)
		return nil
	}))
	require.Len(t, got, 2*n)
	for i, e := range got {
		if i > 0 {
			require.Less(t, got[i-1].Key, e.Key)
		}
		require.Equal(t, i%2 == 1, e.IsPrefix, e.Key) // "k00000-" < "k00000/"

	}
}

func keyN(i int) string { return "k" + strings.Repeat("0", 5-len(itoa(i))) + itoa(i) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func testCopy(t *testing.T, b Backend) {
	st, _ := newTestStore(t, b)
	ctx := context.Background()
	src, err := st.Put(ctx, "src key?#%+", strings.NewReader("payload"), 7, providers.PutOptions{
		ContentType: "text/x", Metadata: map[string]string{"mtime": "1"}})
	require.NoError(t, err)
	info, err := st.Copy(ctx, "src key?#%+", "dst", providers.CopyOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(7), info.Size)
	got, err := st.Stat(ctx, "dst")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"mtime": "1"}, got.Metadata)
	require.Equal(t, "text/x", got.ContentType)
	require.Equal(t, got.Version, info.Version)

	_, err = st.Copy(ctx, "src key?#%+", "dst2", providers.CopyOptions{Metadata: map[string]string{"mtime": "2"}, ContentType: "text/y", IfMatch: src.Version})
	require.NoError(t, err)
	got, err = st.Stat(ctx, "dst2")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"mtime": "2"}, got.Metadata)
	require.Equal(t, "text/y", got.ContentType)

	_, err = st.Copy(ctx, "src key?#%+", "dst3", providers.CopyOptions{IfMatch: "0123456789abcdef0123456789abcdef"})
	require.ErrorIs(t, err, providers.ErrPrecondition)
	_, err = st.Copy(ctx, "missing", "dst3", providers.CopyOptions{})
	require.ErrorIs(t, err, providers.ErrNotExist)
}

func testMultipartCopy(t *testing.T, b Backend) {
	st, _ := newTestStore(t, b, func(o *s3compat.Options) { o.MultipartCopyThreshold = 6 << 20; o.CopyPartSize = 5 << 20 })
	ctx := context.Background()
	data := make([]byte, 11<<20+3)
	_, _ = rand.Read(data)
	src, err := st.Put(ctx, "big", bytes.NewReader(data), int64(len(data)), providers.PutOptions{Metadata: map[string]string{"mtime": "7"}})
	require.NoError(t, err)
	info, err := st.Copy(ctx, "big", "big copy", providers.CopyOptions{IfMatch: src.Version})
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), info.Size)
	require.True(t, strings.HasSuffix(info.ETag, `-3"`), "a three-part multipart ETag, got %s", info.ETag)
	s, gi, err := read(t, st, "big copy", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	require.True(t, s == string(data))
	require.Equal(t, map[string]string{"mtime": "7"}, gi.Metadata)
	_, err = st.Copy(ctx, "big", "big2", providers.CopyOptions{IfMatch: "0123456789abcdef0123456789abcdef"})
	require.ErrorIs(t, err, providers.ErrPrecondition)
}

func testMultipart(t *testing.T, b Backend) {
	st, _ := newTestStore(t, b)
	ctx := context.Background()
	p1 := bytes.Repeat([]byte("1"), 5<<20)
	p2 := []byte("tail")
	up, err := st.CreateMultipart(ctx, "mp", providers.PutOptions{ContentType: "app/x", Metadata: map[string]string{"mtime": "3"},
		Checksum: providers.Checksum{Algorithm: providers.ChecksumCRC32C}})
	require.NoError(t, err)
	require.Equal(t, "mp", up.Key())
	// A wrong part CRC32C is refused.
	_, err = up.UploadPart(ctx, 1, bytes.NewReader(p1), int64(len(p1)), providers.PartOptions{Checksum: crc(p2)})
	require.ErrorIs(t, err, providers.ErrChecksum)
	part1, err := up.UploadPart(ctx, 1, bytes.NewReader(p1), int64(len(p1)), providers.PartOptions{Checksum: crc(p1)})
	require.NoError(t, err)
	_, err = up.UploadPart(ctx, 2, io.NewSectionReader(bytes.NewReader(p2), 0, 3), 4, providers.PartOptions{Checksum: crc(p2)})
	require.ErrorIs(t, err, providers.ErrSizeMismatch)

	// Another process resumes from the ID.
	re, err := st.ResumeMultipart(ctx, "mp", up.ID())
	require.NoError(t, err)
	part2, err := re.UploadPart(ctx, 2, bytes.NewReader(p2), int64(len(p2)), providers.PartOptions{Checksum: crc(p2)})
	require.NoError(t, err)
	parts, err := re.ListParts(ctx)
	require.NoError(t, err)
	require.Len(t, parts, 2)
	require.Equal(t, part1.ETag, parts[0].ETag)
	require.Equal(t, int64(len(p1)), parts[0].Size)
	require.True(t, parts[1].Checksum.Equal(crc(p2)))
	info, err := re.Complete(ctx, []providers.Part{part1, part2}, providers.CompleteOptions{IfNoneMatch: "*"})
	require.NoError(t, err)
	require.Equal(t, int64(len(p1)+len(p2)), info.Size)
	require.Equal(t, "app/x", info.ContentType)
	require.Equal(t, "3", info.Metadata["mtime"])
	s, _, err := read(t, st, "mp", int64(len(p1))-1, -1, providers.GetOptions{IfMatch: info.Version})
	require.NoError(t, err)
	require.Equal(t, "1tail", s)

	// Conditions at Complete.
	up2, err := st.CreateMultipart(ctx, "mp", providers.PutOptions{})
	require.NoError(t, err)
	q, err := up2.UploadPart(ctx, 1, bytes.NewReader(p2), int64(len(p2)), providers.PartOptions{})
	require.NoError(t, err)
	_, err = up2.Complete(ctx, []providers.Part{q}, providers.CompleteOptions{IfNoneMatch: "*"})
	require.ErrorIs(t, err, providers.ErrPrecondition)
	_, err = up2.Complete(ctx, []providers.Part{q}, providers.CompleteOptions{IfMatch: info.Version})
	require.NoError(t, err)

	// Abort, twice; a gone upload cannot be resumed.
	up3, err := st.CreateMultipart(ctx, "mp3", providers.PutOptions{})
	require.NoError(t, err)
	require.NoError(t, up3.Abort(ctx))
	require.NoError(t, up3.Abort(ctx))
	_, err = st.ResumeMultipart(ctx, "mp3", up3.ID())
	require.ErrorIs(t, err, providers.ErrUploadNotFound)
	_, err = st.ResumeMultipart(ctx, "mp3", "bm90LWFuLXVwbG9hZA")
	require.ErrorIs(t, err, providers.ErrUploadNotFound)
}

func testPresign(t *testing.T, b Backend) {
	st, srv := newTestStore(t, b)
	ctx := context.Background()
	hc := srv.HTTPClient()
	u, h, err := st.Presign(ctx, providers.PresignRequest{Method: "PUT", Key: "pre/signed", Expiry: time.Minute,
		Put: providers.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"mtime": "5"}}})
	require.NoError(t, err)
	req, _ := http.NewRequest("PUT", u, strings.NewReader("via url"))
	req.Header = h
	resp, err := hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	info, err := st.Stat(ctx, "pre/signed")
	require.NoError(t, err)
	require.Equal(t, "5", info.Metadata["mtime"])
	require.Equal(t, "text/plain", info.ContentType)

	u, h, err = st.Presign(ctx, providers.PresignRequest{Method: "GET", Key: "pre/signed", Expiry: time.Minute})
	require.NoError(t, err)
	req, _ = http.NewRequest("GET", u, nil)
	req.Header = h
	resp, err = hc.Do(req)
	require.NoError(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "via url", string(got))

	// A part upload by URL.
	up, err := st.CreateMultipart(ctx, "pre/mp", providers.PutOptions{})
	require.NoError(t, err)
	u, h, err = st.Presign(ctx, providers.PresignRequest{Method: "PUT", Key: "pre/mp", Expiry: time.Minute, UploadID: up.ID(), PartNumber: 1})
	require.NoError(t, err)
	req, _ = http.NewRequest("PUT", u, strings.NewReader("part"))
	req.Header = h
	resp, err = hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	parts, err := up.ListParts(ctx)
	require.NoError(t, err)
	require.Len(t, parts, 1)
	_, err = up.Complete(ctx, parts, providers.CompleteOptions{})
	require.NoError(t, err)

	u, h, err = st.Presign(ctx, providers.PresignRequest{Method: "DELETE", Key: "pre/mp", Expiry: time.Minute})
	require.NoError(t, err)
	req, _ = http.NewRequest("DELETE", u, nil)
	req.Header = h
	resp, err = hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 204, resp.StatusCode)
	_, err = st.Stat(ctx, "pre/mp")
	require.ErrorIs(t, err, providers.ErrNotExist)
}

// newVirtualHostedStore opens a cw:// address whose endpoint is the plain
// MinIO under its MINIO_DOMAIN: requests go to BUCKET.s3.byob.test:PORT.
func newVirtualHostedStore(t *testing.T, b Backend) Store {
	t.Helper()
	srv := testenv.MinIO(t)
	bucket := srv.NewBucket(t)
	port := strings.TrimPrefix(srv.Endpoint, "127.0.0.1:")
	a := Parse(t, "cw://"+srv.AccessKey+":"+strings.NewReplacer("/", "%2F", "+", "%2B").Replace(srv.SecretKey)+
		"@"+bucket+"?endpoint=http://"+testenv.MinIODomain+":"+port+"&region=us-east-1")
	st, err := b.Open(context.Background(), a, s3compat.Options{Transport: loopback()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func testVirtualHostedCoreWeaveAddress(t *testing.T, b Backend) {
	srv := testenv.MinIO(t)
	port := strings.TrimPrefix(srv.Endpoint, "127.0.0.1:")
	st := newVirtualHostedStore(t, b)
	bucket := st.Bucket()
	require.False(t, b.PathStyle(st))
	ctx := context.Background()
	put(t, st, "vh/key", "virtual")
	s, _, err := read(t, st, "vh/key", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "virtual", s)
	var keys []string
	require.NoError(t, st.List(ctx, providers.ListOptions{}, func(e providers.Entry) error { keys = append(keys, e.Key); return nil }))
	require.Equal(t, []string{"vh/key"}, keys)
	// The request really went to bucket.s3.byob.test: a presigned URL shows the host.
	u, _, err := st.Presign(ctx, providers.PresignRequest{Method: "GET", Key: "vh/key", Expiry: time.Minute})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u, "http://"+bucket+"."+testenv.MinIODomain+":"+port+"/vh/key?"), providers.RedactURL(u))
}

func testTLSWithCustomCAAndBundle(t *testing.T, b Backend) {
	require.NotEmpty(t, os.Getenv("AWS_CA_BUNDLE"), "this test is about AWS_CA_BUNDLE being set")
	srv := testenv.MinIOTLS(t)
	bucket := srv.NewBucket(t)
	a := Parse(t, srv.Address(bucket))
	require.True(t, a.TLS)

	// Without the test CA the certificate is refused.
	st, err := b.Open(context.Background(), a, s3compat.Options{Transport: loopback()})
	require.NoError(t, err)
	_, err = st.Stat(context.Background(), "x")
	require.Error(t, err)
	require.NotErrorIs(t, err, providers.ErrNotExist)

	st, err = b.Open(context.Background(), a, s3compat.Options{Transport: loopback(), CACertsPEM: srv.CACertPEM})
	require.NoError(t, err)
	put(t, st, "tls", "secure")
	s, _, err := read(t, st, "tls", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "secure", s)

	// The CA may also come only from AWS_CA_BUNDLE.
	f := t.TempDir() + "/ca.pem"
	require.NoError(t, os.WriteFile(f, srv.CACertPEM, 0o600))
	t.Setenv("AWS_CA_BUNDLE", f)
	st, err = b.Open(context.Background(), a, s3compat.Options{Transport: loopback()})
	require.NoError(t, err)
	_, err = st.Stat(context.Background(), "tls")
	require.NoError(t, err)
}

func testWrongSecretIsPermissionWithoutSecret(t *testing.T, b Backend) {
	srv := testenv.MinIO(t)
	bucket := srv.NewBucket(t)
	const secret = "Wr0ng/Secret+Key/abcdefghijklmnopqrstuv"
	a := Parse(t, srv.Address(bucket))
	a.Secret = secret
	st, err := b.Open(context.Background(), a, s3compat.Options{Transport: loopback()})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = st.Put(ctx, "k", strings.NewReader("v"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrPermission)
	require.NotContains(t, err.Error(), secret)
	_, _, err = st.Get(ctx, "k", 0, -1, providers.GetOptions{})
	require.ErrorIs(t, err, providers.ErrPermission)
	require.NotContains(t, err.Error(), secret)
	_, err = st.Stat(ctx, "k")
	require.ErrorIs(t, err, providers.ErrPermission)
	var oe *providers.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, 403, oe.Status)
	err = st.List(ctx, providers.ListOptions{}, func(providers.Entry) error { return nil })
	require.ErrorIs(t, err, providers.ErrPermission)
	require.NotContains(t, err.Error(), secret)
	require.NotContains(t, err.Error(), srv.SecretKey)
}

func testUnreachableIsUnavailableQuickly(t *testing.T, b Backend) {
	const secret = "Un/reach+able/Secret0123456789abcdefghij"
	a := Parse(t, "s3://AKIDEXAMPLE:"+strings.NewReplacer("/", "%2F", "+", "%2B").Replace(secret)+"@127.0.0.1:1/bucket?tls=false")
	st, err := b.Open(context.Background(), a, s3compat.Options{Transport: loopback()})
	require.NoError(t, err)
	ctx := context.Background()
	start := time.Now()
	_, err = st.Stat(ctx, "k")
	require.ErrorIs(t, err, providers.ErrUnavailable)
	require.NotContains(t, err.Error(), secret)
	_, err = st.Put(ctx, "k", strings.NewReader("v"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrUnavailable)
	_, _, err = st.Get(ctx, "k", 0, -1, providers.GetOptions{})
	require.ErrorIs(t, err, providers.ErrUnavailable)
	require.NotContains(t, err.Error(), "X-Amz-", "no query strings in error texts")
	require.Less(t, time.Since(start), 2*time.Second, "no SDK retries")

	// A pre-signed URL's signature never shows in errors either.
	u, _, err := st.Presign(ctx, providers.PresignRequest{Method: "GET", Key: "k", Expiry: time.Minute})
	require.NoError(t, err)
	require.Contains(t, u, "X-Amz-Signature=")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = st.Stat(cctx, "k")
	require.ErrorIs(t, err, context.Canceled)
}

// TestMinIOHidesPrefixUnderObject pins the reason ObjectPrefixCoexist is
// false off AWS: MinIO accepts "a" and "a/b" but lists nothing under "a/".
// If MinIO fixes this, the test fails and the capability can be true.
func testMinIOHidesPrefixUnderObject(t *testing.T, b Backend) {
	st, _ := newTestStore(t, b)
	require.False(t, st.Capabilities().ObjectPrefixCoexist)
	require.False(t, st.Capabilities().ConflictsRefused, "the conflict check costs requests: off by default")
	// With CheckPrefixConflicts the store refuses what MinIO would hide.
	st, _ = newTestStore(t, b, func(o *s3compat.Options) { o.CheckPrefixConflicts = true })
	require.True(t, st.Capabilities().ConflictsRefused)
	put(t, st, "a", "1")
	_, err := st.Put(context.Background(), "a/b", strings.NewReader("2"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey, "the store guards what MinIO would hide")
	put(t, st, "c/d", "1")
	_, err = st.Put(context.Background(), "c", strings.NewReader("2"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	// Unguarded, MinIO takes "a/b" and hides it from every listing.
	yes := true
	st, _ = newTestStore(t, b, func(o *s3compat.Options) { o.ObjectPrefixCoexist = &yes })
	put(t, st, "a", "1")
	put(t, st, "a/b", "2")
	var keys []string
	require.NoError(t, st.List(context.Background(), providers.ListOptions{}, func(e providers.Entry) error {
		keys = append(keys, e.Key)
		return nil
	}))
	require.Equal(t, []string{"a"}, keys)
}

// TestIMDSNotProbedWhenDisabled: without credentials in the address the
// default chain runs; with AWS_EC2_METADATA_DISABLED=true it must not reach
// the metadata endpoint (a loopback fake here), and without it it does.
func testIMDSNotProbedWhenDisabled(t *testing.T, b Backend) {
	var hits atomic.Int64
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(404)
	}))
	defer fake.Close()
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.URL)
	a := Parse(t, "s3://127.0.0.1:1/bucket?tls=false")
	require.False(t, a.HasCredentials())

	for _, disabled := range []string{"true", "false"} {
		t.Setenv("AWS_EC2_METADATA_DISABLED", disabled)
		hits.Store(0)
		st, err := b.Open(context.Background(), a, s3compat.Options{Transport: loopback()})
		require.NoError(t, err)
		_, err = st.Stat(context.Background(), "k")
		require.Error(t, err)
		if disabled == "true" {
			require.Zero(t, hits.Load(), "IMDS probed although disabled")
		} else {
			require.NotZero(t, hits.Load(), "the fake IMDS must see the probe when enabled (else this test proves nothing)")
		}
	}
}
