package storetest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// testCapabilities checks Capabilities is self-consistent and matches the
// optional interfaces the store implements.
func testCapabilities(t *testing.T, s providers.Store) {
	c := s.Capabilities()
	require.Equal(t, c, s.Capabilities(), "Capabilities must be constant")
	_, isMP := s.(providers.Multiparter)
	if isMP {
		require.NotEqual(t, providers.MultipartNone, c.Multipart, "store implements Multiparter but Capabilities.Multipart is none")
		require.Positive(t, c.MaxParts, "MaxParts")
		require.GreaterOrEqual(t, c.MinPartSize, int64(0), "MinPartSize")
		if c.MaxPartSize > 0 {
			require.GreaterOrEqual(t, c.MaxPartSize, c.MinPartSize, "MaxPartSize < MinPartSize")
		}
	} else {
		require.Equal(t, providers.MultipartNone, c.Multipart, "Capabilities.Multipart is %s but the store does not implement Multiparter", c.Multipart)
	}
	require.Positive(t, c.MaxKeyLength, "MaxKeyLength must be declared")
	if c.MaxPutSize > 0 && c.MaxObjectSize > 0 {
		require.LessOrEqual(t, c.MaxPutSize, c.MaxObjectSize, "MaxPutSize > MaxObjectSize")
	}
	for _, a := range c.VerifiedChecksums {
		require.NotEqual(t, providers.ChecksumNone, a, "VerifiedChecksums lists none")
	}
}

// testNotExist checks missing keys, and prefixes of existing keys, are
// ErrNotExist for Stat and Get, and that Delete of them succeeds.
func testNotExist(t *testing.T, s providers.Store) {
	ctx := t.Context()
	require.Empty(t, list(t, s, providers.ListOptions{}), "a new store must be empty")
	requireNotExist(t, s, "missing")
	_, _, err := get(t, s, "missing", 5, 10, providers.GetOptions{})
	require.ErrorIs(t, err, providers.ErrNotExist, "ranged Get of a missing key")
	require.NoError(t, s.Delete(ctx, "missing"), "Delete of a missing key")

	put(t, s, "dir/sub/file", []byte("x"), providers.PutOptions{})
	for _, k := range []string{"dir", "dir/", "dir/sub", "dir/sub/", "dir/sub/fil", "dir/sub/file/"} {
		if k == "dir/" || k == "dir/sub/" || k == "dir/sub/file/" {
			// A trailing "/" is an odd key; Stat of it still must not invent an object.
			_, err := s.Stat(ctx, k)
			require.Error(t, err, "Stat %q", k)
			if !errorsIsAny(err, providers.ErrNotExist, providers.ErrInvalidKey) {
				require.Fail(t, "Stat of a missing odd key", "Stat %q: %v: want ErrNotExist or ErrInvalidKey", k, err)
			}
			continue
		}
		requireNotExist(t, s, k)
	}
	// Deleting a prefix of an object must not remove the object.
	require.NoError(t, s.Delete(ctx, "dir/sub"), "Delete of a prefix of an object")
	requireContent(t, s, "dir/sub/file", []byte("x"))
}

