package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/local"
)

// holder is another process holding a file open for writing (this test
// binary re-run: runHolder), written and closed on command: a training
// job's log or checkpoint in the middle of being written. Each write is
// one write(2) on the descriptor, with no close or dup between.
type holder struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

const holderEnv = "BYOB_TEST_HOLD_FILE"

// runHolder opens path for writing and obeys stdin: "fill N SEED" writes
// randBytes(N, SEED), "close" closes the file, any other line is written
// as it is; each answers one line (ok, closed, or fail and the error).
func runHolder(path string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		fmt.Println("fail", err)
		os.Exit(1)
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var n, seed int64
		if _, err := fmt.Sscanf(sc.Text(), "fill %d %d", &n, &seed); err == nil {
			// n bytes of randBytes(n, seed), in 1 MiB writes
			b := randBytes(int(n), seed)
			for len(b) > 0 && err == nil {
				k := min(len(b), 1<<20)
				_, err = f.Write(b[:k])
				b = b[k:]
			}
			if err != nil {
				fmt.Println("fail", err)
			} else {
				fmt.Println("ok")
			}
			continue
		}
		if sc.Text() == "close" {
			if err := f.Close(); err != nil {
				fmt.Println("fail", err)
			} else {
				fmt.Println("closed")
			}
			continue
		}
		if _, err := f.Write(sc.Bytes()); err != nil {
			fmt.Println("fail", err)
		} else {
			fmt.Println("ok")
		}
	}
}

func hold(t *testing.T, path string) *holder {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), holderEnv+"="+path)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	h := &holder{t: t, cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	return h
}

// do sends one command and returns the answer's first word.
func (h *holder) do(line string) string {
	h.t.Helper()
	_, err := io.WriteString(h.in, line+"\n")
	require.NoError(h.t, err)
	ans, err := h.out.ReadString('\n')
	require.NoError(h.t, err)
	word, _, _ := strings.Cut(strings.TrimSpace(ans), " ")
	return word
}

// inMountTable reports whether mnt is in this process's mount table.
func inMountTable(t *testing.T, mnt string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) > 4 && f[4] == mnt {
			return true
		}
	}
	return false
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	require.Eventually(t, func() bool { return !alive(pid) }, time.Minute, 20*time.Millisecond, "mount %d did not exit", pid)
}

func localBucket(t *testing.T) (string, providers.Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := local.Open(dir, local.Options{NoSync: true})
	require.NoError(t, err)
	return "file://" + dir, st
}

