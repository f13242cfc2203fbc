package local

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// newStore opens a store on a fresh directory (no fsync: tests are about
// semantics, not durability).
func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{NoSync: true, MinPartSize: 1024})
	require.NoError(t, err)
	return s
}

func put(t *testing.T, s *Store, key, body string) providers.ObjectInfo {
	t.Helper()
	info, err := s.Put(context.Background(), key, strings.NewReader(body), int64(len(body)), providers.PutOptions{})
	require.NoError(t, err, key)
	return info
}

func listKeys(t *testing.T, s *Store, opts providers.ListOptions) []string {
	t.Helper()
	var keys []string
	err := s.List(context.Background(), opts, func(e providers.Entry) error {
		k := e.Key
		if e.IsPrefix {
			k += " (prefix)"
		}
		keys = append(keys, k)
		return nil
	})
	require.NoError(t, err)
	return keys
}

func read(t *testing.T, s *Store, key string, off, n int64) string {
	t.Helper()
	rc, _, err := s.Get(context.Background(), key, off, n, providers.GetOptions{})
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(b)
}

// files lists every file and directory under dir, relative, for checks that
// a failed write left nothing behind.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			if d.IsDir() {
				rel += "/"
			}
			out = append(out, rel)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

func TestListKeyOrder(t *testing.T) {
	s := newStore(t)
	for _, k := range []string{"a0", "a/b", "a-b", "a/c/d", "a/c-", "b", "a/c0"} {
		put(t, s, k, k)
	}
	require.Equal(t, []string{"a-b", "a/b", "a/c-", "a/c/d", "a/c0", "a0", "b"},
		listKeys(t, s, providers.ListOptions{}))
	require.Equal(t, []string{"a-b", "a/ (prefix)", "a0", "b"},
		listKeys(t, s, providers.ListOptions{Delimiter: "/"}))
	require.Equal(t, []string{"a/b"},
		listKeys(t, s, providers.ListOptions{Prefix: "a/b", Delimiter: "/"}))
	require.Equal(t, []string{"a/c-", "a/c/ (prefix)", "a/c0"},
		listKeys(t, s, providers.ListOptions{Prefix: "a/c", Delimiter: "/"}))
	require.Equal(t, []string{"a/c-", "a/c/d", "a/c0"},
		listKeys(t, s, providers.ListOptions{Prefix: "a/c"}))
	require.Equal(t, []string{"a/c/d"},
		listKeys(t, s, providers.ListOptions{Prefix: "a/c/"}))
	require.Empty(t, listKeys(t, s, providers.ListOptions{Prefix: "a/c/d/"}))
	require.Empty(t, listKeys(t, s, providers.ListOptions{Prefix: "zz/"}))
	require.Empty(t, listKeys(t, s, providers.ListOptions{Prefix: "a//"}))
	require.Empty(t, listKeys(t, s, providers.ListOptions{Prefix: "a/../"}))
}

func TestListStartAfter(t *testing.T) {
	s := newStore(t)
	keys := []string{"a-b", "a/b", "a/c/d", "a/c/e", "a0", "b/x", "c"}
	for _, k := range keys {
		put(t, s, k, k)
	}
	for i, sa := range append([]string{""}, keys...) {
		want := keys[i:]
		if len(want) == 0 {
			want = nil
		}
		require.Equal(t, want, listKeys(t, s, providers.ListOptions{StartAfter: sa}), "StartAfter %q", sa)
	}
	require.Equal(t, []string{"a/c/e", "a0", "b/x", "c"}, listKeys(t, s, providers.ListOptions{StartAfter: "a/c/d0"}))
	require.Equal(t, []string{"a/c/d", "a/c/e", "a0", "b/x", "c"}, listKeys(t, s, providers.ListOptions{StartAfter: "a/c/"}))
	// Common prefixes at or before StartAfter are excluded.
	require.Equal(t, []string{"a0", "b/ (prefix)", "c"}, listKeys(t, s, providers.ListOptions{Delimiter: "/", StartAfter: "a/"}))
	require.Equal(t, []string{"a/ (prefix)", "a0", "b/ (prefix)", "c"}, listKeys(t, s, providers.ListOptions{Delimiter: "/", StartAfter: "a-b"}))
}

func TestListStartAfterSkipsSubtreesUnread(t *testing.T) {
	s := newStore(t)
	for _, k := range []string{"a/1/x", "a/2/x", "b/1/x", "b/2/x", "c/x"} {
		put(t, s, k, k)
	}
	var read []string
	s.readDirHook = func(dir string) { read = append(read, dir) }
	require.Equal(t, []string{"b/2/x", "c/x"}, listKeys(t, s, providers.ListOptions{StartAfter: "b/1/x"}))
	require.Equal(t, []string{"", "b/", "b/1/", "b/2/", "c/"}, read, "a/ and its subtrees must not be read")
}

