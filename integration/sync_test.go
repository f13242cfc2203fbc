package integration

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers/faulty"
)

// makeTree writes n files of a few KiB under dir in nested folders, with
// distinct mtimes, and returns relative path -> sha256.
func makeTree(t *testing.T, dir string, n int, seed uint64) map[string][32]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	out := map[string][32]byte{}
	for i := 0; i < n; i++ {
		rel := fmt.Sprintf("ent/proj/run%02d/files/f%04d.bin", i%7, i)
		if i%5 == 0 {
			rel = fmt.Sprintf("ent/proj/run%02d/media/images/img_%d_%x.png", i%7, i, rng.Uint32())
		}
		data := make([]byte, 1024+rng.IntN(8192))
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
		mt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
		require.NoError(t, os.Chtimes(p, mt, mt))
		out[rel] = sha256.Sum256(data)
	}
	return out
}

// readTree hashes every regular file below dir (byob's own folders excluded).
func readTree(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".byob-local" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = sha256.Sum256(b)
		}
		return nil
	}))
	return out
}

// proxied returns an s3:// address of bucket reached through a fault proxy.
func proxied(t *testing.T, s *testenv.S3Server, bucket string, rules ...faulty.Rule) (string, *faulty.Proxy) {
	t.Helper()
	p, err := faulty.NewProxy(s.URL, faulty.ProxyOptions{Dialect: faulty.S3, Seed: 42, Rules: rules})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	enc := strings.NewReplacer("/", "%2F", "+", "%2B").Replace(s.SecretKey)
	return fmt.Sprintf("s3://%s:%s@%s?endpoint=%s&region=%s&tls=false", s.AccessKey, enc, bucket, url.QueryEscape(p.URL()), s.Region), p
}

