package integration

// Tests of `byob mount` through the built binary on MinIO: crash points
// (BYOB_CRASH_AT), a killed writer, forked children closing inherited
// descriptors, and request counts through the fault proxy. Every mount runs
// under a watchdog that force-unmounts it (lazy unmount, then abort through
// /sys/fs/fuse/connections) so a hang fails one test, not the run.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
	"github.com/byobfs/byob/transfer"
)

// mountProc is one `byob mount --daemon` of the built binary.
type mountProc struct {
	t                     *testing.T
	mnt, cacheDir, logDir string
	pid                   int
	dev                   uint64
	dog                   *time.Timer
}

var pidRE = regexp.MustCompile(`\(pid (\d+)\)`)

// startMount mounts addr (or, when "", every team of the --config given in
// flags) on mnt with the built binary (--daemon), its cache in cacheDir. The daemon's stderr lands in a log file of its own TMPDIR
// (see daemonize), read by crashed.
func startMount(t *testing.T, env []string, addr, mnt, cacheDir string, flags ...string) *mountProc {
	t.Helper()
	requireFUSEMount(t)
	logDir := t.TempDir()
	args := append([]string{"mount", "--daemon", "--cache-dir", cacheDir}, flags...)
	if addr != "" { // none: every team of the --config among flags
		args = append(args, addr)
	}
	args = append(args, mnt)
	r := byob(t, append([]string{"TMPDIR=" + logDir}, env...), args...)
	require.Equal(t, 0, r.code, r)
	m := pidRE.FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r)
	pid, _ := strconv.Atoi(m[1])
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(mnt, &st))
	mp := &mountProc{t: t, mnt: mnt, cacheDir: cacheDir, logDir: logDir, pid: pid, dev: st.Dev}
	limit := 4 * time.Minute
	if dl, ok := t.Deadline(); ok && time.Until(dl) < limit+15*time.Second {
		limit = time.Until(dl) - 15*time.Second
	}
	mp.dog = time.AfterFunc(limit, func() {
		fmt.Fprintf(os.Stderr, "watchdog: %s hung, force-unmounting %s\n", t.Name(), mnt)
		mp.force()
		syscall.Kill(pid, syscall.SIGKILL)
	})
	t.Cleanup(mp.stop)
	return mp
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

// force detaches the mount and aborts its FUSE connection.
func (m *mountProc) force() { testenv.ForceUnmount(m.mnt, m.dev) }

