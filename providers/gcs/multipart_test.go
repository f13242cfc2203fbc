package gcs

import (
	"bytes"
	"crypto/rand"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
)

func TestCRC32CCombine(t *testing.T) {
	a, b := make([]byte, 1000), make([]byte, 70001)
	rand.Read(a)
	rand.Read(b)
	want := crc32.Checksum(append(append([]byte(nil), a...), b...), castagnoli)
	got := providers.CombineCRC32C(crc32.Checksum(a, castagnoli), crc32.Checksum(b, castagnoli), int64(len(b)))
	require.Equal(t, want, got)
	require.Equal(t, uint32(0x1234), providers.CombineCRC32C(0x1234, 0, 0))
}

// smallPartStore is a store whose composed uploads take 1 KiB parts, so
// multi-level composes stay cheap.
func smallPartStore(t *testing.T) *Store {
	t.Helper()
	srv := testenv.FakeGCS(t)
	a, err := providers.ParseAddress(srv.Address(srv.NewBucket(t)))
	require.NoError(t, err)
	s, err := Open(t.Context(), a, Options{MinPartSize: 1024})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.Equal(t, int64(1024), s.Capabilities().MinPartSize)
	return s
}

func tempObjects(t *testing.T, s *Store) []string {
	t.Helper()
	objs, err := s.listTemp(t.Context(), TempPrefix)
	require.NoError(t, err)
	var names []string
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return names
}

// More than 32 parts: two levels of intermediate composites (70 -> 3 -> 1),
// the content and CRC32C checked, every temporary object deleted.
func TestComposeMultiLevel(t *testing.T) {
	s := smallPartStore(t)
	ctx := t.Context()
	caps := s.Capabilities()
	require.Equal(t, providers.MultipartCompose, caps.Multipart)
	require.Equal(t, 10000, caps.MaxParts)
	require.True(t, caps.ResumableUploads)
	require.Equal(t, int64(5<<40), caps.MaxObjectSize)

	u, err := s.CreateMultipart(ctx, "big/obj", providers.PutOptions{ContentType: "application/x-big", Metadata: map[string]string{"mtime": "1700000000"}})
	require.NoError(t, err)
	const n = 70
	var all []byte
	var parts []providers.Part
	for i := 1; i <= n; i++ {
		data := make([]byte, 1024+i%3)
		if i == n {
			data = []byte("tail")
		}
		rand.Read(data)
		all = append(all, data...)
		p, err := u.UploadPart(ctx, i, bytes.NewReader(data), int64(len(data)), providers.PartOptions{})
		require.NoError(t, err)
		require.Equal(t, providers.ChecksumCRC32C, p.Checksum.Algorithm)
		parts = append(parts, p)
	}
	require.Len(t, tempObjects(t, s), n)
	info, err := u.Complete(ctx, parts, providers.CompleteOptions{Checksum: providers.CRC32C(crc32.Checksum(all, castagnoli))})
	require.NoError(t, err)
	require.Equal(t, int64(len(all)), info.Size)
	rc, _, err := s.Get(ctx, "big/obj", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = buf.ReadFrom(rc)
	rc.Close()
	require.NoError(t, err)
	require.Equal(t, all, buf.Bytes())
	st, err := s.Stat(ctx, "big/obj")
	require.NoError(t, err)
	require.Equal(t, "application/x-big", st.ContentType)
	require.Equal(t, map[string]string{"mtime": "1700000000"}, st.Metadata)
	require.Empty(t, tempObjects(t, s), "temporary objects left after Complete")
}

func TestCompleteWrongChecksumOrMissingPart(t *testing.T) {
	s := smallPartStore(t)
	ctx := t.Context()
	u, err := s.CreateMultipart(ctx, "k", providers.PutOptions{})
	require.NoError(t, err)
	p, err := u.UploadPart(ctx, 1, strings.NewReader("abc"), 3, providers.PartOptions{})
	require.NoError(t, err)
	_, err = u.Complete(ctx, []providers.Part{p}, providers.CompleteOptions{Checksum: providers.CRC32C(1)})
	require.ErrorIs(t, err, providers.ErrChecksum)
	_, err = u.Complete(ctx, []providers.Part{p, {Number: 2, Size: 3}}, providers.CompleteOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = s.Stat(ctx, "k")
	require.ErrorIs(t, err, providers.ErrNotExist)
	require.NoError(t, u.Abort(ctx))
	require.Empty(t, tempObjects(t, s))
}

// The temporary prefix is never listed and never accepted as a key.
func TestTempPrefixHidden(t *testing.T) {
	s := smallPartStore(t)
	ctx := t.Context()
	_, err := s.Put(ctx, "visible", strings.NewReader("v"), 1, providers.PutOptions{})
	require.NoError(t, err)
	u, err := s.CreateMultipart(ctx, "pending", providers.PutOptions{})
	require.NoError(t, err)
	_, err = u.UploadPart(ctx, 1, strings.NewReader("part"), 4, providers.PartOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, tempObjects(t, s))
	for _, o := range []providers.ListOptions{{}, {Delimiter: "/"}, {Prefix: "."}, {Prefix: TempPrefix}, {Prefix: ".byob-parts"}, {Prefix: ".byob-parts", Delimiter: "/"}} {
		var keys []string
		require.NoError(t, s.List(ctx, o, func(e providers.Entry) error { keys = append(keys, e.Key); return nil }))
		for _, k := range keys {
			require.False(t, strings.HasPrefix(k, TempPrefix), "listing %+v shows %q", o, k)
		}
	}
	hidden := tempObjects(t, s)[0]
	_, err = s.Stat(ctx, hidden)
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	_, _, err = s.Get(ctx, hidden, 0, -1, providers.GetOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	_, err = s.Put(ctx, TempPrefix+"x", strings.NewReader("x"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	require.ErrorIs(t, s.Delete(ctx, hidden), providers.ErrInvalidKey)
	_, err = s.Copy(ctx, "visible", TempPrefix+"y", providers.CopyOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	_, err = s.CreateMultipart(ctx, TempPrefix+"z", providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	require.NoError(t, u.Abort(ctx))
}

// Resume continues per part in another "process"; an ID is refused for
// another key; leftovers of a killed upload are cleaned up by age.
func TestResumeAndCleanup(t *testing.T) {
	s := smallPartStore(t)
	ctx := t.Context()
	u, err := s.CreateMultipart(ctx, "r", providers.PutOptions{})
	require.NoError(t, err)
	_, err = u.UploadPart(ctx, 1, bytes.NewReader(make([]byte, 1024)), 1024, providers.PartOptions{})
	require.NoError(t, err)
	_, err = s.ResumeMultipart(ctx, "other", u.ID())
	require.ErrorIs(t, err, providers.ErrUploadNotFound)
	_, err = s.ResumeMultipart(ctx, "r", "gcs1.zz")
	require.ErrorIs(t, err, providers.ErrUploadNotFound)
	u2, err := s.ResumeMultipart(ctx, "r", u.ID())
	require.NoError(t, err)
	parts, err := u2.ListParts(ctx)
	require.NoError(t, err)
	require.Len(t, parts, 1)
	require.Equal(t, int64(1024), parts[0].Size)

	n, err := s.CleanupUploads(ctx, time.Hour)
	require.NoError(t, err)
	require.Zero(t, n, "a young upload is kept")
	n, err = s.CleanupUploads(ctx, -time.Minute)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Empty(t, tempObjects(t, s))
}
