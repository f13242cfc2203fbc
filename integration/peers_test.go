package integration

// Helpers for the benchmarks against peer tools (s3fs, rclone, awscli) and
// the raw minio-go baselines: finding a peer binary, the environment each
// peer needs (everything on 127.0.0.1, explicit keys), mounting and
// unmounting FUSE peers, dropping the page cache, per-process CPU and
// memory from /proc, and a table that prints each row's ratio against a
// baseline measured in the same run.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	miniogo "github.com/minio/minio-go/v7"

	"github.com/byobfs/byob/integration/testenv"
)

// benchQuick reports whether BYOB_BENCH_QUICK=1 asks for the smaller sizes.
func benchQuick() bool { return os.Getenv("BYOB_BENCH_QUICK") == "1" }

// peerBin finds a peer tool, preferring the distribution's /usr/bin copy
// (the Debian packages) over shims earlier in PATH; "" when missing.
func peerBin(name string) string {
	for _, p := range []string{"/usr/bin/" + name, "/usr/local/bin/" + name} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

// needPeer skips b when the peer binary is missing.
func needPeer(b *testing.B, name string) string {
	b.Helper()
	p := peerBin(name)
	if p == "" {
		b.Skipf("peer %q not installed: skipping its rows (apt-get install -y s3fs rclone awscli)", name)
	}
	return p
}

// peerEnv is os.Environ without AWS_CA_BUNDLE (rclone 1.60 and awscli fail
// while it is set, even for a plain-HTTP endpoint) and without any cloud
// credentials, plus extra.
func peerEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "AWS_CA_BUNDLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// awsEnv: explicit keys, no metadata probe. The endpoint goes on the
// command line (--endpoint-url).
func awsEnv(s *testenv.S3Server) []string {
	return peerEnv("AWS_ACCESS_KEY_ID="+s.AccessKey, "AWS_SECRET_ACCESS_KEY="+s.SecretKey,
		"AWS_DEFAULT_REGION="+s.Region, "AWS_EC2_METADATA_DISABLED=true")
}

// rcloneEnv defines the remote "bench:" (s3, provider Minio) from the
// environment, so no config file is read or written.
func rcloneEnv(s *testenv.S3Server) []string {
	return peerEnv(
		"RCLONE_CONFIG=/dev/null",
		"RCLONE_CONFIG_BENCH_TYPE=s3",
		"RCLONE_CONFIG_BENCH_PROVIDER=Minio",
		"RCLONE_CONFIG_BENCH_ENV_AUTH=false",
		"RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="+s.AccessKey,
		"RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="+s.SecretKey,
		"RCLONE_CONFIG_BENCH_ENDPOINT="+s.URL,
		"RCLONE_CONFIG_BENCH_REGION="+s.Region,
	)
}

// rcloneEnvShown is what the output prints of rcloneEnv (no secrets).
const rcloneEnvShown = "RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Minio RCLONE_CONFIG_BENCH_ENV_AUTH=false " +
	"RCLONE_CONFIG_BENCH_ENDPOINT=http://127.0.0.1:PORT RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=*** RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=***"

// s3fsPasswd writes the s3fs password file (mode 0600) and returns its path.
func s3fsPasswd(b *testing.B, s *testenv.S3Server) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "passwd-s3fs")
	if err := os.WriteFile(p, []byte(s.AccessKey+":"+s.SecretKey+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// runPeer runs a command to completion, failing b with its output on error.
// It returns the wall time and the command's CPU (user+system, children
// included as the kernel accounts them).
func runPeer(b *testing.B, env []string, bin string, args ...string) (time.Duration, time.Duration) {
	b.Helper()
	m := runCLI(b, env, bin, args...)
	return m.wall, m.cpu
}

// runCLI runs a command to completion and returns its wall time, CPU and
// peak RSS (ru_maxrss) as a row.
func runCLI(b *testing.B, env []string, bin string, args ...string) measurement {
	b.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &out // ls -l of 100,000 names is not kept
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(redactArgs(args), " "), err, tail(out.String(), 2000))
	}
	m := measurement{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.hwm = ru.Maxrss // KiB on Linux
	}
	return m
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// dropCaches writes back dirty pages and drops the page cache, dentries
// and inodes (root only): a cold read really reads.
func dropCaches(b *testing.B) {
	b.Helper()
	syscall.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
		b.Fatalf("drop caches (needs root): %v", err)
	}
}

