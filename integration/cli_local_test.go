package integration

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/seed"
	"github.com/byobfs/byob/providers/local"
)

// seedLocal makes a file:// bucket holding the demo team layout under "wandb".
func seedLocal(t *testing.T) (dir string, sum seed.Summary) {
	t.Helper()
	dir = t.TempDir()
	st, err := local.Open(dir, local.DefaultOptions())
	require.NoError(t, err)
	sum, err = seed.Team(context.Background(), st, "wandb", seed.DefaultOptions())
	require.NoError(t, err)
	return dir, sum
}

func TestCLILocalLs(t *testing.T) {
	dir, sum := seedLocal(t)
	addr := "file://" + dir + "/wandb"

	r := byob(t, nil, "ls", addr)
	require.Equal(t, 0, r.code, r)
	require.Equal(t, "acme-ml/\nwandb_artifacts/\n", r.stdout)

	r = byob(t, nil, "ls", "-R", "--json", addr)
	require.Equal(t, 0, r.code, r)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, len(sum.Objects))
	kinds := map[string]int{}
	prev := ""
	for _, l := range lines {
		var e struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
			Kind string `json:"kind"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &e))
		require.Equal(t, int64(len(sum.Objects["wandb/"+e.Key])), e.Size, e.Key)
		require.Greater(t, e.Key, prev, "listing must be in key order")
		prev = e.Key
		kinds[e.Kind]++
	}
	require.Equal(t, 6, kinds["artifact-manifest"])
	require.Equal(t, 3*7, kinds["run-file"])
	require.Equal(t, 3*4, kinds["media"])
	require.Equal(t, 1, kinds["report-image"])
	require.Equal(t, 15, kinds["artifact-blob"])

	r = byob(t, nil, "ls", "-l", "-H", addr+"/wandb_artifacts/1")
	require.Equal(t, 0, r.code, r)
	require.Contains(t, r.stdout, "dir")

	r = byob(t, nil, "ls", addr+"/nothing-here")
	require.Equal(t, 1, r.code, r)
	require.Contains(t, r.stderr, "nothing at")
}

func TestCLILocalStatCatCp(t *testing.T) {
	dir, sum := seedLocal(t)
	var key string
	for _, k := range sum.Keys() {
		if strings.HasSuffix(k, "config.yaml") {
			key = k
			break
		}
	}
	addr := "file://" + dir + "/" + key

	r := byob(t, nil, "cat", addr)
	require.Equal(t, 0, r.code, r)
	require.Equal(t, string(sum.Objects[key]), r.stdout)

	r = byob(t, nil, "cat", "--offset", "5", "--count", "3", addr)
	require.Equal(t, 0, r.code, r)
	require.Equal(t, string(sum.Objects[key][5:8]), r.stdout)

	r = byob(t, nil, "stat", "--json", addr)
	require.Equal(t, 0, r.code, r)
	var st struct {
		Size  int64     `json:"size"`
		Kind  string    `json:"kind"`
		Mtime time.Time `json:"mtime"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st))
	require.Equal(t, int64(len(sum.Objects[key])), st.Size)
	require.Equal(t, "run-file", st.Kind)
	require.Equal(t, 2026, st.Mtime.Year())

	// Download into a directory: base name, mtime from metadata, no temp left.
	out := t.TempDir()
	r = byob(t, nil, "cp", addr, out+"/")
	require.Equal(t, 0, r.code, r)
	got, err := os.ReadFile(filepath.Join(out, "config.yaml"))
	require.NoError(t, err)
	require.Equal(t, sum.Objects[key], got)
	fi, err := os.Stat(filepath.Join(out, "config.yaml"))
	require.NoError(t, err)
	require.True(t, fi.ModTime().Equal(st.Mtime), "mtime %v != %v", fi.ModTime(), st.Mtime)
	entries, _ := os.ReadDir(out)
	require.Len(t, entries, 1)

	// Upload a local file into a prefix that exists: it receives the base name.
	src := filepath.Join(t.TempDir(), "notes.txt")
	require.NoError(t, os.WriteFile(src, []byte("hello byob\n"), 0o644))
	mt := time.Date(2025, 1, 2, 3, 4, 5, 600000000, time.UTC)
	require.NoError(t, os.Chtimes(src, mt, mt))
	r = byob(t, nil, "cp", src, "file://"+dir+"/wandb/acme-ml")
	require.Equal(t, 0, r.code, r)
	r = byob(t, nil, "stat", "--json", "file://"+dir+"/wandb/acme-ml/notes.txt")
	require.Equal(t, 0, r.code, r)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st))
	require.True(t, st.Mtime.Equal(mt), "mtime %v", st.Mtime)
}

func TestCLIBadInput(t *testing.T) {
	dir, _ := seedLocal(t)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ls", "ftp://x/y"}, 2, "unknown scheme"},
		{[]string{"ls", "s3://K:S@host:9000"}, 2, "missing bucket"},
		{[]string{"ls", "nosuchremote:path"}, 2, "no remote or team"},
		{[]string{"cat", "file://" + dir + "/wandb/missing.txt"}, 1, "no object at"},
		{[]string{"cp", "/nonexistent/file", "file://" + dir + "/x"}, 1, "cannot read"},
		{[]string{"cp", "a", "b"}, 2, "both sides are local"},
		{[]string{"ls", "--bogus"}, 2, "unknown flag"},
		{[]string{"cat"}, 2, "accepts 1 arg"},
	}
	for _, c := range cases {
		r := byob(t, nil, c.args...)
		require.Equal(t, c.code, r.code, "%v: %s", c.args, r)
		require.Contains(t, r.stderr, c.want, "%v", c.args)
		require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	}
	// A failed download leaves nothing behind.
	out := t.TempDir()
	r := byob(t, nil, "cp", "file://"+dir+"/wandb/missing.bin", out+"/")
	require.Equal(t, 1, r.code, r)
	entries, _ := os.ReadDir(out)
	require.Empty(t, entries)
}

func TestCLIVersionAndHelp(t *testing.T) {
	r := byob(t, nil, "version")
	require.Equal(t, 0, r.code, r)
	require.Contains(t, r.stdout, "byob ")
	r = byob(t, nil, "--help")
	require.Equal(t, 0, r.code, r)
	require.Contains(t, r.stdout, "Exit codes:")
	for _, c := range []string{"ls", "stat", "cat", "cp", "version"} {
		r = byob(t, nil, c, "--help")
		require.Equal(t, 0, r.code, r)
		require.Contains(t, r.stdout, "Usage:")
	}
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }
