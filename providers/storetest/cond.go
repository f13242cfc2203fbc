package storetest

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"hash/crc32"
	"hash/crc64"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// testVersionChanges checks Version changes with the bytes, and on an
// identical rewrite exactly when VersionOnRewrite.
func testVersionChanges(t *testing.T, s providers.Store) {
	v1 := put(t, s, "v", []byte("one"), providers.PutOptions{}).Version
	st, err := s.Stat(t.Context(), "v")
	require.NoError(t, err)
	require.Equal(t, v1, st.Version, "Stat's Version equals Put's")
	v2 := put(t, s, "v", []byte("two"), providers.PutOptions{}).Version
	require.NotEqual(t, v1, v2, "different bytes give a different Version")
	v3 := put(t, s, "v", []byte("two"), providers.PutOptions{}).Version
	if s.Capabilities().VersionOnRewrite {
		require.NotEqual(t, v2, v3, "VersionOnRewrite: an identical rewrite changes the Version")
	} else {
		require.Equal(t, v2, v3, "VersionOnRewrite is false: an identical rewrite keeps the Version")
	}
	st, err = s.Stat(t.Context(), "v")
	require.NoError(t, err)
	require.Equal(t, v3, st.Version)
	// Two keys with the same bytes stay distinguishable by key, not Version:
	// nothing to assert there; a longer object with the same prefix differs.
	v4 := put(t, s, "v", []byte("two!"), providers.PutOptions{}).Version
	require.NotEqual(t, v3, v4, "different bytes give a different Version")
}

// testConditionalPut checks IfNoneMatch "*" and IfMatch where
// ConditionalWrites, and ErrUnsupported where not.
func testConditionalPut(t *testing.T, s providers.Store) {
	ctx := t.Context()
	putc := func(key, data string, o providers.PutOptions) (providers.ObjectInfo, error) {
		return s.Put(ctx, key, strings.NewReader(data), int64(len(data)), o)
	}
	if !s.Capabilities().ConditionalWrites {
		notApplicable(t, "ConditionalWrites is false: conditional Puts must fail with ErrUnsupported")
		_, err := putc("c", "x", providers.PutOptions{IfNoneMatch: "*"})
		require.ErrorIs(t, err, providers.ErrUnsupported, "IfNoneMatch without ConditionalWrites")
		requireNotExist(t, s, "c")
		v := put(t, s, "c", []byte("x"), providers.PutOptions{}).Version
		_, err = putc("c", "y", providers.PutOptions{IfMatch: v})
		require.ErrorIs(t, err, providers.ErrUnsupported, "IfMatch without ConditionalWrites")
		requireContent(t, s, "c", []byte("x"))
		_, err = putc("c", "y", providers.PutOptions{IfNoneMatch: "some-etag"})
		require.True(t, errorsIsAny(err, providers.ErrUnsupported, providers.ErrInvalidArgument), "IfNoneMatch other than *: %v", err)
		return
	}
	info, err := putc("c", "first", providers.PutOptions{IfNoneMatch: "*"})
	require.NoError(t, err, "IfNoneMatch * on a missing key")
	v1 := info.Version
	_, err = putc("c", "second", providers.PutOptions{IfNoneMatch: "*"})
	require.ErrorIs(t, err, providers.ErrPrecondition, "IfNoneMatch * on an existing key")
	requireContent(t, s, "c", []byte("first"))

	info, err = putc("c", "third", providers.PutOptions{IfMatch: v1})
	require.NoError(t, err, "IfMatch with the current Version")
	v2 := info.Version
	require.NotEqual(t, v1, v2)
	_, err = putc("c", "fourth", providers.PutOptions{IfMatch: v1})
	require.ErrorIs(t, err, providers.ErrPrecondition, "IfMatch with a stale Version")
	requireContent(t, s, "c", []byte("third"))

	_, err = putc("missing", "x", providers.PutOptions{IfMatch: v2})
	require.True(t, errorsIsAny(err, providers.ErrPrecondition, providers.ErrNotExist), "IfMatch on a missing key: %v", err)
	requireNotExist(t, s, "missing")

	for _, k := range []string{"c", "missing2"} {
		_, err = putc(k, "x", providers.PutOptions{IfNoneMatch: v2})
		require.ErrorIs(t, err, providers.ErrInvalidArgument, "IfNoneMatch other than * on %q", k)
	}
	requireContent(t, s, "c", []byte("third"))
	requireNotExist(t, s, "missing2")

	// Create-only is atomic: of concurrent creators exactly one wins.
	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			_, errs[i] = putc("race", strings.Repeat("r", i+1), providers.PutOptions{IfNoneMatch: "*"})
		})
	}
	wg.Wait()
	winners := 0
	for i, err := range errs {
		if err == nil {
			winners++
			requireContent(t, s, "race", []byte(strings.Repeat("r", i+1)))
			continue
		}
		require.ErrorIs(t, err, providers.ErrPrecondition, "losing create-only Put")
	}
	require.Equal(t, 1, winners, "exactly one concurrent create-only Put wins")
}