func objText(t *testing.T, st providers.Store, key string) string {
	t.Helper()
	b, err := storeBytes(t, st, key)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// byob unmount refuses a busy mount, names what is open and by whom, and
// leaves the mount working; once the file is closed it unmounts.
func TestUnmountRefusesBusy(t *testing.T) {
	addr, st := localBucket(t)
	mnt, cacheDir := t.TempDir(), t.TempDir()
	m := startMount(t, nil, addr, mnt, cacheDir)
	h := hold(t, filepath.Join(mnt, "train.log"))
	require.Equal(t, "ok", h.do("epoch1-"))

	r := byob(t, nil, "unmount", mnt)
	require.Equal(t, 1, r.code, r)
	require.Contains(t, r.stderr, "busy")
	require.Contains(t, r.stderr, filepath.Join(mnt, "train.log"))
	require.Contains(t, r.stderr, "open for writing")
	require.Contains(t, r.stderr, "pid "+strconv.Itoa(h.cmd.Process.Pid))
	require.True(t, inMountTable(t, mnt))
	require.True(t, alive(m.pid))

	require.Equal(t, "ok", h.do("epoch2"))
	require.Equal(t, "closed", h.do("close"))
	r = byob(t, nil, "unmount", mnt)
	require.Equal(t, 0, r.code, r)
	waitGone(t, m.pid)
	require.False(t, inMountTable(t, mnt))
	require.Equal(t, "epoch1-epoch2", objText(t, st, "train.log"))
}

// --force detaches a busy mount at once; the process keeps serving the
// open file, uploads it when it is closed, and exits: nothing is lost.
// umount -l by root does the same.
func TestUnmountForceAndLazyUmount(t *testing.T) {
	for _, how := range []string{"force", "umount -l"} {
		t.Run(how, func(t *testing.T) {
			addr, st := localBucket(t)
			mnt, cacheDir := t.TempDir(), t.TempDir()
			m := startMount(t, nil, addr, mnt, cacheDir)
			h := hold(t, filepath.Join(mnt, "ckpt.bin"))
			require.Equal(t, "ok", h.do("part1-"))
			if how == "force" {
				r := byob(t, nil, "unmount", "--force", mnt)
				require.Equal(t, 0, r.code, r)
				require.Contains(t, r.stderr, filepath.Join(mnt, "ckpt.bin"))
			} else {
				require.NoError(t, syscall.Unmount(mnt, syscall.MNT_DETACH))
			}
			require.False(t, inMountTable(t, mnt), "detached at once")
			require.True(t, alive(m.pid), "serving the open file")
			require.Equal(t, "ok", h.do("part2"))
			require.Equal(t, "closed", h.do("close"))
			waitGone(t, m.pid)
			require.Equal(t, "part1-part2", objText(t, st, "ckpt.bin"))
		})
	}
}

// SIGTERM (systemd's stop) unmounts; a busy mount is detached and serves
// its open files until they are closed, for at most --drain-timeout.
// A file closed in time is uploaded; one still open at the timeout is
// not published, its writer's later writes fail, and the log names it.
func TestMountSIGTERMWhileBusy(t *testing.T) {
	addr, st := localBucket(t)
	mnt, cacheDir := t.TempDir(), t.TempDir()
	m := startMount(t, nil, addr, mnt, cacheDir, "--drain-timeout", "1m")
	h := hold(t, filepath.Join(mnt, "closed-in-time.txt"))
	require.Equal(t, "ok", h.do("a"))
	require.NoError(t, syscall.Kill(m.pid, syscall.SIGTERM))
	require.Eventually(t, func() bool { return !inMountTable(t, mnt) }, time.Minute, 10*time.Millisecond)
	require.Equal(t, "ok", h.do("b"))
	require.Equal(t, "closed", h.do("close"))
	waitGone(t, m.pid)
	require.Equal(t, "ab", objText(t, st, "closed-in-time.txt"))

	m = startMount(t, nil, addr, mnt, cacheDir, "--drain-timeout", "1s")
	h = hold(t, filepath.Join(mnt, "never-closed.txt"))
	require.Equal(t, "ok", h.do("a"))
	require.NoError(t, syscall.Kill(m.pid, syscall.SIGTERM))
	waitGone(t, m.pid)
	require.Equal(t, "fail", h.do("b"), "the mount is gone: later writes fail")
	require.Contains(t, objText(t, st, "never-closed.txt"), "not exist", "a file never closed is never published")
	require.Contains(t, m.stderr(), "still open after --drain-timeout")
	require.Contains(t, m.stderr(), "never-closed.txt")
}

// Mounts are found whatever their cache directory; a dead one is cleared;
// a pid in a stale record that now belongs to another process is never
// signalled; a second mount on a live mountpoint is refused.
func TestMountsFoundAndIdentified(t *testing.T) {
	addr, _ := localBucket(t)
	mnt, cacheDir := t.TempDir(), t.TempDir()
	m := startMount(t, nil, addr, mnt, cacheDir, "--write-back")
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "f.txt"), []byte("x"), 0o644))

	r := byob(t, nil, "--json", "cache", "stats", "--mountpoint", mnt)
	require.Equal(t, 0, r.code, r)
	var stats struct {
		Dir string `json:"dir"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &stats))
	real, _ := filepath.EvalSymlinks(cacheDir)
	require.Equal(t, real, stats.Dir, "the running mount was asked")
	r = byob(t, nil, "cache", "pending", "--mountpoint", mnt)
	require.Equal(t, 0, r.code, r)

	r = byob(t, nil, "mount", "--daemon", "--cache-dir", t.TempDir(), addr, mnt)
	require.Equal(t, 1, r.code, r)
	require.Contains(t, r.stderr, "already a mount point")

	r = byob(t, nil, "unmount", mnt)
	require.Equal(t, 0, r.code, r)
	waitGone(t, m.pid)

	// A mount killed outright, whose record now names another process.
	m = startMount(t, nil, addr, mnt, cacheDir)
	rt := os.Getenv("BYOB_RUNTIME_DIR")
	recs, _ := filepath.Glob(filepath.Join(rt, "*.json"))
	var recPath string
	for _, p := range recs {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), strconv.Quote(mnt)) {
			recPath = p
		}
	}
	require.NotEmpty(t, recPath, "the mount registered itself in %s", rt)
	require.NoError(t, syscall.Kill(m.pid, syscall.SIGKILL))
	waitGone(t, m.pid)
	bystander := exec.Command("sleep", "60")
	require.NoError(t, bystander.Start())
	t.Cleanup(func() { bystander.Process.Kill(); bystander.Wait() })
	b, err := os.ReadFile(recPath)
	require.NoError(t, err)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(b, &rec))
	rec["pid"] = bystander.Process.Pid // a recycled pid
	b, _ = json.Marshal(rec)
	require.NoError(t, os.WriteFile(recPath, b, 0o600))

	r = byob(t, nil, "unmount", mnt)
	require.Equal(t, 0, r.code, r)
	require.Contains(t, r.stderr, "had died")
	require.False(t, inMountTable(t, mnt))
	require.True(t, alive(bystander.Process.Pid), "an unrelated process was signalled")
	_, err = os.Stat(recPath)
	require.ErrorIs(t, err, os.ErrNotExist)
	r = byob(t, nil, "unmount", mnt)
	require.Equal(t, 1, r.code, r)
	require.Contains(t, r.stderr, "no byob mount")
}
