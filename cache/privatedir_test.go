package cache

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A cache directory another user could have made or can write to is
// refused; a fresh one is made 0700; a pid file planted as a symlink is
// replaced, never written through.
func TestPrivateDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown a directory to another user")
	}
	base := t.TempDir()
	fresh := filepath.Join(base, "a", "b")
	require.NoError(t, PrivateDir(fresh))
	for _, d := range []string{filepath.Join(base, "a"), fresh} {
		fi, err := os.Stat(d)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), d)
	}
	require.NoError(t, PrivateDir(fresh), "an existing private directory is fine")

	planted := filepath.Join(base, "planted")
	require.NoError(t, os.Mkdir(planted, 0o755))
	require.NoError(t, os.Chown(planted, 65534, 65534))
	require.ErrorIs(t, PrivateDir(planted), ErrUntrusted)
	_, err := Open(Options{Dir: planted, NoSync: true})
	require.ErrorIs(t, err, ErrUntrusted)

	open := filepath.Join(base, "open")
	require.NoError(t, os.Mkdir(open, 0o700))
	require.NoError(t, os.Chmod(open, 0o777))
	require.ErrorIs(t, PrivateDir(open), ErrUntrusted)

	link := filepath.Join(base, "link")
	require.NoError(t, os.Symlink(fresh, link))
	require.NoError(t, PrivateDir(link), "the caller's own symlink to a private directory")
	require.NoError(t, os.Lchown(link, 65534, 65534))
	require.ErrorIs(t, PrivateDir(link), ErrUntrusted, "another user's symlink")

	// A symlink planted as index.pid is replaced, its target untouched.
	dir := filepath.Join(base, "cache")
	require.NoError(t, PrivateDir(dir))
	victim := filepath.Join(base, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious"), 0o600))
	require.NoError(t, os.Symlink(victim, filepath.Join(dir, pidFile)))
	c := openTest(t, Options{Dir: dir, NoSync: true, MinFree: -1})
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	require.Equal(t, "precious", string(b))
	fi, err := os.Lstat(filepath.Join(dir, pidFile))
	require.NoError(t, err)
	require.True(t, fi.Mode().IsRegular())
	require.NoError(t, c.Close())
}
