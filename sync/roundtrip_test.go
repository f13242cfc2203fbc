package sync

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// TestOddKeysRoundTrip: keys MinIO refuses, through a local directory and
// into another bucket with --delete, come back byte-identical.
func TestOddKeysRoundTrip(t *testing.T) {
	odd := tree{
		"a//b":          f("empty segment", 1001),
		"a/../c":        f("dot-dot", 1002),
		"./x":           f("dot", 1003),
		"x/./y":         f("inner dot", 1004),
		"ü/日本語.txt":     f("unicode", 1007),
		"sp ace/%41%2F": f("percent", 1008),
		"%":             f("lone percent", 1009),
		"plain":         f("plain", 1010),
		"a-b":           f("order", 1011),
		"a0":            f("order", 1012),
		"new\nline":     f("newline", 1013),
	}
	ctx := context.Background()
	m1 := Side{Store: newMem(), Name: "m1"}
	putTree(t, m1, nil, odd)
	disk := Side{LocalDir: filepath.Join(t.TempDir(), "disk")}
	m2 := Side{Store: newMem(), Name: "m2"}
	putTree(t, m2, nil, tree{"junk": f("junk", 1), "a//b": f("stale", 1)})

	opts := DefaultOptions()
	opts.Delete = true
	opts.Index = NewMemIndex()

	r, err := Run(ctx, m1, disk, opts)
	require.NoError(t, err, "%+v", r)
	require.EqualValues(t, len(odd), r.Copied)
	requireSameTree(t, odd, readTree(t, disk, LayoutNamer{}, false))

	r, err = Run(ctx, disk, m2, opts)
	require.NoError(t, err, "%+v", r)
	require.EqualValues(t, 1, r.Deleted) // junk
	requireSameTree(t, odd, readTree(t, m2, nil, false))

	// Both legs are now no-ops.
	for _, leg := range [][2]Side{{m1, disk}, {disk, m2}} {
		r, err := Run(ctx, leg[0], leg[1], opts)
		require.NoError(t, err)
		require.Zero(t, r.Copied+r.Updated+r.Deleted)
		require.EqualValues(t, len(odd), r.Skipped)
	}
}

// TestIdentityNamerRefusesOddKeys: without an escape, a key that cannot be
// a file name fails that item (exit 3), and never lands elsewhere.
func TestIdentityNamerRefusesOddKeys(t *testing.T) {
	m := Side{Store: newMem(), Name: "m"}
	putTree(t, m, nil, tree{"a//b": f("x", 1), "ok": f("y", 1)})
	disk := Side{LocalDir: t.TempDir()}
	opts := DefaultOptions()
	opts.Namer = IdentityNamer{}
	r, err := Run(context.Background(), m, disk, opts)
	var pe *PartialError
	require.ErrorAs(t, err, &pe)
	require.ErrorIs(t, err, ErrNotFileName)
	require.EqualValues(t, 1, r.Failed)
	require.EqualValues(t, 1, r.Copied)
	require.Equal(t, []string{"ok"}, keysOf(readTree(t, disk, IdentityNamer{}, false)))
}

// TestNonUTF8NamesRoundTrip: local names that are not UTF-8 (which no
// bucket accepts) go up as escaped keys and come back as the same bytes.
func TestNonUTF8NamesRoundTrip(t *testing.T) {
	ctx := context.Background()
	a, b := t.TempDir(), filepath.Join(t.TempDir(), "b")
	names := []string{"caf\xe9.txt", "ok.txt", "sub/x", "dir\xff"}
	require.NoError(t, os.Mkdir(filepath.Join(a, "sub"), 0o755))
	for _, n := range names {
		require.NoError(t, os.WriteFile(filepath.Join(a, n), []byte(n), 0o644))
	}
	m := Side{Store: newMem(), Name: "m"}
	r, err := Run(ctx, Side{LocalDir: a}, m, DefaultOptions())
	require.NoError(t, err)
	require.EqualValues(t, len(names), r.Copied)
	for k := range readTree(t, m, nil, false) {
		require.True(t, utf8.ValidString(k), "%q", k)
	}
	_, err = Run(ctx, m, Side{LocalDir: b}, DefaultOptions())
	require.NoError(t, err)
	for _, n := range names {
		got, err := os.ReadFile(filepath.Join(b, n))
		require.NoError(t, err, "%q", n)
		require.Equal(t, n, string(got))
	}
}

// TestSlashKeysAreDirectories: on disk a key ending in "/" names a
// directory, never a file. An empty one is a directory marker (made with
// --create-empty-dirs, skipped without); one holding data fails its item
// and stays in the bucket; a local file named "%%" (the name of an empty
// key segment) fails its item at any depth, naming its path.
func TestSlashKeysAreDirectories(t *testing.T) {
	ctx := context.Background()
	m := Side{Store: newMem(), Name: "m"}
	putTree(t, m, nil, tree{"d/": f("data", 1), "e/f/": f("", 2), "ok": f("ok", 3)})
	disk := Side{LocalDir: filepath.Join(t.TempDir(), "disk")}
	r, err := Run(ctx, m, disk, DefaultOptions())
	var pe *PartialError
	require.ErrorAs(t, err, &pe)
	require.ErrorIs(t, err, ErrNotFileName)
	require.EqualValues(t, 1, r.Failed)
	require.EqualValues(t, 1, r.Copied)
	require.Equal(t, []string{"ok"}, keysOf(readTree(t, disk, LayoutNamer{}, false)))
	_, err = os.Stat(filepath.Join(disk.LocalDir, "e"))
	require.ErrorIs(t, err, os.ErrNotExist)

	opts := DefaultOptions()
	opts.CreateEmptyDirs = true
	_, err = Run(ctx, m, disk, opts)
	require.ErrorAs(t, err, &pe)
	fi, err := os.Stat(filepath.Join(disk.LocalDir, "e", "f"))
	require.NoError(t, err)
	require.True(t, fi.IsDir())
	_, err = os.Stat(filepath.Join(disk.LocalDir, "e", "f", "%%"))
	require.ErrorIs(t, err, os.ErrNotExist)

	up := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(up, "sub", "%%"), 0o755))
	for _, n := range []string{"%%", "sub/%%/x", "sub/y", "sub/z/%%"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(up, n)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(up, n), []byte(n), 0o644))
	}
	dst := Side{Store: newMem(), Name: "d"}
	r, err = Run(ctx, Side{LocalDir: up}, dst, DefaultOptions())
	require.ErrorAs(t, err, &pe)
	require.EqualValues(t, 2, r.Failed)
	require.Contains(t, err.Error(), filepath.Join(up, "%%"))
	require.Equal(t, []string{"sub//x", "sub/y"}, keysOf(readTree(t, dst, nil, false)))
}
