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
		"d/":            f("trailing slash", 1005),
		"e/f/":          f("", 1006),
		"ü/日本語.txt":     f("unicode", 1007),
		"sp ace/%41%2F": f("percent", 1008),
		"%":             f("lone percent", 1009),
		"plain":         f("plain", 1010),
		"a-b":           f("order", 1011),
		"a0":            f("order", 1012),
		"new\nline":     f("newline", 1013),
		"trailing/../":  f("dotdot slash", 1014),
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
	names := []string{"caf\xe9.txt", "ok.txt", "sub/%%", "dir\xff"}
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
