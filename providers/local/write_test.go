package local

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

func TestPutFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		r    io.Reader
		size int64
		opts providers.PutOptions
		want error
	}{
		{"short reader", ctx, strings.NewReader("abc"), 4, providers.PutOptions{}, providers.ErrSizeMismatch},
		{"long reader", ctx, strings.NewReader("abcde"), 4, providers.PutOptions{}, providers.ErrSizeMismatch},
		{"reader error", ctx, io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(boom)), 4, providers.PutOptions{}, boom},
		{"cancelled", cancelled, strings.NewReader("abcd"), 4, providers.PutOptions{}, context.Canceled},
		{"bad crc32c", ctx, strings.NewReader("abcd"), 4, providers.PutOptions{Checksum: providers.CRC32C(1)}, providers.ErrChecksum},
		{"bad md5", ctx, strings.NewReader("abcd"), 4, providers.PutOptions{Checksum: providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: make([]byte, 16)}}, providers.ErrChecksum},
		{"bad mtime", ctx, strings.NewReader("abcd"), 4, providers.PutOptions{Metadata: map[string]string{"mtime": "yesterday"}}, providers.ErrInvalidArgument},
		{"negative size", ctx, strings.NewReader(""), -1, providers.PutOptions{}, providers.ErrInvalidArgument},
		{"if-none-match etag", ctx, strings.NewReader("abcd"), 4, providers.PutOptions{IfNoneMatch: "x"}, providers.ErrInvalidArgument},
		{"if-match missing", ctx, strings.NewReader("abcd"), 4, providers.PutOptions{IfMatch: "v"}, providers.ErrPrecondition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			put(t, s, "other", "x") // creates the reserved tmp folder
			_, err := s.Put(tc.ctx, "deep/dir/key", tc.r, tc.size, tc.opts)
			require.ErrorIs(t, err, tc.want)
			var oe *providers.OpError
			require.ErrorAs(t, err, &oe)
			require.Equal(t, "put", oe.Op)
			require.Equal(t, []string{reservedDir + "/", reservedDir + "/tmp/", "other"}, files(t, s.Root()),
				"no temporary file, no object, no parent directory")
		})
	}
}

func TestPutReplacesAtomicallyAndVersions(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	v1 := put(t, s, "k", "same")
	v2 := put(t, s, "k", "same")
	require.NotEqual(t, v1.Version, v2.Version, "an identical rewrite changes the Version")
	st, err := s.Stat(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, v2.Version, st.Version)
	require.Equal(t, v2.Version, listEntry(t, s, "k").Version, "List and Stat agree")

	// A reader opened before a rewrite keeps reading its version.
	rc, info, err := s.Get(ctx, "k", 0, -1, providers.GetOptions{IfMatch: v2.Version})
	require.NoError(t, err)
	put(t, s, "k", "other bytes")
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, "same", string(b))
	require.Equal(t, v2.Version, info.Version)
	_, _, err = s.Get(ctx, "k", 0, -1, providers.GetOptions{IfMatch: v2.Version})
	require.ErrorIs(t, err, providers.ErrPrecondition)
}

func listEntry(t *testing.T, s *Store, key string) providers.Entry {
	t.Helper()
	var got []providers.Entry
	require.NoError(t, s.List(context.Background(), providers.ListOptions{Prefix: key}, func(e providers.Entry) error {
		got = append(got, e)
		return nil
	}))
	require.Len(t, got, 1)
	return got[0]
}

func TestConditionalWrites(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	create := providers.PutOptions{IfNoneMatch: "*"}
	v1, err := s.Put(ctx, "a/k", strings.NewReader("1"), 1, create)
	require.NoError(t, err)
	_, err = s.Put(ctx, "a/k", strings.NewReader("2"), 1, create)
	require.ErrorIs(t, err, providers.ErrPrecondition)
	require.Equal(t, "1", read(t, s, "a/k", 0, -1))

	v2, err := s.Put(ctx, "a/k", strings.NewReader("2"), 1, providers.PutOptions{IfMatch: v1.Version})
	require.NoError(t, err)
	_, err = s.Put(ctx, "a/k", strings.NewReader("3"), 1, providers.PutOptions{IfMatch: v1.Version})
	require.ErrorIs(t, err, providers.ErrPrecondition)
	require.Equal(t, "2", read(t, s, "a/k", 0, -1))
	_, err = s.Copy(ctx, "a/k", "b", providers.CopyOptions{IfMatch: v1.Version})
	require.ErrorIs(t, err, providers.ErrPrecondition)
	_, err = s.Copy(ctx, "a/k", "b", providers.CopyOptions{IfMatch: v2.Version})
	require.NoError(t, err)

	// Create-only where a folder of objects is: not a precondition, a key clash.
	_, err = s.Put(ctx, "a", strings.NewReader("x"), 1, create)
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	// An empty directory in the way is not an object: it is replaced.
	require.NoError(t, os.MkdirAll(filepath.Join(s.Root(), "e", "f"), 0o755))
	_, err = s.Put(ctx, "e", strings.NewReader("x"), 1, create)
	require.NoError(t, err)
	require.Equal(t, "x", read(t, s, "e", 0, -1))

	// The race: many create-only writers, one winner.
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := s.Put(ctx, "race", strings.NewReader(string(rune('a'+i))), 1, create)
			errs <- err
		}()
	}
	won := 0
	for range n {
		if err := <-errs; err == nil {
			won++
		} else {
			require.ErrorIs(t, err, providers.ErrPrecondition)
		}
	}
	require.Equal(t, 1, won)
}