// testRangeReads checks Get's range edges on a small and an empty object.
func testRangeReads(t *testing.T, s providers.Store) {
	const size = 1000
	data := payload(size, 1)
	v := put(t, s, "range", data, providers.PutOptions{}).Version
	v0 := put(t, s, "range-empty", nil, providers.PutOptions{}).Version
	type rc struct {
		key         string
		off, length int64
		from, to    int   // expected bytes data[from:to]
		err         error // expected error instead
	}
	cs := []rc{
		{"range", 0, -1, 0, size, nil},
		{"range", 0, 1, 0, 1, nil},
		{"range", 0, size, 0, size, nil},
		{"range", 300, 200, 300, 500, nil},
		{"range", size - 1, 1, size - 1, size, nil},
		{"range", size - 1, -1, size - 1, size, nil},
		{"range", size - 1, 10, size - 1, size, nil},
		{"range", 500, 100000, 500, size, nil},
		{"range", 10, 0, 10, 10, nil},
		{"range", size, -1, size, size, nil},
		{"range", size, 5, size, size, nil},
		{"range", size + 1, -1, 0, 0, providers.ErrInvalidRange},
		{"range", size + 1, 1, 0, 0, providers.ErrInvalidRange},
		{"range", 5000, 10, 0, 0, providers.ErrInvalidRange},
		{"range", -1, 10, 0, 0, providers.ErrInvalidArgument},
		{"range", 0, -2, 0, 0, providers.ErrInvalidArgument},
		{"range-empty", 0, -1, 0, 0, nil},
		{"range-empty", 0, 0, 0, 0, nil},
		{"range-empty", 0, 10, 0, 0, nil},
		{"range-empty", 1, -1, 0, 0, providers.ErrInvalidRange},
		{"range-empty", 1, 1, 0, 0, providers.ErrInvalidRange},
	}
	for _, c := range cs {
		t.Run(fmt.Sprintf("%s/off=%d,len=%d", c.key, c.off, c.length), func(t *testing.T) {
			got, info, err := get(t, s, c.key, c.off, c.length, providers.GetOptions{})
			if c.err != nil {
				require.ErrorIs(t, err, c.err)
				return
			}
			require.NoError(t, err)
			src, wantV, wantSize := data, v, int64(size)
			if c.key == "range-empty" {
				src, wantV, wantSize = nil, v0, 0
			}
			require.Equal(t, len(src[c.from:c.to]), len(got), "body length")
			require.True(t, bytes.Equal(src[c.from:c.to], got), "body differs")
			require.Equal(t, wantSize, info.Size, "Get's info.Size is the whole object's size")
			require.Equal(t, wantV, info.Version, "Get's info.Version")
		})
	}
}

// testZeroLength checks empty objects are stored, statted, read and listed.
func testZeroLength(t *testing.T, s providers.Store) {
	info := put(t, s, "empty", nil, providers.PutOptions{})
	st := requireContent(t, s, "empty", nil)
	require.Equal(t, info.Version, st.Version, "Stat's Version equals Put's")
	es := list(t, s, providers.ListOptions{})
	require.Len(t, es, 1)
	require.Equal(t, "empty", es[0].Key)
	require.Zero(t, es[0].Size)
	// An empty reader that is not a bytes.Reader, too.
	_, err := s.Put(t.Context(), "empty2", strings.NewReader(""), 0, providers.PutOptions{})
	require.NoError(t, err)
	requireContent(t, s, "empty2", nil)
}

// testOverwrite checks a second Put replaces bytes, size, metadata and
// content type entirely.
func testOverwrite(t *testing.T, s providers.Store) {
	long := payload(4096, 2)
	short := []byte("short")
	put(t, s, "k", long, providers.PutOptions{ContentType: "application/x-first", Metadata: map[string]string{"first": "1"}})
	requireContent(t, s, "k", long)
	put(t, s, "k", short, providers.PutOptions{ContentType: "application/x-second", Metadata: map[string]string{"second": "2"}})
	st := requireContent(t, s, "k", short)
	require.Equal(t, "application/x-second", st.ContentType)
	require.Equal(t, map[string]string{"second": "2"}, st.Metadata, "metadata is replaced, not merged")
	require.Len(t, list(t, s, providers.ListOptions{}), 1, "overwrite keeps one object")
}

// countingReader hides the concrete reader type (no Seek, no Len) from Put.
type countingReader struct {
	r    io.Reader
	read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}

// testPutSizeMismatch checks a reader that yields fewer or more bytes than
// size fails the Put, stores nothing, and leaves an existing object intact.
// A negative size is ErrInvalidArgument.
func testPutSizeMismatch(t *testing.T, s providers.Store) {
	ctx := t.Context()
	data := payload(10000, 3)
	for _, c := range []struct {
		name string
		give []byte
		size int64
	}{
		{"short", data[:5000], 10000},
		{"short-empty", nil, 100},
		{"long", data, 5000},
		{"long-from-zero", data[:10], 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := "mismatch-" + c.name
			_, err := s.Put(ctx, key, bytes.NewReader(c.give), c.size, providers.PutOptions{})
			require.Error(t, err, "Put of %d bytes with size %d", len(c.give), c.size)
			if !errors.Is(err, providers.ErrSizeMismatch) {
				t.Logf("storetest: Put size mismatch error does not wrap ErrSizeMismatch: %v", err)
			}
			requireNotExist(t, s, key)

			old := []byte("old content")
			put(t, s, key, old, providers.PutOptions{})
			_, err = s.Put(ctx, key, bytes.NewReader(c.give), c.size, providers.PutOptions{})
			require.Error(t, err, "overwriting Put of %d bytes with size %d", len(c.give), c.size)
			requireContent(t, s, key, old)
		})
	}
	t.Run("negative-size", func(t *testing.T) {
		_, err := s.Put(ctx, "negative", bytes.NewReader(data), -1, providers.PutOptions{})
		require.ErrorIs(t, err, providers.ErrInvalidArgument)
		requireNotExist(t, s, "negative")
	})
}