// testGetIfMatch checks reads conditional on a Version.
func testGetIfMatch(t *testing.T, s providers.Store) {
	d1, d2 := payload(100, 5), payload(100, 6)
	v1 := put(t, s, "g", d1, providers.PutOptions{}).Version
	b, _, err := get(t, s, "g", 0, -1, providers.GetOptions{IfMatch: v1})
	require.NoError(t, err)
	require.Equal(t, d1, b)
	b, _, err = get(t, s, "g", 10, 5, providers.GetOptions{IfMatch: v1})
	require.NoError(t, err)
	require.Equal(t, d1[10:15], b)

	v2 := put(t, s, "g", d2, providers.PutOptions{}).Version
	_, _, err = get(t, s, "g", 0, -1, providers.GetOptions{IfMatch: v1})
	require.ErrorIs(t, err, providers.ErrPrecondition, "Get with a stale Version")
	_, _, err = get(t, s, "g", 10, 5, providers.GetOptions{IfMatch: v1})
	require.ErrorIs(t, err, providers.ErrPrecondition, "ranged Get with a stale Version")
	_, _, err = get(t, s, "g", 0, -1, providers.GetOptions{IfMatch: "storetest-no-such-version"})
	require.ErrorIs(t, err, providers.ErrPrecondition, "Get with a made-up Version")
	b, info, err := get(t, s, "g", 0, -1, providers.GetOptions{IfMatch: v2})
	require.NoError(t, err)
	require.Equal(t, d2, b)
	require.Equal(t, v2, info.Version)

	require.NoError(t, s.Delete(t.Context(), "g"))
	_, _, err = get(t, s, "g", 0, -1, providers.GetOptions{IfMatch: v2})
	require.True(t, errorsIsAny(err, providers.ErrNotExist, providers.ErrPrecondition), "Get IfMatch of a deleted key: %v", err)
}

// testDeleteIdempotent checks Delete of missing and deleted keys succeeds,
// and that Delete removes exactly one key.
func testDeleteIdempotent(t *testing.T, s providers.Store) {
	ctx := t.Context()
	require.NoError(t, s.Delete(ctx, "never"))
	put(t, s, "d", []byte("x"), providers.PutOptions{})
	put(t, s, "d0", []byte("y"), providers.PutOptions{})
	put(t, s, "dd/x", []byte("z"), providers.PutOptions{})
	require.NoError(t, s.Delete(ctx, "d"))
	requireNotExist(t, s, "d")
	require.NoError(t, s.Delete(ctx, "d"), "second Delete")
	require.NoError(t, s.Delete(ctx, "dd"), "Delete of a prefix")
	require.Equal(t, []string{"d0", "dd/x"}, listed(list(t, s, providers.ListOptions{})))
	put(t, s, "d", []byte("again"), providers.PutOptions{})
	requireContent(t, s, "d", []byte("again"))
}