// procCPU is the user+system CPU pid used so far (its threads; children
// that were waited for included), from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ
}

// procMem returns VmHWM and RssAnon of pid, in KiB.
func procMem(pid int) (hwm, anon int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			hwm = v
		case "RssAnon:":
			anon = v
		}
	}
	return hwm, anon
}

// resetHWM resets pid's VmHWM so a row reports its own peak.
func resetHWM(pid int) { _ = os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0) }

// fuseMount is a mounted FUSE file system of byob or a peer.
type fuseMount struct {
	b     *testing.B
	name  string
	mnt   string
	pid   int       // the process serving it
	cmd   *exec.Cmd // set when this process started it in the foreground
	flags string    // the exact command line, secrets redacted
}

// mounted reports whether mnt is a mount point now (its device differs
// from its parent's).
func mounted(mnt string) bool {
	var a, p syscall.Stat_t
	if syscall.Stat(mnt, &a) != nil || syscall.Stat(filepath.Dir(mnt), &p) != nil {
		return false
	}
	return a.Dev != p.Dev
}

// mountByob runs `byob mount --daemon --cache-dir cacheDir flags... addr mnt`.
// The mount lives until owner (the benchmark whose rows share it) ends.
func mountByob(b, owner *testing.B, addr, mnt, cacheDir string, flags ...string) *fuseMount {
	b.Helper()
	if err := testenv.FUSE(); err != nil {
		b.Skipf("byob mount rows: %v", err)
	}
	args := append([]string{"mount", "--daemon", "--cache-dir", cacheDir}, flags...)
	args = append(args, addr, mnt)
	r := byob(b, []string{"TMPDIR=" + owner.TempDir()}, args...)
	if r.code != 0 {
		b.Fatalf("byob mount: %s", r)
	}
	m := pidRE.FindStringSubmatch(r.stdout)
	if m == nil {
		b.Fatalf("byob mount printed no pid: %s", r)
	}
	pid, _ := strconv.Atoi(m[1])
	fm := &fuseMount{b: b, name: "byob", mnt: mnt, pid: pid,
		flags: "byob " + strings.Join(redactArgs(args), " ")}
	owner.Cleanup(fm.stop)
	return fm
}