// testLargeObject round-trips a 9 MiB object and reads a range across the
// middle, comparing SHA-256 sums.
func testLargeObject(t *testing.T, s providers.Store) {
	const size = 9<<20 + 123
	data := payload(size, 4)
	info, err := s.Put(t.Context(), "large", &countingReader{r: bytes.NewReader(data)}, size, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(size), info.Size)
	got, ginfo := mustGet(t, s, "large")
	require.Equal(t, int64(size), ginfo.Size)
	require.Equal(t, sha256.Sum256(data), sha256.Sum256(got), "content differs")
	off, n := int64(4<<20+7), int64(3<<20)
	part, _, err := get(t, s, "large", off, n, providers.GetOptions{IfMatch: info.Version})
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(data[off:off+n]), sha256.Sum256(part), "range content differs")
}

// testMetadataRoundTrip checks user metadata (rclone's mtime and md5chksum
// included) and the content type come back from Stat and Get, and that
// listings carry Size, Version and ModTime.
func testMetadataRoundTrip(t *testing.T, s providers.Store) {
	data := []byte("metadata round trip")
	sum := md5.Sum(data)
	mtime := time.Date(2023, 4, 5, 6, 7, 8, 123456789, time.UTC)
	meta := map[string]string{
		providers.MetaMtime: providers.FormatMtime(mtime),
		providers.MetaMD5:   base64.StdEncoding.EncodeToString(sum[:]),
		"x-storetest":       "value with spaces",
		"empty-ish":         "-",
	}
	before := time.Now()
	info := put(t, s, "meta", data, providers.PutOptions{ContentType: "application/x-storetest", Metadata: meta})
	after := time.Now()

	st := requireContent(t, s, "meta", data)
	require.Equal(t, meta, st.Metadata, "Stat metadata")
	require.Equal(t, "application/x-storetest", st.ContentType)
	require.Equal(t, info.Version, st.Version)
	requireServerTime(t, st.ModTime, before, after)
	got, ok := providers.ParseMtime(st.Metadata[providers.MetaMtime])
	require.True(t, ok)
	require.True(t, got.Equal(mtime), "mtime round trip: got %v want %v", got, mtime)
	require.True(t, st.Mtime().Equal(mtime), "ObjectInfo.Mtime prefers the mtime metadata")
	m, ok := st.MD5()
	require.True(t, ok, "ObjectInfo.MD5 finds md5chksum")
	require.Equal(t, sum[:], m)

	put(t, s, "plain", []byte("no metadata"), providers.PutOptions{})
	pst, err := s.Stat(t.Context(), "plain")
	require.NoError(t, err)
	require.Empty(t, pst.Metadata, "an object stored without metadata has none")

	es := list(t, s, providers.ListOptions{})
	require.Equal(t, []string{"meta", "plain"}, listed(es))
	require.Equal(t, int64(len(data)), es[0].Size, "List Size")
	require.Equal(t, st.Version, es[0].Version, "List Version equals Stat's")
	requireServerTime(t, es[0].ModTime, before, after)
}

// requireServerTime checks a server ModTime lies around [before, after]
// (servers keep whole seconds; clocks on loopback agree).
func requireServerTime(t *testing.T, got, before, after time.Time) {
	t.Helper()
	require.False(t, got.IsZero(), "ModTime is set")
	require.False(t, got.Before(before.Add(-2*time.Minute)), "ModTime %v long before the Put at %v", got, before)
	require.False(t, got.After(after.Add(2*time.Minute)), "ModTime %v long after the Put at %v", got, after)
}
