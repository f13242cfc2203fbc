package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/azure"
	"github.com/byobfs/byob/providers/gcs"
	"github.com/byobfs/byob/providers/local"
	"github.com/byobfs/byob/providers/minio"
	"github.com/byobfs/byob/providers/s3"
	"github.com/byobfs/byob/transfer"
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

// teamsBackend is one kind of store two teams share a bucket of.
type teamsBackend struct {
	name string
	addr string // the bucket's address
	st   providers.Store
}

func teamsBackends(t *testing.T) []teamsBackend {
	t.Helper()
	open := func(opener providers.Opener, addr string) providers.Store {
		a, err := providers.ParseAddress(addr)
		require.NoError(t, err)
		st, _, err := opener(context.Background(), a)
		require.NoError(t, err)
		if c, ok := st.(providers.Closer); ok {
			t.Cleanup(func() { c.Close() })
		}
		return st
	}
	dir := t.TempDir()
	s := testenv.MinIO(t)
	mb := s.NewBucket(t)
	g := testenv.FakeGCS(t)
	gb := g.NewBucket(t)
	az := testenv.Azurite(t)
	ac := az.NewContainer(t)
	var out []teamsBackend
	for _, c := range []struct {
		name, addr string
		open       providers.Opener
	}{
		{"file", "file://" + dir, local.Opener},
		{"s3-minio", s.Address(mb, "sdk=minio"), minio.Opener},
		{"s3-aws", s.Address(mb, "sdk=aws"), s3.Opener},
		{"gs", g.Address(gb), gcs.Opener},
		{"az", az.Address(ac), azure.Opener},
	} {
		out = append(out, teamsBackend{c.name, c.addr, open(c.open, c.addr)})
	}
	return out
}

// Two teams on one bucket under different sub-paths share nothing through
// a teams mount: not a name (listings), not a byte (blocks), not a
// write-back entry replayed after a crash; for every kind of store. (Two
// teams on one file:// bucket shared the cache's store ID: b listed a's
// files, and a's write-back entry was replayed into b's path.)
func TestTeamsOnOneBucketNeverCross(t *testing.T) {
	requireFUSEMount(t)
	ctx := context.Background()
	for _, be := range teamsBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			pa, pb := "t-"+be.name+"-a", "t-"+be.name+"-b"
			put := func(key, data string) {
				_, err := be.st.Put(ctx, key, strings.NewReader(data), int64(len(data)), providers.PutOptions{})
				require.NoError(t, err)
			}
			get := func(key string) string {
				b, err := storeBytes(t, be.st, key)
				if err != nil {
					return "<" + err.Error() + ">"
				}
				return string(b)
			}
			put(pa+"/same.txt", "a's bytes")
			put(pb+"/same.txt", "b's other bytes")
			put(pa+"/only-a.txt", "a")
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config.toml")
			require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`
[teams.a]
address = %q
path = %q
[teams.b]
address = %q
path = %q
`, be.addr, pa, be.addr, pb)), 0o600))
			mnt, cacheDir := filepath.Join(dir, "mnt"), filepath.Join(dir, "cache")
			require.NoError(t, os.Mkdir(mnt, 0o755))
			m := startMount(t, nil, "", mnt, cacheDir, "--config", cfg)
			names := func(team string) []string {
				ents, err := os.ReadDir(filepath.Join(mnt, team))
				require.NoError(t, err)
				var out []string
				for _, e := range ents {
					out = append(out, e.Name())
				}
				return out
			}
			read := func(p string) string {
				b, err := os.ReadFile(filepath.Join(mnt, p))
				require.NoError(t, err)
				return string(b)
			}
			require.Equal(t, []string{"only-a.txt", "same.txt"}, names("a"))
			require.Equal(t, "a's bytes", read("a/same.txt"))
			require.Equal(t, []string{"same.txt"}, names("b"))
			require.Equal(t, "b's other bytes", read("b/same.txt"))
			require.NoError(t, os.WriteFile(filepath.Join(mnt, "a", "new.txt"), []byte("written to a"), 0o644))
			require.Equal(t, []string{"same.txt"}, names("b"))
			m.stop()

			// A write-back entry of a, killed before its upload, is
			// uploaded into a's sub-path by the next mount, never b's.
			m = startMount(t, []string{transfer.CrashEnv + "=fs-after-writeback-ack"}, "", mnt, cacheDir, "--config", cfg, "--write-back")
			require.NoError(t, os.WriteFile(filepath.Join(mnt, "a", "wb.txt"), []byte("a's write-back"), 0o644))
			m.crashed("fs-after-writeback-ack")
			m = startMount(t, nil, "", mnt, cacheDir, "--config", cfg, "--write-back")
			require.Eventually(t, func() bool { return get(pa+"/wb.txt") == "a's write-back" }, time.Minute, 50*time.Millisecond, get(pa+"/wb.txt"))
			require.Equal(t, []string{"same.txt"}, names("b"))
			m.stop()
			require.Contains(t, get(pb+"/wb.txt"), "not exist")
			require.Contains(t, get(pb+"/new.txt"), "not exist")
			require.Equal(t, "b's other bytes", get(pb+"/same.txt"))
			require.Equal(t, "a's bytes", get(pa+"/same.txt"))
		})
	}
}
