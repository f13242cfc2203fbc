package fusefs

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// The name "%%" (an empty key segment) is a directory below its parent,
// never the parent itself: touch gives EINVAL, mkdir makes "a//", a write
// below it lands below it, and rm -rf of it leaves the parent alone.
func TestEmptySegmentThroughMount(t *testing.T) {
	st := newMem()
	put(t, st, "a/", nil)
	put(t, st, "a/top.txt", []byte("top"))
	mnt := testMount(t, newFS(t, st, nil), MountOptions{})
	a := filepath.Join(mnt, "a")

	err := os.WriteFile(filepath.Join(a, "%%"), []byte("x"), 0o644)
	require.ErrorIs(t, err, syscall.EINVAL)
	require.NoError(t, os.Mkdir(filepath.Join(a, "%%"), 0o755))
	_, err = get(t, st, "a//")
	require.NoError(t, err, "mkdir %%%% makes the marker a//")
	require.NoError(t, os.WriteFile(filepath.Join(a, "%%", "top.txt"), []byte("below"), 0o644))
	got, err := get(t, st, "a//top.txt")
	require.NoError(t, err)
	require.Equal(t, "below", string(got))
	got, err = get(t, st, "a/top.txt")
	require.NoError(t, err)
	require.Equal(t, "top", string(got), "writing %%%%/top.txt must not touch top.txt")

	require.NoError(t, os.RemoveAll(filepath.Join(a, "%%")))
	got, err = get(t, st, "a/top.txt")
	require.NoError(t, err)
	require.Equal(t, "top", string(got), "rm -rf %%%% must not empty its parent")
	b, err := os.ReadFile(filepath.Join(a, "top.txt"))
	require.NoError(t, err)
	require.Equal(t, "top", string(b))
}
