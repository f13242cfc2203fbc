package fusefs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/cache"
	byobfs "github.com/byobfs/byob/fs"
)

func TestMountTeams(t *testing.T) {
	requireFUSE(t)
	sa, sb := newMem(), newMem()
	put(t, sa, "runs/a.txt", []byte("alpha"))
	put(t, sb, "runs/b.txt", []byte("beta"))
	fa := newFS(t, sa, func(o *byobfs.Options, _ *cache.Options) { o.StoreID = "alpha" })
	fb := newFS(t, sb, func(o *byobfs.Options, _ *cache.Options) { o.StoreID = "beta" })
	mnt := t.TempDir()
	srv, err := MountTeams(mnt, map[string]*byobfs.FS{"alpha": fa, "beta": fb}, MountOptions{})
	require.NoError(t, err)
	watch(t, mnt, srv)

	ents, err := os.ReadDir(mnt)
	require.NoError(t, err)
	require.Len(t, ents, 2)
	require.Equal(t, "alpha", ents[0].Name())
	require.Equal(t, "beta", ents[1].Name())
	b, err := os.ReadFile(filepath.Join(mnt, "alpha/runs/a.txt"))
	require.NoError(t, err)
	require.Equal(t, "alpha", string(b))
	b, err = os.ReadFile(filepath.Join(mnt, "beta/runs/b.txt"))
	require.NoError(t, err)
	require.Equal(t, "beta", string(b))

	// Inode numbers of the two teams never collide.
	var st1, st2 syscall.Stat_t
	require.NoError(t, syscall.Stat(filepath.Join(mnt, "alpha"), &st1))
	require.NoError(t, syscall.Stat(filepath.Join(mnt, "beta"), &st2))
	require.NotEqual(t, st1.Ino, st2.Ino)
	require.NoError(t, syscall.Stat(filepath.Join(mnt, "alpha/runs"), &st1))
	require.NoError(t, syscall.Stat(filepath.Join(mnt, "beta/runs"), &st2))
	require.NotEqual(t, st1.Ino, st2.Ino)

	// Writes land in the team's own store.
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "beta/new.txt"), []byte("x"), 0o644))
	got, err := get(t, sb, "new.txt")
	require.NoError(t, err)
	require.Equal(t, "x", string(got))

	// A rename across teams is EXDEV; within a team it works.
	err = os.Rename(filepath.Join(mnt, "alpha/runs/a.txt"), filepath.Join(mnt, "beta/a.txt"))
	require.True(t, errors.Is(err, syscall.EXDEV), "%v", err)
	require.NoError(t, os.Rename(filepath.Join(mnt, "alpha/runs/a.txt"), filepath.Join(mnt, "alpha/a.txt")))

	// The root holds nothing but the teams.
	require.Error(t, os.WriteFile(filepath.Join(mnt, "stray"), []byte("x"), 0o644))
	require.Error(t, os.Mkdir(filepath.Join(mnt, "d"), 0o755))
}