// stop unmounts (SIGTERM: the mount drains and unmounts itself), then
// makes sure nothing is left mounted or running.
func (m *mountProc) stop() {
	m.dog.Stop()
	if alive(m.pid) {
		syscall.Kill(m.pid, syscall.SIGTERM)
		deadline := time.Now().Add(time.Minute)
		for alive(m.pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(m.pid) {
			m.t.Errorf("mount %d did not stop on SIGTERM", m.pid)
			syscall.Kill(m.pid, syscall.SIGKILL)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(m.mnt, &st); err != nil || st.Dev == m.dev {
		m.force() // still mounted, or stale (ENOTCONN)
	}
}

// stderr is what the daemon wrote to its stderr.
func (m *mountProc) stderr() string {
	files, _ := filepath.Glob(filepath.Join(m.logDir, "byob-mount-*.log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

// crashed waits until the daemon printed crash point name and died.
func (m *mountProc) crashed(name string) {
	m.t.Helper()
	line := "byob: crash point " + name
	require.Eventually(m.t, func() bool { return strings.Contains(m.stderr(), line) && !alive(m.pid) },
		2*time.Minute, 20*time.Millisecond, "the mount never reached crash point %s; stderr:\n%s", name, m.stderr())
	m.t.Logf("the mount (pid %d) was killed at %q", m.pid, name)
}

func randBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func storeBytes(t *testing.T, st providers.Store, key string) ([]byte, error) {
	t.Helper()
	body, _, err := st.Get(context.Background(), key, 0, -1, providers.GetOptions{})
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}

func incompleteUploads(t *testing.T, s *testenv.S3Server, bucket, key string) int {
	t.Helper()
	c, err := s.Client()
	require.NoError(t, err)
	n := 0
	for u := range c.ListIncompleteUploads(context.Background(), bucket, key, false) {
		require.NoError(t, u.Err)
		if u.Key == key {
			n++
		}
	}
	return n
}

func cacheStats(t *testing.T, dir string) map[string]int {
	t.Helper()
	r := byob(t, nil, "cache", "stats", "--cache-dir", dir, "--json")
	require.Equal(t, 0, r.code, r)
	var s struct {
		Buckets map[string]int `json:"buckets"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &s), r.stdout)
	return s.Buckets
}

// (a) A mount SIGKILLed in the middle of a large streamed O_TRUNC write:
// the object keeps its previous version, the cache lists the unfinished
// upload and holds the partial data; the next mount aborts the upload.
func TestMountCrashMidStreamedWrite(t *testing.T) {
	requireFUSEMount(t)
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	st, _ := openMinIO(t, s, bucket, "")
	ctx := context.Background()
	prev := []byte("the previous version\n")
	_, err := st.Put(ctx, "big.bin", bytes.NewReader(prev), int64(len(prev)), providers.PutOptions{})
	require.NoError(t, err)

	mnt, cacheDir := t.TempDir(), t.TempDir()
	m := startMount(t, []string{transfer.CrashEnv + "=" + transfer.CrashLiveMidUpload}, s.Address(bucket), mnt, cacheDir, "--part-size", "5MiB")
	f, err := os.OpenFile(filepath.Join(mnt, "big.bin"), os.O_WRONLY|os.O_TRUNC, 0)
	require.NoError(t, err)
	chunk := randBytes(1<<20, 1)
	written := 0
	for written < 256 {
		if _, err := f.Write(chunk); err != nil {
			t.Logf("write %d MiB: %v (the mount is gone)", written, err)
			break
		}
		written++
	}
	f.Close()
	m.crashed(transfer.CrashLiveMidUpload)
	require.Less(t, written, 256, "the mount died before the writer finished")

	got, err := storeBytes(t, st, "big.bin")
	require.NoError(t, err)
	require.Equal(t, prev, got, "the object keeps its previous version")
	require.Equal(t, 1, incompleteUploads(t, s, bucket, "big.bin"), "the streamed upload is unfinished on the server")
	require.Equal(t, 1, cacheStats(t, cacheDir)["uploads"], "the cache lists the unfinished upload")
	staged, _ := filepath.Glob(filepath.Join(cacheDir, "staging", "*", "w*"))
	var biggest int64
	for _, p := range staged {
		if fi, err := os.Stat(p); err == nil && fi.Size() > biggest {
			biggest = fi.Size()
		}
	}
	require.GreaterOrEqual(t, biggest, int64(10<<20), "the partial data is still in the staging file")

	// The next mount clears the stale mountpoint and aborts the orphan: the
	// file was never closed, so it is never published.
	m2 := startMount(t, nil, s.Address(bucket), mnt, cacheDir)
	require.Equal(t, 0, incompleteUploads(t, s, bucket, "big.bin"))
	b, err := os.ReadFile(filepath.Join(mnt, "big.bin"))
	require.NoError(t, err)
	require.Equal(t, prev, b)
	m2.stop()
	require.Zero(t, cacheStats(t, cacheDir)["uploads"])
}

// (b) In --write-back mode, a mount killed after close returned but before
// the upload ran uploads the file at the next mount: exact bytes.
func TestMountWriteBackCrashAfterAck(t *testing.T) {
	requireFUSEMount(t)
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	st, _ := openMinIO(t, s, bucket, "")
	ctx := context.Background()
	mnt, cacheDir := t.TempDir(), t.TempDir()
	m := startMount(t, []string{transfer.CrashEnv + "=fs-after-writeback-ack"}, s.Address(bucket), mnt, cacheDir, "--write-back")
	want := randBytes(20<<20+777, 2)
	require.NoError(t, os.MkdirAll(filepath.Join(mnt, "out"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "out", "wb.bin"), want, 0o644), "close is acknowledged")
	m.crashed("fs-after-writeback-ack")
	_, err := st.Stat(ctx, "out/wb.bin")
	require.ErrorIs(t, err, providers.ErrNotExist, "killed before the upload")
	require.Equal(t, 1, cacheStats(t, cacheDir)["writeback"], "the acknowledged file is journaled")

	m2 := startMount(t, nil, s.Address(bucket), mnt, cacheDir, "--write-back")
	require.Eventually(t, func() bool { _, err := st.Stat(ctx, "out/wb.bin"); return err == nil }, time.Minute, 50*time.Millisecond)
	got, err := storeBytes(t, st, "out/wb.bin")
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(want), sha256.Sum256(got))
	b, err := os.ReadFile(filepath.Join(mnt, "out", "wb.bin"))
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(want), sha256.Sum256(b))
	m2.stop()
	require.Zero(t, cacheStats(t, cacheDir)["writeback"])
}

// A writer SIGKILLed with its file open: the kernel closes its descriptors
// (FLUSH from the dying opener), so what it wrote is published.
func TestMountWriterKilled(t *testing.T) {
	requireFUSEMount(t)
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	st, _ := openMinIO(t, s, bucket, "")
	ctx := context.Background()
	mnt, cacheDir := t.TempDir(), t.TempDir()
	startMount(t, nil, s.Address(bucket), mnt, cacheDir, "--part-size", "5MiB")
	want := randBytes(12<<20+5, 3)
	src := filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.WriteFile(src, want, 0o644))
	script := `
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
data = open(sys.argv[2], 'rb').read()
view = memoryview(data)
while view:
    n = os.write(fd, view[:1 << 20])
    view = view[n:]
print("written", flush=True)
time.sleep(600)
`
	cmd := exec.Command("python3", "-c", script, filepath.Join(mnt, "killed.bin"), src)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "written\n", line)
	_, err = st.Stat(ctx, "killed.bin")
	require.ErrorIs(t, err, providers.ErrNotExist, "nothing is published before close")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	require.Eventually(t, func() bool { _, err := st.Stat(ctx, "killed.bin"); return err == nil }, time.Minute, 20*time.Millisecond)
	got, err := storeBytes(t, st, "killed.bin")
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(want), sha256.Sum256(got))
}

// A forked child (forked from a thread) closes its inherited descriptor
// while the parent keeps writing: nothing half-written is published; the
// parent's close publishes the exact content.
func TestMountForkedChildClose(t *testing.T) {
	requireFUSEMount(t)
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	st, _ := openMinIO(t, s, bucket, "")
	ctx := context.Background()
	mnt, cacheDir := t.TempDir(), t.TempDir()
	startMount(t, nil, s.Address(bucket), mnt, cacheDir, "--part-size", "5MiB")
	script := `
import os, sys, threading, warnings
warnings.simplefilter("ignore")
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
chunk = bytes(range(256)) * 4096
def write(n):
    for _ in range(n):
        os.write(fd, chunk)
write(1)
kids = []
def forker():
    pid = os.fork()
    if pid == 0:
        os.close(fd)  # FLUSH from another process: must publish nothing
        os._exit(0)
    kids.append(pid)
th = threading.Thread(target=forker)
th.start()
write(3)  # the parent keeps writing meanwhile
th.join()
os.waitpid(kids[0], 0)
write(2)
print("child-closed", flush=True)
sys.stdin.readline()
write(4)
os.close(fd)
print("done", flush=True)
`
	cmd := exec.Command("python3", "-c", script, filepath.Join(mnt, "forked.bin"))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "child-closed\n", line)
	_, err = st.Stat(ctx, "forked.bin")
	require.ErrorIs(t, err, providers.ErrNotExist, "the child's close published a half-written file")
	_, err = in.Write([]byte("\n"))
	require.NoError(t, err)
	line, err = r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "done\n", line)
	require.NoError(t, cmd.Wait())
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	want := bytes.Repeat(chunk, 10)
	got, err := storeBytes(t, st, "forked.bin")
	require.NoError(t, err)
	require.Equal(t, len(want), len(got))
	require.True(t, bytes.Equal(want, got), "content differs")
}

// Request counts through the fault proxy: a cold `ls -l` of 2500 objects is
// 3 LISTs and no HEAD; a cold sequential read of 64 MiB fetches at most
// 1.05x its size; a warm re-read makes no GET.
func TestMountRequestCounts(t *testing.T) {
	requireFUSEMount(t)
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	st, _ := openMinIO(t, s, bucket, "")
	ctx := context.Background()
	const n = 2500
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			b := []byte(strconv.Itoa(i))
			_, err := st.Put(ctx, fmt.Sprintf("many/f%05d", i), bytes.NewReader(b), int64(len(b)), providers.PutOptions{})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	big := randBytes(64<<20, 4)
	_, err := st.Put(ctx, "big.bin", bytes.NewReader(big), int64(len(big)), providers.PutOptions{})
	require.NoError(t, err)

	addr, proxy := proxied(t, s, bucket)
	mnt, cacheDir := t.TempDir(), t.TempDir()
	requireCacheRoom(t, cacheDir, 2*int64(len(big)))
	startMount(t, nil, addr, mnt, cacheDir, "--attr-ttl", "10m", "--dir-ttl", "10m", "--negative-ttl", "10m")
	_, err = os.Stat(filepath.Join(mnt, "many"))
	require.NoError(t, err)

	proxy.Reset()
	out, err := exec.Command("ls", "-l", filepath.Join(mnt, "many")).Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, n+1) // "total" and one line per file
	t.Logf("cold ls -l of %d objects: %v", n, proxy.Counts())
	require.Equal(t, (n+999)/1000, proxy.Count(faulty.KindList))
	require.Zero(t, proxy.Count(faulty.KindHead))
	require.Zero(t, proxy.Count(faulty.KindGet))

	_, err = os.Stat(filepath.Join(mnt, "big.bin"))
	require.NoError(t, err)
	proxy.Reset()
	f, err := os.Open(filepath.Join(mnt, "big.bin"))
	require.NoError(t, err)
	h := sha256.New()
	_, err = io.CopyBuffer(h, f, make([]byte, 128<<10))
	require.NoError(t, err)
	f.Close()
	require.Equal(t, sha256.Sum256(big), [32]byte(h.Sum(nil)))
	t.Logf("cold read of 64 MiB: %v, %d bytes from the server (%.3fx)", proxy.Counts(), proxy.BytesOut(), float64(proxy.BytesOut())/float64(len(big)))
	require.LessOrEqual(t, float64(proxy.BytesOut()), 1.05*float64(len(big)))

	proxy.Reset()
	b, err := os.ReadFile(filepath.Join(mnt, "big.bin"))
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(big), sha256.Sum256(b))
	t.Logf("warm re-read: %v", proxy.Counts())
	require.Zero(t, proxy.Count(faulty.KindGet))
}

// requireFUSEMount skips without /dev/fuse or root (DirectMount).
func requireFUSEMount(t *testing.T) {
	t.Helper()
	testenv.RequireFUSE(t)
}

// requireCacheRoom fails at once, saying why, when a mount's default cache
// under dir could not hold need bytes: it keeps cache.Options.MinFree of
// the disk free and stays within MaxSize (a share of the free space), and
// evicts beyond either, and a block evicted and fetched again would fail a
// test that counts the bytes fetched with a misleading figure.
func requireCacheRoom(t *testing.T, dir string, need int64) {
	t.Helper()
	o := cache.DefaultOptions(dir)
	var fs syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &fs))
	free := int64(fs.Bavail) * fs.Bsize
	if room := min(free-o.MinFree, o.MaxSize); room < need {
		t.Fatalf("disk under %s nearly full: %d MiB free, the cache keeps %d MiB free and holds at most %d MiB, this test needs %d MiB of cache (free some space)",
			dir, free>>20, o.MinFree>>20, o.MaxSize>>20, need>>20)
	}
}
