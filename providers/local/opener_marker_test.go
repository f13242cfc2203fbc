package local

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// Once byob has written to a directory as a bucket, addresses below it keep
// that directory as the root, so keys do not depend on the address depth.
func TestOpenerKeepsMarkedRoot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(dir, DefaultOptions())
	require.NoError(t, err)
	_, err = st.Put(ctx, "wandb/ent/proj/run1/config.yaml", bytes.NewReader([]byte("x")), 1, providers.PutOptions{})
	require.NoError(t, err)

	for path, want := range map[string]string{
		dir:                                      "",
		dir + "/wandb":                           "wandb",
		dir + "/wandb/ent/proj/run1":             "wandb/ent/proj/run1",
		dir + "/wandb/ent/proj/run1/config.yaml": "wandb/ent/proj/run1/config.yaml",
		dir + "/wandb/ent/proj/new/dir/file":     "wandb/ent/proj/new/dir/file",
	} {
		a, err := providers.ParseAddress("file://" + path)
		require.NoError(t, err)
		s, prefix, err := Opener(ctx, a)
		require.NoError(t, err)
		require.Equal(t, want, prefix, path)
		info, err := s.Stat(ctx, "wandb/ent/proj/run1/config.yaml")
		require.NoError(t, err, path)
		require.Equal(t, int64(1), info.Size)
	}

	// Without the marker the deepest existing directory is the root.
	plain := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(plain, "a", "b"), 0o755))
	a, err := providers.ParseAddress("file://" + plain + "/a/b/c")
	require.NoError(t, err)
	_, prefix, err := Opener(ctx, a)
	require.NoError(t, err)
	require.Equal(t, "c", prefix)
}