func TestFileFolderClash(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	put(t, s, "a", "file")
	_, err := s.Put(ctx, "a/b", strings.NewReader("x"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	_, err = s.Copy(ctx, "a", "a/c", providers.CopyOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	_, err = s.Stat(ctx, "a/b")
	require.ErrorIs(t, err, providers.ErrNotExist)
	require.NoError(t, s.Delete(ctx, "a/b"))

	put(t, s, "x/y/z", "deep")
	_, err = s.Put(ctx, "x", strings.NewReader("x"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	_, err = s.Put(ctx, "x/y", strings.NewReader("x"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	require.NoError(t, s.Delete(ctx, "x"), "a folder is not an object: deleting it is a no-op")
	require.Equal(t, "deep", read(t, s, "x/y/z", 0, -1))

	// Deleting the last object removes its empty parents, not the root.
	require.NoError(t, s.Delete(ctx, "x/y/z"))
	require.NoError(t, s.Delete(ctx, "x/y/z"), "delete is idempotent")
	_, err = os.Stat(filepath.Join(s.Root(), "x"))
	require.True(t, os.IsNotExist(err), "empty parents removed")
	put(t, s, "x", "now a file")
	require.DirExists(t, s.Root())
}

func TestGetRanges(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	put(t, s, "k", "0123456789")
	put(t, s, "empty", "")
	require.Equal(t, "0123456789", read(t, s, "k", 0, -1))
	require.Equal(t, "234", read(t, s, "k", 2, 3))
	require.Equal(t, "89", read(t, s, "k", 8, 100))
	require.Equal(t, "", read(t, s, "k", 10, -1))
	require.Equal(t, "", read(t, s, "k", 3, 0))
	require.Equal(t, "", read(t, s, "empty", 0, -1))
	_, _, err := s.Get(ctx, "k", 11, -1, providers.GetOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidRange)
	_, _, err = s.Get(ctx, "k", -1, -1, providers.GetOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, _, err = s.Get(ctx, "missing", 0, -1, providers.GetOptions{})
	require.ErrorIs(t, err, providers.ErrNotExist)

	// The body stops when ctx ends.
	cctx, cancel := context.WithCancel(ctx)
	rc, _, err := s.Get(cctx, "k", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	cancel()
	_, err = io.ReadAll(rc)
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, rc.Close())
}

func TestMetadata(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	mtime := time.Unix(1700000000, 123456789)
	body := "payload"
	crc := crc32.Checksum([]byte(body), providers.CRC32CTable)
	info, err := s.Put(ctx, "m", strings.NewReader(body), int64(len(body)), providers.PutOptions{
		ContentType: "text/plain",
		Metadata:    map[string]string{"MTime": providers.FormatMtime(mtime), "Owner": "me"},
		Checksum:    providers.CRC32C(crc),
	})
	require.NoError(t, err)
	require.Equal(t, []providers.Checksum{providers.CRC32C(crc)}, info.Checksums)
	st, err := s.Stat(ctx, "m")
	require.NoError(t, err)
	require.Equal(t, "text/plain", st.ContentType)
	require.Equal(t, map[string]string{"mtime": "1700000000.123456789", "owner": "me"}, st.Metadata)
	require.True(t, mtime.Equal(st.Mtime()))
	require.WithinDuration(t, time.Now(), st.ModTime, time.Minute, "ModTime is the upload time")
	fi, err := os.Stat(filepath.Join(s.Root(), "m"))
	require.NoError(t, err)
	require.True(t, mtime.Equal(fi.ModTime()), "mtime metadata is the file's modification time")
	require.Equal(t, info.Version, st.Version)

	// Copy keeps everything; replacing metadata keeps the content type.
	cp, err := s.Copy(ctx, "m", "c/m", providers.CopyOptions{})
	require.NoError(t, err)
	require.Equal(t, st.Metadata, cp.Metadata)
	require.Equal(t, "text/plain", cp.ContentType)
	cp, err = s.Copy(ctx, "m", "m", providers.CopyOptions{Metadata: map[string]string{"k": "v"}})
	require.NoError(t, err)
	require.Equal(t, "v", cp.Metadata["k"])
	require.NotContains(t, cp.Metadata, "owner")
	require.Equal(t, "text/plain", cp.ContentType)
	require.NotEqual(t, st.Version, cp.Version)
	require.Equal(t, body, read(t, s, "m", 0, -1))

	// Touched by another program: mtime follows the file.
	later := mtime.Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(s.Root(), "c", "m"), time.Time{}, later))
	st, err = s.Stat(ctx, "c/m")
	require.NoError(t, err)
	require.Equal(t, providers.FormatMtime(later), st.Metadata["mtime"])

	// Written here without metadata: none comes back.
	st = put(t, s, "plain", "x")
	require.Empty(t, st.Metadata)
	require.Empty(t, st.ContentType)

	// Made by another program: its modification time is the mtime.
	require.NoError(t, os.WriteFile(filepath.Join(s.Root(), "foreign"), []byte("f"), 0o644))
	require.NoError(t, os.Chtimes(filepath.Join(s.Root(), "foreign"), time.Time{}, mtime))
	st, err = s.Stat(ctx, "foreign")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"mtime": "1700000000.123456789"}, st.Metadata)
	cp, err = s.Copy(ctx, "foreign", "foreign-copy", providers.CopyOptions{})
	require.NoError(t, err)
	require.Equal(t, st.Metadata, cp.Metadata)

	// Without xattrs only mtime can be stored.
	s.noXattr = true
	_, err = s.Put(ctx, "nx", strings.NewReader("x"), 1, providers.PutOptions{Metadata: map[string]string{"a": "b"}})
	require.ErrorIs(t, err, providers.ErrUnsupported)
	_, err = s.Put(ctx, "nx", strings.NewReader("x"), 1, providers.PutOptions{ContentType: "a/b"})
	require.ErrorIs(t, err, providers.ErrUnsupported)
	_, err = s.Put(ctx, "nx", strings.NewReader("x"), 1, providers.PutOptions{Metadata: map[string]string{"mtime": "1"}})
	require.NoError(t, err)
	st, err = s.Stat(ctx, "nx")
	require.NoError(t, err)
	require.Equal(t, "1", st.Metadata["mtime"])
}

func TestChecksumsVerified(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	body := []byte("checked")
	sum := md5.Sum(body)
	md := providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: sum[:]}
	info, err := s.Put(ctx, "k", bytes.NewReader(body), int64(len(body)), providers.PutOptions{Checksum: md})
	require.NoError(t, err)
	require.Equal(t, []providers.Checksum{md}, info.Checksums)
	require.ElementsMatch(t, []providers.ChecksumAlgorithm{providers.ChecksumCRC32C, providers.ChecksumMD5}, s.Capabilities().VerifiedChecksums)
}

func TestCopyLarge(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), (copyChunk+12345)/16)
	_, err := s.Put(ctx, "big", bytes.NewReader(big), int64(len(big)), providers.PutOptions{})
	require.NoError(t, err)
	info, err := s.Copy(ctx, "big", "copy/big", providers.CopyOptions{})
	require.NoError(t, err)
	require.EqualValues(t, len(big), info.Size)
	rc, _, err := s.Get(ctx, "copy/big", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	rc.Close()
	require.True(t, bytes.Equal(big, got))
	_, err = s.Copy(ctx, "missing", "x", providers.CopyOptions{})
	require.ErrorIs(t, err, providers.ErrNotExist)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Copy(cctx, "big", "x", providers.CopyOptions{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "missing"), Options{})
	require.ErrorIs(t, err, providers.ErrBucketNotExist)
	require.Contains(t, err.Error(), "does not exist")
	f := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(f, nil, 0o600))
	_, err = Open(f, Options{})
	require.ErrorIs(t, err, providers.ErrBucketNotExist)
	require.Contains(t, err.Error(), "not a directory")
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	require.EqualValues(t, 5<<20, s.Capabilities().MinPartSize)
	_, err = os.Stat(filepath.Join(dir, reservedDir))
	require.True(t, os.IsNotExist(err), "Open writes nothing: a read-only root stays usable")
}

func TestOpener(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(base, "bucket", "runs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(base, "bucket", "runs", "file"), nil, 0o644))
	for _, tc := range []struct {
		bucket, path string
		root, prefix string
	}{
		{"bucket", "", "bucket", ""},
		{"bucket/runs", "", "bucket/runs", ""},
		{"bucket/runs/abc", "", "bucket/runs", "abc"},
		{"bucket/runs/abc/x/y", "", "bucket/runs", "abc/x/y"},
		{"bucket/runs/file", "", "bucket/runs", "file"},
		{"bucket/runs/abc", "sub/p", "bucket/runs", "abc/sub/p"},
		{"bucket", "sub/", "bucket", "sub/"},
		{"nothing/here", "", "", "nothing/here"},
	} {
		a, err := providers.ParseAddress("file://" + filepath.Join(base, tc.bucket))
		require.NoError(t, err)
		a.Path = tc.path
		st, prefix, err := Opener(ctx, a)
		require.NoError(t, err, tc.bucket)
		require.Equal(t, filepath.Join(base, tc.root), st.(*Store).Root(), tc.bucket)
		require.Equal(t, tc.prefix, prefix, tc.bucket)
	}
	_, _, err := Opener(ctx, providers.Address{Scheme: "file", Bucket: "relative/dir"})
	require.ErrorIs(t, err, providers.ErrInvalidAddress)
}