func TestListHidesReservedEmptyAndSpecial(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	put(t, s, "k", "v")
	u, err := s.CreateMultipart(ctx, "big", providers.PutOptions{})
	require.NoError(t, err)
	_, err = u.UploadPart(ctx, 1, strings.NewReader("part"), 4, providers.PartOptions{})
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(s.Root(), reservedDir, "tmp"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(s.Root(), reservedDir, "tmp", "put-1"), []byte("x"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(s.Root(), "empty", "deeper"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(s.Root(), "only-links"), 0o755))
	require.NoError(t, os.Symlink(s.Root(), filepath.Join(s.Root(), "only-links", "loop")))

	for _, opts := range []providers.ListOptions{{}, {Delimiter: "/"}, {Prefix: ".byob"}, {Prefix: reservedDir + "/"}} {
		require.Equal(t, []string(nil), slicesWithout(listKeys(t, s, opts), "k"), "%+v", opts)
	}
	_, err = s.Stat(ctx, reservedDir+"/tmp/put-1")
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	_, err = s.Put(ctx, reservedDir+"/x", strings.NewReader(""), 0, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	_, err = s.Stat(ctx, "empty")
	require.ErrorIs(t, err, providers.ErrNotExist)
}

func slicesWithout(s []string, drop string) []string {
	var out []string
	for _, v := range s {
		if v != drop {
			out = append(out, v)
		}
	}
	return out
}

func TestSymlinks(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	put(t, s, "d/target", "bytes")
	require.NoError(t, os.Symlink("target", filepath.Join(s.Root(), "d", "link")))
	require.NoError(t, os.Symlink("nowhere", filepath.Join(s.Root(), "d", "dangling")))
	require.NoError(t, os.Symlink(".", filepath.Join(s.Root(), "d", "self")))
	require.Equal(t, []string{"d/link", "d/target"}, listKeys(t, s, providers.ListOptions{}))
	require.Empty(t, listKeys(t, s, providers.ListOptions{Prefix: "d/self/"}), "listings never enter a symlinked directory")
	require.Equal(t, []string{"d/ (prefix)"}, listKeys(t, s, providers.ListOptions{Delimiter: "/"}))
	require.NoError(t, s.Delete(ctx, "d/self"), "a symlink to a directory is not an object")
	_, err := os.Lstat(filepath.Join(s.Root(), "d", "self"))
	require.NoError(t, err, "the symlink to a directory stays")
	var info providers.ObjectInfo
	info, err = s.Stat(ctx, "d/link")
	require.NoError(t, err)
	require.EqualValues(t, 5, info.Size)
	require.Equal(t, "bytes", read(t, s, "d/link", 0, -1))
	require.NoError(t, s.Delete(ctx, "d/link"))
	require.Equal(t, "bytes", read(t, s, "d/target", 0, -1), "deleting a symlink keeps its target")
}

func TestOddKeysRefused(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	put(t, s, "file", "x")
	put(t, s, "dir/obj", "x")
	for _, key := range []string{
		"", "/a", "a/", "a//b", "./a", "a/.", "a/./b", "a/../b", "..",
		strings.Repeat("n", 256), "a/" + strings.Repeat("n", 256) + "/b",
		strings.Repeat("a/", 520) + "b", "nul\x00byte",
		reservedDir, reservedDir + "/tmp/x",
		"file/child", // "file" is an object
		"dir",        // "dir/..." exist
	} {
		_, err := s.Put(ctx, key, strings.NewReader("v"), 1, providers.PutOptions{})
		require.ErrorIs(t, err, providers.ErrInvalidKey, "put %q", key)
		if key == "file/child" || key == "dir" {
			continue // well-formed: Stat says it is not there
		}
		_, err = s.Stat(ctx, key)
		require.ErrorIs(t, err, providers.ErrInvalidKey, "stat %q", key)
		require.ErrorIs(t, s.Delete(ctx, key), providers.ErrInvalidKey, "delete %q", key)
	}
	// Allowed: a 255-byte segment, invalid UTF-8, dots inside names, a name
	// like the reserved folder below the root.
	for _, key := range []string{strings.Repeat("n", 255), "bad\xffutf8", "a.b/..c/.d", "x/" + reservedDir} {
		put(t, s, key, "ok")
		require.Equal(t, "ok", read(t, s, key, 0, -1))
	}
}