func TestSyncMinIORoundTripAndNoOpCost(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	src := t.TempDir()
	want := makeTree(t, src, 120, 1)
	addr, proxy := proxied(t, s, bucket)
	env := []string{"BYOB_CACHE_DIR=" + t.TempDir()}
	dst := strings.Replace(addr, "?", "/team/?", 1)
	dst = strings.Replace(dst, "@"+bucket+"/team/?", "@"+bucket+"/team?", 1)

	r := byob(t, env, "--json", "sync", src, dst)
	require.Equal(t, 0, r.code, r)
	var rep struct {
		Copied int `json:"copied"`
		Failed int `json:"failed"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &rep))
	require.Equal(t, 120, rep.Copied)

	// A no-op re-sync: one listing of the bucket, no HEAD, GET or PUT.
	proxy.Reset()
	r = byob(t, env, "--json", "sync", src, dst)
	require.Equal(t, 0, r.code, r)
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &rep))
	require.Equal(t, 0, rep.Copied)
	c := proxy.Counts()
	require.Equal(t, 1, c[faulty.KindList], "%v", c)
	for _, k := range []string{faulty.KindHead, faulty.KindGet, faulty.KindPut} {
		require.Zero(t, c[k], "%s in a no-op re-sync: %v", k, c)
	}

	// Back down to a new directory: identical bytes and mtimes.
	back := t.TempDir()
	r = byob(t, env, "sync", dst, back)
	require.Equal(t, 0, r.code, r)
	require.Equal(t, want, readTree(t, back))
	fi, err := os.Stat(filepath.Join(back, "ent/proj/run01/files/f0001.bin"))
	require.NoError(t, err)
	require.True(t, fi.ModTime().Equal(time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)), "mtime %v", fi.ModTime())

	// A no-op download re-sync makes no GET either.
	proxy.Reset()
	r = byob(t, env, "sync", dst, back)
	require.Equal(t, 0, r.code, r)
	require.Zero(t, proxy.Count(faulty.KindGet))
	require.Zero(t, proxy.Count(faulty.KindHead))

	// --delete with a dry run changes nothing; then for real.
	require.NoError(t, os.Remove(filepath.Join(src, "ent/proj/run01/files/f0001.bin")))
	r = byob(t, env, "sync", "--delete", "--dry-run", src, dst)
	require.Equal(t, 0, r.code, r)
	require.Equal(t, "delete \"ent/proj/run01/files/f0001.bin\" (not in source)\n", r.stdout)
	r = byob(t, env, "sync", "--delete", dst, back)
	require.Equal(t, 0, r.code, r)
	require.Equal(t, want, readTree(t, back), "the dry run deleted nothing")
	r = byob(t, env, "sync", "--delete", src, dst)
	require.Equal(t, 0, r.code, r)
	r = byob(t, env, "sync", "--delete", dst, back)
	require.Equal(t, 0, r.code, r)
	delete(want, "ent/proj/run01/files/f0001.bin")
	require.Equal(t, want, readTree(t, back))
}

// Through a proxy failing 10% of requests (503 SlowDown, resets, cut
// bodies) a sync still finishes with exit 0 and an identical tree; a failed
// listing deletes nothing.
func TestSyncMinIOUnderFaults(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	src := t.TempDir()
	want := makeTree(t, src, 150, 2)
	env := []string{"BYOB_CACHE_DIR=" + t.TempDir()}
	addr, proxy := proxied(t, s, bucket,
		faulty.Rule{Rate: 0.04, Action: faulty.Throttle},
		faulty.Rule{Rate: 0.03, Action: faulty.Reset},
		faulty.Rule{Kind: faulty.KindGet, Rate: 0.05, Action: faulty.Truncate, After: 100},
		faulty.Rule{Rate: 0.03, Action: faulty.InternalError},
	)
	r := byob(t, env, "sync", src, addr)
	require.Equal(t, 0, r.code, r)
	back := t.TempDir()
	r = byob(t, env, "sync", addr, back)
	require.Equal(t, 0, r.code, r)
	require.Equal(t, want, readTree(t, back))
	require.Greater(t, proxy.Injected(), 5, "faults were injected")

	// Every LIST fails: the sync fails and deletes nothing locally.
	require.NoError(t, proxy.SetRules(faulty.Rule{Kind: faulty.KindList, Action: faulty.InternalError}))
	require.NoError(t, os.WriteFile(filepath.Join(back, "extra.txt"), []byte("keep me"), 0o644))
	r = byob(t, env, "sync", "--delete", addr, back)
	require.Equal(t, 1, r.code, r)
	_, err := os.Stat(filepath.Join(back, "extra.txt"))
	require.NoError(t, err, "a failed listing must delete nothing")
}

// The end-to-end matrix on the local backend: newer/older/same/different
// size on the destination, with --update, --delete and --dry-run.
func TestSyncLocalMatrix(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	write := func(dir, name, data string, mt time.Time) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
		require.NoError(t, os.Chtimes(p, mt, mt))
	}
	cases := []struct {
		name          string
		dstData       string
		dstTime       time.Time
		flags         []string
		wantData      string
		wantExtraGone bool
	}{
		{"same", "hello", base, nil, "hello", false},
		{"older", "hellx", base.Add(-time.Hour), nil, "hello", false},
		{"newer", "hellx", base.Add(time.Hour), nil, "hello", false},
		{"newer-update", "hellx", base.Add(time.Hour), []string{"--update"}, "hellx", false},
		{"size", "hello world", base, nil, "hello", false},
		{"size-only-same-size", "HELLO", base.Add(time.Hour), []string{"--size-only"}, "HELLO", false},
		{"delete", "hello", base, []string{"--delete"}, "hello", true},
		{"delete-dry-run", "hellx", base.Add(-time.Hour), []string{"--delete", "--dry-run"}, "hellx", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, bucketDir := t.TempDir(), t.TempDir()
			write(src, "a/f.txt", "hello", base)
			// The destination is a file:// bucket written by byob.
			dst := "file://" + bucketDir + "/"
			r := byob(t, []string{"BYOB_CACHE_DIR=" + t.TempDir()}, "sync", src, dst)
			require.Equal(t, 0, r.code, r)
			write(bucketDir, "a/f.txt", c.dstData, c.dstTime)
			write(bucketDir, "extra.txt", "x", base)
			args := append(append([]string{"sync"}, c.flags...), src, dst)
			r = byob(t, []string{"BYOB_CACHE_DIR=" + t.TempDir()}, args...)
			require.Equal(t, 0, r.code, r)
			got, err := os.ReadFile(filepath.Join(bucketDir, "a/f.txt"))
			require.NoError(t, err)
			require.Equal(t, c.wantData, string(got))
			_, err = os.Stat(filepath.Join(bucketDir, "extra.txt"))
			require.Equal(t, c.wantExtraGone, os.IsNotExist(err), "extra.txt")
		})
	}
}

func TestSyncRefusesOverlapAndBadFlags(t *testing.T) {
	dir := t.TempDir()
	r := byob(t, nil, "sync", dir, "file://"+dir+"/sub")
	require.NotEqual(t, 0, r.code, r)
	r = byob(t, nil, "sync", "--checksum", "--size-only", dir, t.TempDir())
	require.Equal(t, 2, r.code, r)
	r = byob(t, nil, "sync", "--shard", "3/2", dir, t.TempDir())
	require.Equal(t, 2, r.code, r)
}

// Two teams on one file:// bucket, and two sub-paths of one team, are
// different places: a sync between them runs (it was refused as an
// "overlap" because the bucket directory alone was compared) and touches
// only its destination; a sync into its own source still is refused.
func TestSyncBetweenTeamsOfOneBucket(t *testing.T) {
	dir := t.TempDir()
	bucket := filepath.Join(dir, "bucket")
	want := makeTree(t, filepath.Join(bucket, "ta", "sub1"), 20, 3)
	cfg := filepath.Join(dir, "config.toml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
[teams.a]
address = "file://`+bucket+`"
path = "ta"
[teams.b]
address = "file://`+bucket+`"
path = "tb"
`), 0o600))
	env := []string{"BYOB_CACHE_DIR=" + filepath.Join(dir, "cache")}
	for _, dst := range []string{"a:sub2", "b:sub1"} {
		r := byob(t, env, "--config", cfg, "sync", "a:sub1", dst)
		require.Equal(t, 0, r.code, r)
		team, sub, _ := strings.Cut(dst, ":")
		require.Equal(t, want, readTree(t, filepath.Join(bucket, "t"+team, sub)), dst)
	}
	require.Equal(t, want, readTree(t, filepath.Join(bucket, "ta", "sub1")))
	r := byob(t, env, "--config", cfg, "sync", "a:", "a:sub1/inner")
	require.Equal(t, 2, r.code, r)
	require.Contains(t, r.stderr, "overlap")
}