// testCopy checks server-side Copy: bytes and metadata copied, metadata
// replaced when given, conditional on the source Version, ErrNotExist for a
// missing source, overwrite of the destination, and a self-copy that
// changes metadata only.
func testCopy(t *testing.T, s providers.Store) {
	ctx := t.Context()
	data := payload(3000, 7)
	meta := map[string]string{providers.MetaMtime: "1700000000.5", "x-src": "1"}
	v := put(t, s, "src", data, providers.PutOptions{ContentType: "text/x-src", Metadata: meta}).Version

	info, err := s.Copy(ctx, "src", "dst", providers.CopyOptions{})
	require.NoError(t, err)
	require.Equal(t, "dst", info.Key)
	require.Equal(t, int64(len(data)), info.Size)
	require.NotEmpty(t, info.Version)
	st := requireContent(t, s, "dst", data)
	require.Equal(t, meta, st.Metadata, "metadata copied")
	require.Equal(t, "text/x-src", st.ContentType, "content type copied")
	requireContent(t, s, "src", data)

	newMeta := map[string]string{"x-new": "2"}
	_, err = s.Copy(ctx, "src", "dst2", providers.CopyOptions{Metadata: newMeta, ContentType: "text/x-new"})
	require.NoError(t, err)
	st = requireContent(t, s, "dst2", data)
	require.Equal(t, newMeta, st.Metadata, "metadata replaced")
	require.Equal(t, "text/x-new", st.ContentType, "content type replaced")

	_, err = s.Copy(ctx, "src", "dst3", providers.CopyOptions{Metadata: map[string]string{}, ContentType: "text/x-src"})
	require.NoError(t, err)
	st = requireContent(t, s, "dst3", data)
	require.Empty(t, st.Metadata, "an empty non-nil Metadata replaces with nothing")

	_, err = s.Copy(ctx, "src", "dst4", providers.CopyOptions{IfMatch: v})
	require.NoError(t, err, "Copy IfMatch the current Version")
	requireContent(t, s, "dst4", data)
	put(t, s, "src", []byte("changed"), providers.PutOptions{})
	_, err = s.Copy(ctx, "src", "dst5", providers.CopyOptions{IfMatch: v})
	require.ErrorIs(t, err, providers.ErrPrecondition, "Copy IfMatch a stale Version")
	requireNotExist(t, s, "dst5")

	_, err = s.Copy(ctx, "missing", "dst6", providers.CopyOptions{})
	require.ErrorIs(t, err, providers.ErrNotExist, "Copy of a missing source")
	requireNotExist(t, s, "dst6")

	dv := requireContent(t, s, "dst", data).Version
	_, err = s.Copy(ctx, "src", "dst", providers.CopyOptions{})
	require.NoError(t, err, "Copy over an existing destination")
	require.NotEqual(t, dv, requireContent(t, s, "dst", []byte("changed")).Version)

	touched := map[string]string{providers.MetaMtime: "1800000000"}
	_, err = s.Copy(ctx, "src", "src", providers.CopyOptions{Metadata: touched, ContentType: "text/x-touched"})
	require.NoError(t, err, "self-copy replacing metadata")
	st = requireContent(t, s, "src", []byte("changed"))
	require.Equal(t, touched, st.Metadata)
	require.Equal(t, "text/x-touched", st.ContentType)

	put(t, s, "empty", nil, providers.PutOptions{})
	_, err = s.Copy(ctx, "empty", "empty-copy", providers.CopyOptions{})
	require.NoError(t, err)
	requireContent(t, s, "empty-copy", nil)
}

// checksumOf computes the checksum of algorithm a over data.
func checksumOf(a providers.ChecksumAlgorithm, data []byte) providers.Checksum {
	switch a {
	case providers.ChecksumCRC32C:
		return providers.CRC32C(crc32.Checksum(data, providers.CRC32CTable))
	case providers.ChecksumMD5:
		sum := md5.Sum(data)
		return providers.Checksum{Algorithm: a, Sum: sum[:]}
	case providers.ChecksumCRC64NVME:
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, crc64.Checksum(data, crc64.MakeTable(0x9a6c9329ac4bc9b5)))
		return providers.Checksum{Algorithm: a, Sum: b}
	}
	return providers.Checksum{}
}

// testChecksums checks a correct CRC32C is always accepted, and that for
// every algorithm the server verifies a wrong sum fails with ErrChecksum and
// stores nothing.
func testChecksums(t *testing.T, s providers.Store) {
	data := payload(5000, 8)
	put(t, s, "ok", data, providers.PutOptions{Checksum: checksumOf(providers.ChecksumCRC32C, data)})
	requireContent(t, s, "ok", data)
	algs := s.Capabilities().VerifiedChecksums
	if len(algs) == 0 {
		notApplicable(t, "VerifiedChecksums is empty: no wrong-checksum refusals to check")
	}
	for _, a := range algs {
		t.Run(a.String(), func(t *testing.T) {
			good := checksumOf(a, data)
			require.False(t, good.IsZero(), "the suite knows no %s", a)
			key := "sum-" + a.String()
			put(t, s, key, data, providers.PutOptions{Checksum: good})
			requireContent(t, s, key, data)
			bad := providers.Checksum{Algorithm: a, Sum: bytes.Clone(good.Sum)}
			bad.Sum[0] ^= 0xff
			_, err := s.Put(t.Context(), key+"-bad", bytes.NewReader(data), int64(len(data)), providers.PutOptions{Checksum: bad})
			require.ErrorIs(t, err, providers.ErrChecksum, "Put with a wrong %s", a)
			requireNotExist(t, s, key+"-bad")
			_, err = s.Put(t.Context(), key, bytes.NewReader([]byte("other")), 5, providers.PutOptions{Checksum: good})
			require.ErrorIs(t, err, providers.ErrChecksum, "overwrite with a wrong %s", a)
			requireContent(t, s, key, data)
		})
	}
}
