package integration

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// byob mount --config FILE MOUNTPOINT shows one directory per team, each
// confined to its store and sub-path; a team without an address shares the
// instance bucket under instance.path.
func TestMountTeamsFromConfig(t *testing.T) {
	requireFUSEMount(t)
	dir := t.TempDir()
	for p, data := range map[string]string{
		"omega/a.txt":              "omega's file",
		"shared/wandb/kappa/k.txt": "kappa's file",
		"shared/wandb/other/x.txt": "not kappa's",
		"shared/outside.txt":       "outside every team",
	} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(data), 0o644))
	}
	cfg := filepath.Join(dir, "config.toml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
[instance]
address = "file://`+dir+`/shared"
path = "wandb"
[teams.omega]
address = "file://`+dir+`/omega"
[teams.kappa]
path = "kappa"
`), 0o600))
	mnt := filepath.Join(dir, "mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	env := []string{"BYOB_CACHE_DIR=" + filepath.Join(dir, "cache")}
	r := byob(t, env, "--config", cfg, "mount", "--daemon", mnt)
	require.Equal(t, 0, r.code, r)
	t.Cleanup(func() {
		byob(t, env, "unmount", mnt)
		syscall.Unmount(mnt, syscall.MNT_DETACH)
	})

	entries, err := os.ReadDir(mnt)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"kappa", "omega"}, names)
	b, err := os.ReadFile(filepath.Join(mnt, "kappa", "k.txt"))
	require.NoError(t, err)
	require.Equal(t, "kappa's file", string(b))
	entries, err = os.ReadDir(filepath.Join(mnt, "kappa"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "kappa sees only its own sub-path")

	// Writes land in the team's own store; renames across teams are EXDEV.
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "omega", "new.txt"), []byte("new"), 0o644))
	b, err = os.ReadFile(filepath.Join(dir, "omega", "new.txt"))
	require.NoError(t, err)
	require.Equal(t, "new", string(b))
	err = os.Rename(filepath.Join(mnt, "omega", "a.txt"), filepath.Join(mnt, "kappa", "a.txt"))
	require.ErrorIs(t, err, syscall.EXDEV)
	// Nothing can be created in the root.
	require.Error(t, os.WriteFile(filepath.Join(mnt, "loose.txt"), []byte("x"), 0o644))

	r = byob(t, env, "unmount", mnt)
	require.Equal(t, 0, r.code, r)
}