// A typo in the source of `sync --delete` (a missing directory, a prefix
// with nothing under it) exits 1 and deletes nothing; an existing empty
// source needs --allow-empty-source to empty the destination. Through the
// built binary, on a local directory and on MinIO.
func TestSyncMissingSourceDeletesNothing(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	dir := t.TempDir()
	dl := filepath.Join(dir, "dl")
	want := makeTree(t, dl, 12, 5)
	env := []string{"BYOB_CACHE_DIR=" + filepath.Join(dir, "cache")}
	remote := strings.Replace(s.Address(bucket), "/"+bucket+"?", "/"+bucket+"/up?", 1)
	r := byob(t, env, "sync", dl, remote)
	require.Equal(t, 0, r.code, r)

	typoLocal := filepath.Join(dir, "dll")
	typoRemote := strings.Replace(s.Address(bucket), "/"+bucket+"?", "/"+bucket+"/pu?", 1)
	for _, c := range []struct{ src, dst string }{{typoLocal, remote}, {typoRemote, dl}} {
		for _, extra := range [][]string{nil, {"-n"}, {"--allow-empty-source"}} {
			args := append([]string{"sync", "--delete"}, extra...)
			r := byob(t, env, append(args, c.src, c.dst)...)
			require.Equal(t, 1, r.code, r)
			require.Contains(t, r.stderr, "does not exist")
			require.NotContains(t, r.stderr, s.SecretKey)
		}
	}
	require.Equal(t, want, readTree(t, dl))
	r = byob(t, env, "sync", remote, filepath.Join(dir, "back"))
	require.Equal(t, 0, r.code, r)
	require.Equal(t, want, readTree(t, filepath.Join(dir, "back")), "nothing was deleted in the bucket")

	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	r = byob(t, env, "sync", "--delete", empty, remote)
	require.Equal(t, 1, r.code, r)
	require.Contains(t, r.stderr, "--allow-empty-source")
	r = byob(t, env, "sync", "--delete", "--allow-empty-source", empty, remote)
	require.Equal(t, 0, r.code, r)
	r = byob(t, env, "ls", "-R", remote)
	require.Equal(t, 1, r.code, "the prefix is gone: %v", r)
}
