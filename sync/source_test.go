package sync

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A source that does not exist is an error and changes nothing, with or
// without --delete and in a dry run: a typo in the source must never
// read as "empty" and empty the destination.
func TestMissingSourceChangesNothing(t *testing.T) {
	ctx := context.Background()
	dstTree := tree{"a": f("a", 1), "d/b": f("b", 2)}
	m := Side{Store: newMem(), Name: "m"}
	putTree(t, m, nil, tree{"real/x": f("x", 3), "marked/": f("", 4)})
	for name, src := range map[string]Side{
		"local":        {LocalDir: filepath.Join(t.TempDir(), "dll")},
		"store prefix": {Store: m.Store, Name: "m", Prefix: "rael"},
	} {
		for _, dry := range []bool{false, true} {
			dst := Side{LocalDir: t.TempDir()}
			putTree(t, dst, LayoutNamer{}, dstTree)
			opts := DefaultOptions()
			opts.Delete, opts.DryRun, opts.AllowEmptySource = true, dry, true
			r, err := Run(ctx, src, dst, opts)
			require.ErrorIs(t, err, ErrNoSource, "%s dry=%v", name, dry)
			require.Zero(t, r.Deleted)
			require.Equal(t, dstTree, readTree(t, dst, LayoutNamer{}, false), name)
		}
	}
	// A prefix whose only object is its marker exists.
	dst := Side{LocalDir: t.TempDir()}
	_, err := Run(ctx, Side{Store: m.Store, Name: "m", Prefix: "marked"}, dst, DefaultOptions())
	require.NoError(t, err)
}

// A source that exists but lists nothing empties the destination only
// with AllowEmptySource; without Delete it is a no-op. The rule looks at
// the whole source, before filters and shard: a shard whose part of a
// non-empty source is empty deletes its part of the destination.
func TestEmptySourceDeletesOnlyWhenAllowed(t *testing.T) {
	ctx := context.Background()
	dstTree := tree{"a": f("a", 1), "d/b": f("b", 2)}
	for name, src := range map[string]Side{
		"local dir":   {LocalDir: t.TempDir()},
		"bucket root": {Store: newMem(), Name: "empty"},
		"marker prefix": func() Side {
			s := Side{Store: newMem(), Name: "mk", Prefix: "p"}
			putTree(t, Side{Store: s.Store}, nil, tree{"p/": f("", 1)})
			return s
		}(),
	} {
		dst := Side{Store: newMem(), Name: "dst"}
		putTree(t, dst, nil, dstTree)
		opts := DefaultOptions()
		r, err := Run(ctx, src, dst, opts)
		require.NoError(t, err, name)
		opts.Delete = true
		r, err = Run(ctx, src, dst, opts)
		require.ErrorIs(t, err, ErrEmptySource, name)
		require.Contains(t, err.Error(), "--allow-empty-source")
		require.Zero(t, r.Deleted)
		require.Equal(t, dstTree, readTree(t, dst, nil, false), name)
		opts.AllowEmptySource = true
		r, err = Run(ctx, src, dst, opts)
		require.NoError(t, err, name)
		require.EqualValues(t, 2, r.Deleted)
		require.Empty(t, readTree(t, dst, nil, false), name)
	}

	// Shards: every key of the destination lies in some shard; the
	// shards together delete exactly what the source lacks.
	src := Side{Store: newMem(), Name: "s"}
	putTree(t, src, nil, tree{"keep": f("k", 1)})
	dst := Side{Store: newMem(), Name: "d"}
	putTree(t, dst, nil, tree{"keep": f("k", 1), "gone1": f("1", 1), "gone2": f("2", 1), "gone3": f("3", 1)})
	opts := DefaultOptions()
	opts.Delete = true
	var deleted int64
	for k := range 4 {
		opts.Shard = Shard{K: k, N: 4}
		r, err := Run(ctx, src, dst, opts)
		require.NoError(t, err, "shard %d", k)
		deleted += r.Deleted
	}
	require.EqualValues(t, 3, deleted)
	require.Equal(t, []string{"keep"}, keysOf(readTree(t, dst, nil, false)))
}