// mountPeer starts a FUSE peer in the foreground (as our child) and waits
// until mnt is mounted; the serving process is the child.
func mountPeer(b, owner *testing.B, name, mnt string, env []string, bin string, args ...string) *fuseMount {
	b.Helper()
	if err := testenv.FUSE(); err != nil {
		b.Skipf("FUSE rows: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	logf, err := os.Create(filepath.Join(owner.TempDir(), name+".log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", name, err)
	}
	fm := &fuseMount{b: b, name: name, mnt: mnt, pid: cmd.Process.Pid, cmd: cmd,
		flags: filepath.Base(bin) + " " + strings.Join(args, " ")}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for !mounted(mnt) {
		select {
		case err := <-exited:
			logf.Close()
			out, _ := os.ReadFile(logf.Name())
			b.Fatalf("%s exited before mounting: %v\n%s", name, err, tail(string(out), 2000))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			b.Fatalf("%s did not mount %s within 30s", name, mnt)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fm.cmd = nil // waited for by the goroutine above
	go func() { <-exited; logf.Close() }()
	owner.Cleanup(fm.stop)
	return fm
}

// stop unmounts and waits for the serving process to end (a minute at most,
// then it is killed and the mount detached).
func (m *fuseMount) stop() {
	if mounted(m.mnt) {
		_ = syscall.Unmount(m.mnt, 0)
	}
	if m.pid > 0 && alive(m.pid) {
		_ = syscall.Kill(m.pid, syscall.SIGTERM)
		deadline := time.Now().Add(time.Minute)
		for alive(m.pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(m.pid) {
			_ = syscall.Kill(m.pid, syscall.SIGKILL)
		}
	}
	if mounted(m.mnt) {
		_ = syscall.Unmount(m.mnt, syscall.MNT_DETACH)
	}
	m.pid = 0
}

// ddRead reads path with dd bs=1M into /dev/null and returns the wall time.
func ddRead(b *testing.B, path string) time.Duration {
	b.Helper()
	d, _ := runPeer(b, os.Environ(), "dd", "if="+path, "of=/dev/null", "bs=1M", "status=none")
	return d
}

// countObjects lists prefix and returns how many objects (not directory
// markers) are below it.
func countObjects(ctx context.Context, c *miniogo.Client, bucket, prefix string) (int, error) {
	n := 0
	for o := range c.ListObjects(ctx, bucket, miniogo.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return n, o.Err
		}
		if !strings.HasSuffix(o.Key, "/") { // directory markers are not files
			n++
		}
	}
	return n, nil
}

// waitObjects polls the bucket until want objects are below prefix.
func waitObjects(b *testing.B, c *miniogo.Client, bucket, prefix string, want int, limit time.Duration) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for {
		n, err := countObjects(context.Background(), c, bucket, prefix)
		if err != nil {
			b.Fatal(err)
		}
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d objects below %s after %v", n, want, prefix, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// parallel runs fn(i) for i in [0, n) on `workers` goroutines; the first
// error wins.
func parallel(n, workers int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// writeSmallFiles writes n files of size bytes under dir (20 per folder,
// like a run's files), returning their relative paths in order.
func writeSmallFiles(b *testing.B, dir string, n, size int) []string {
	b.Helper()
	data := randBytes(size, 11)
	rels := make([]string, n)
	for i := 0; i < n; i++ {
		rels[i] = fmt.Sprintf("run%03d/files/f%05d.bin", i/20, i)
		p := filepath.Join(dir, rels[i])
		if i%20 == 0 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
		}
		data[0], data[1] = byte(i), byte(i>>8)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return rels
}

// writeBigFile writes size pseudo-random bytes to path.
func writeBigFile(b *testing.B, path string, size int64, seed uint64) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, io.NewSectionReader(newGen(size, seed), 0, size)); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// measurement is one row's result.
type measurement struct {
	wall    time.Duration
	bytes   int64         // moved, for MiB/s and CPU per GiB (0: not a byte row)
	cpu     time.Duration // CPU of the measured client (byob's mount or CLI process, the peer)
	hwm     int64         // KiB, 0 when not measured
	anon    int64         // KiB
	note    string
	skipped string
}

// benchTable collects the rows of one issue's table, grouped by operation,
// each group with one baseline row; each row is measured once even when the
// benchmark framework calls a sub-benchmark again with a larger b.N (the
// measured time is reported as the row's ns/op every time).
type benchTable struct {
	title  string
	mu     sync.Mutex
	groups []string
	base   map[string]string // group -> baseline row name
	order  map[string][]string
	rows   map[string]*measurement
	flags  []string
}

func newBenchTable(title string) *benchTable {
	return &benchTable{title: title, base: map[string]string{}, order: map[string][]string{}, rows: map[string]*measurement{}}
}

// peerFlags remembers a peer's exact command line for the output.
func (t *benchTable) peerFlags(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.flags {
		if f == line {
			return
		}
	}
	t.flags = append(t.flags, line)
}

// row runs (once) and records group/name; baseline marks the group's baseline.
func (t *benchTable) row(b *testing.B, group, name string, baseline bool, fn func(b *testing.B) measurement) {
	b.Helper()
	t.mu.Lock()
	if _, ok := t.order[group]; !ok {
		t.groups = append(t.groups, group)
	}
	if baseline {
		t.base[group] = name
	}
	key := group + "/" + name
	seen := false
	for _, n := range t.order[group] {
		seen = seen || n == name
	}
	if !seen {
		t.order[group] = append(t.order[group], name)
	}
	t.mu.Unlock()
	b.Run(key, func(b *testing.B) {
		t.mu.Lock()
		m, ok := t.rows[key]
		t.mu.Unlock()
		if !ok {
			skipped := true
			func() {
				defer func() {
					if skipped && b.Skipped() {
						t.mu.Lock()
						t.rows[key] = &measurement{skipped: "skipped"}
						t.mu.Unlock()
					}
				}()
				mm := fn(b)
				skipped = false
				m = &mm
				t.mu.Lock()
				t.rows[key] = m
				t.mu.Unlock()
			}()
		}
		if m.skipped != "" {
			b.Skip(m.skipped)
		}
		b.ReportMetric(float64(m.wall.Nanoseconds()), "ns/op")
		if m.bytes > 0 && m.wall > 0 {
			b.ReportMetric(float64(m.bytes)/(1<<20)/m.wall.Seconds(), "MiB/s")
		}
		if m.cpu > 0 {
			b.ReportMetric(m.cpu.Seconds(), "cpu-s")
		}
	})
}

// print writes the table: each row's time, throughput, ratio (baseline time
// / row time: >= 1.0 means as fast as the baseline), CPU and memory.
func (t *benchTable) print(extra ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%s\n(ratio = baseline time / row time, same run: >= 1.0 means as fast as the baseline)\n", t.title)
	for _, g := range t.groups {
		base := t.rows[g+"/"+t.base[g]]
		fmt.Fprintf(&sb, "%s (baseline: %s)\n", g, t.base[g])
		for _, n := range t.order[g] {
			m := t.rows[g+"/"+n]
			if m == nil {
				continue
			}
			if m.skipped != "" {
				fmt.Fprintf(&sb, "  %-34s skipped: %s\n", n, m.skipped)
				continue
			}
			line := fmt.Sprintf("  %-34s %10v", n, m.wall.Round(time.Millisecond))
			if m.bytes > 0 {
				line += fmt.Sprintf(" %8.1f MiB/s", float64(m.bytes)/(1<<20)/m.wall.Seconds())
			}
			if base != nil && base.skipped == "" && base.wall > 0 {
				line += fmt.Sprintf("  ratio %5.2f", float64(base.wall)/float64(m.wall))
			}
			if m.cpu > 0 {
				line += fmt.Sprintf("  cpu %.2fs", m.cpu.Seconds())
				if m.bytes > 0 {
					line += fmt.Sprintf(" (%.2f cpu-s/GiB)", m.cpu.Seconds()/(float64(m.bytes)/(1<<30)))
				}
			}
			if m.hwm > 0 && m.anon > 0 {
				line += fmt.Sprintf("  VmHWM %d MiB RssAnon %d MiB", m.hwm>>10, m.anon>>10)
			} else if m.hwm > 0 {
				line += fmt.Sprintf("  maxRSS %d MiB", m.hwm>>10)
			}
			if m.note != "" {
				line += "  " + m.note
			}
			sb.WriteString(line + "\n")
		}
	}
	if len(t.flags) > 0 {
		sb.WriteString("exact commands and flags (secrets shown as ***):\n")
		fl := append([]string(nil), t.flags...)
		sort.Strings(fl)
		for _, f := range fl {
			sb.WriteString("  " + f + "\n")
		}
	}
	for _, e := range extra {
		sb.WriteString(e + "\n")
	}
	fmt.Fprint(os.Stdout, sb.String())
}
