package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	miniogo "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/byobfs/byob/integration/testenv"
)

// Sizes of the mount benchmark (issue 5); BYOB_BENCH_QUICK=1 shrinks them.
type mountSizes struct {
	big      int64 // the object read and written through the mount
	small    int   // files of smallSize copied with cp -r
	list     int   // objects in the listed directory
	listMin  int   // fallback when seeding list objects is too slow
	seedTime time.Duration
}

const smallSize = 16 << 10

func mountBenchSizes() mountSizes {
	if benchQuick() {
		return mountSizes{big: 256 << 20, small: 1000, list: 20000, listMin: 20000, seedTime: 3 * time.Minute}
	}
	return mountSizes{big: 1 << 30, small: 5000, list: 100000, listMin: 20000, seedTime: 4 * time.Minute}
}

// rawClient is a plain minio-go client (no trailing checksums, no payload
// SHA256), the raw baseline of both tables.
func rawClient(b *testing.B, s *testenv.S3Server) *miniogo.Client {
	b.Helper()
	c, err := miniogo.New(s.Endpoint, &miniogo.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region: s.Region, MaxRetries: 1, Transport: s.HTTPClient().Transport})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

const (
	rawPartSize = 16 << 20
	rawThreads  = 4
)

// rawRangedGet reads key with rawThreads streams of rawPartSize ranged
// GETs, each range written at its offset to w.
func rawRangedGet(ctx context.Context, c *miniogo.Client, bucket, key string, size int64, w io.WriterAt) error {
	return parallel(int((size+rawPartSize-1)/rawPartSize), rawThreads, func(i int) error {
		off := int64(i) * rawPartSize
		var o miniogo.GetObjectOptions
		_ = o.SetRange(off, min(off+rawPartSize, size)-1)
		obj, err := c.GetObject(ctx, bucket, key, o)
		if err != nil {
			return err
		}
		defer obj.Close()
		n, err := io.Copy(io.NewOffsetWriter(w, off), obj)
		if err == nil && n != min(rawPartSize, size-off) {
			err = fmt.Errorf("range at %d: %d bytes", off, n)
		}
		return err
	})
}

// rawPutFile uploads path as one multipart object (rawPartSize parts,
// rawThreads threads).
func rawPutFile(ctx context.Context, c *miniogo.Client, bucket, key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = c.PutObject(ctx, bucket, key, f, st.Size(), miniogo.PutObjectOptions{PartSize: rawPartSize, NumThreads: rawThreads, DisableContentSha256: true})
	return err
}

// selfCPU is this process's CPU so far (the raw rows run in it).
func selfCPU() time.Duration { self, _ := cpuTimes(); return self }

// byobRow measures fn against a byob mount's serving process: its CPU, and
// its peak RSS (VmHWM reset before) and RssAnon after.
func byobRow(m *fuseMount, n int64, fn func() time.Duration) measurement {
	resetHWM(m.pid)
	c0 := procCPU(m.pid)
	wall := fn()
	c1 := procCPU(m.pid)
	hwm, anon := procMem(m.pid)
	return measurement{wall: wall, bytes: n, cpu: c1 - c0, hwm: hwm, anon: anon}
}

// BenchmarkMount is the issue 5 table: byob mount against a raw minio-go
// baseline measured in the same run, with s3fs and rclone mount beside it:
// a cold and a warm sequential read, an open-to-close write, cp -r of many
// small files, and ls -l of a large directory. Needs root and /dev/fuse
// (the raw rows run anyway); a missing peer skips only its rows.
func BenchmarkMount(b *testing.B) {
	owner := b
	if testing.Short() {
		b.Skip("GiB-sized mount benchmark")
	}
	sz := mountBenchSizes()
	s := testenv.MinIO(b)
	bucket := s.NewBucket(b)
	ctx := context.Background()
	raw := rawClient(b, s)
	addr := s.Address(bucket)
	work := b.TempDir()
	bigLabel := fmt.Sprintf("%dMiB", sz.big>>20)
	if sz.big >= 1<<30 {
		bigLabel = fmt.Sprintf("%dGiB", sz.big>>30)
	}
	tbl := newBenchTable(fmt.Sprintf("byob mount vs raw minio-go, s3fs, rclone mount (issue 5; MinIO on 127.0.0.1; quick=%v)", benchQuick()))
	if benchRows() == "ls" {
		lsNote := benchLs(b, owner, tbl, raw, bucket, addr, work, sz)
		tbl.print("notes: only the ls rows (BYOB_BENCH_ROWS=ls).", lsNote)
		return
	}
	tbl.peerFlags("dd if=SRC of=DST bs=1M status=none   (reads and writes; page cache dropped before each read row: sync; echo 3 > /proc/sys/vm/drop_caches)")

	// The object to read, uploaded once; the same bytes as a local file.
	local := filepath.Join(work, "big.bin")
	writeBigFile(b, local, sz.big, 21)
	if err := rawPutFile(ctx, raw, bucket, "read/big.bin", local); err != nil {
		b.Fatal(err)
	}

	var byobMnt *fuseMount // the default-mode mount (empty cache at start)
	mountDefault := func(b *testing.B) *fuseMount {
		if byobMnt == nil {
			mnt := filepath.Join(work, "byob-mnt")
			_ = os.MkdirAll(mnt, 0o755)
			byobMnt = mountByob(b, owner, addr, mnt, filepath.Join(work, "byob-cache"), "--cache-size", "8GiB")
			tbl.peerFlags(byobMnt.flags)
		}
		return byobMnt
	}
	// FUSE peers, mounted on demand and kept for the rows that use them.
	var s3fsMnt, rcloneOff *fuseMount
	mountS3fs := func(b *testing.B) *fuseMount {
		bin := needPeer(b, "s3fs")
		if s3fsMnt == nil {
			mnt := filepath.Join(work, "s3fs-mnt")
			_ = os.MkdirAll(mnt, 0o755)
			s3fsMnt = mountPeer(b, owner, "s3fs", mnt, peerEnv(), bin, bucket, mnt, "-f",
				"-o", "url="+s.URL+",use_path_request_style,passwd_file="+s3fsPasswd(owner, s))
			tbl.peerFlags(s3fsMnt.flags + "   (no use_cache: no disk cache)")
		}
		return s3fsMnt
	}
	mountRclone := func(b *testing.B, mnt string, flags ...string) *fuseMount {
		bin := needPeer(b, "rclone")
		_ = os.MkdirAll(mnt, 0o755)
		args := append([]string{"mount", "bench:" + bucket, mnt}, flags...)
		m := mountPeer(b, owner, "rclone", mnt, rcloneEnv(s), bin, args...)
		tbl.peerFlags(rcloneEnvShown + " " + m.flags)
		return m
	}
	peerRead := func(b *testing.B, m *fuseMount) measurement {
		p := filepath.Join(m.mnt, "read/big.bin")
		if _, err := os.Stat(p); err != nil { // also loads the directory before the drop
			b.Fatal(err)
		}
		dropCaches(b)
		c0 := procCPU(m.pid)
		wall := ddRead(b, p)
		hwm, anon := procMem(m.pid)
		return measurement{wall: wall, bytes: sz.big, cpu: procCPU(m.pid) - c0, hwm: hwm, anon: anon}
	}

	// 1. Cold sequential read.
	g := "read-cold-" + bigLabel
	tbl.row(b, g, "raw-minio-go-4x16MiB-ranged", true, func(b *testing.B) measurement {
		dropCaches(b)
		c0 := selfCPU()
		start := time.Now()
		if err := rawRangedGet(ctx, raw, bucket, "read/big.bin", sz.big, discardAt{}); err != nil {
			b.Fatal(err)
		}
		return measurement{wall: time.Since(start), bytes: sz.big, cpu: selfCPU() - c0}
	})
	tbl.row(b, g, "byob-mount", false, func(b *testing.B) measurement {
		m := mountDefault(b)
		p := filepath.Join(m.mnt, "read/big.bin")
		if _, err := os.Stat(p); err != nil {
			b.Fatal(err)
		}
		dropCaches(b)
		return byobRow(m, sz.big, func() time.Duration { return ddRead(b, p) })
	})
	tbl.row(b, g, "s3fs", false, func(b *testing.B) measurement { return peerRead(b, mountS3fs(b)) })
	tbl.row(b, g, "rclone-mount-vfs-cache-off", false, func(b *testing.B) measurement {
		if rcloneOff == nil {
			rcloneOff = mountRclone(b, filepath.Join(work, "rclone-off-mnt"), "--vfs-cache-mode", "off")
		}
		return peerRead(b, rcloneOff)
	})

	// 2. Warm re-read: byob's cache holds the object, the page cache is dropped.
	g = "read-warm-" + bigLabel
	tbl.row(b, g, "local-file", true, func(b *testing.B) measurement {
		dropCaches(b)
		c0 := selfCPU()
		wall := ddRead(b, local)
		return measurement{wall: wall, bytes: sz.big, cpu: selfCPU() - c0, note: "(dd's CPU not counted)"}
	})
	tbl.row(b, g, "byob-mount-warm", false, func(b *testing.B) measurement {
		m := mountDefault(b)
		p := filepath.Join(m.mnt, "read/big.bin")
		ddRead(b, p) // make sure the cache is full, whatever ran before
		dropCaches(b)
		return byobRow(m, sz.big, func() time.Duration { return ddRead(b, p) })
	})

	// 3. Open-to-close write of the same bytes.
	g = "write-" + bigLabel + "-open-to-close"
	tbl.row(b, g, "raw-minio-go-multipart-16MiBx4", true, func(b *testing.B) measurement {
		dropCaches(b)
		c0 := selfCPU()
		start := time.Now()
		if err := rawPutFile(ctx, raw, bucket, "write/raw.bin", local); err != nil {
			b.Fatal(err)
		}
		return measurement{wall: time.Since(start), bytes: sz.big, cpu: selfCPU() - c0}
	})
	tbl.row(b, g, "byob-cp-direct-multipart", false, func(b *testing.B) measurement {
		// byob's own uploader, no mount: the same client as the mount's
		// (CRC32C per part, verified by the server), 16 MiB x 4.
		dropCaches(b)
		m := runCLI(b, append(os.Environ(), "BYOB_STORE="+addr), byobBin(b), "cp", local, ":write/byob-cp.bin")
		m.bytes = sz.big
		return m
	})
	tbl.row(b, g, "byob-mount-dd", false, func(b *testing.B) measurement {
		m := mountDefault(b)
		_ = os.MkdirAll(filepath.Join(m.mnt, "write"), 0o755)
		dropCaches(b)
		r := byobRow(m, sz.big, func() time.Duration {
			d, _ := runPeer(b, os.Environ(), "dd", "if="+local, "of="+filepath.Join(m.mnt, "write/byob.bin"), "bs=1M", "status=none")
			return d
		})
		st, err := raw.StatObject(ctx, bucket, "write/byob.bin", miniogo.StatObjectOptions{})
		if err != nil || st.Size != sz.big {
			b.Fatalf("after close: %v size %d", err, st.Size)
		}
		return r
	})

	// 4. cp -r of many small files, until all are in the bucket.
	g = fmt.Sprintf("cp-r-%dx16KiB", sz.small)
	srcDir := filepath.Join(work, "small")
	rels := writeSmallFiles(b, srcDir, sz.small, smallSize)
	var smallBytes = int64(sz.small) * smallSize
	tbl.row(b, g, "raw-32-concurrent-PUT", true, func(b *testing.B) measurement {
		c0 := selfCPU()
		start := time.Now()
		err := parallel(len(rels), 32, func(i int) error {
			_, err := raw.FPutObject(ctx, bucket, "cp/raw/"+rels[i], filepath.Join(srcDir, rels[i]), miniogo.PutObjectOptions{DisableContentSha256: true})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		return measurement{wall: time.Since(start), bytes: smallBytes, cpu: selfCPU() - c0}
	})
	cpInto := func(b *testing.B, m *fuseMount, prefix string) time.Duration {
		_ = os.MkdirAll(filepath.Join(m.mnt, "cp"), 0o755)
		start := time.Now()
		runPeer(b, os.Environ(), "cp", "-r", srcDir, filepath.Join(m.mnt, prefix))
		waitObjects(b, raw, bucket, prefix+"/", len(rels), 10*time.Minute)
		return time.Since(start)
	}
	tbl.row(b, g, "byob-mount", false, func(b *testing.B) measurement {
		m := mountDefault(b)
		return byobRow(m, smallBytes, func() time.Duration { return cpInto(b, m, "cp/byob") })
	})
	tbl.row(b, g, "byob-mount-write-back+unmount", false, func(b *testing.B) measurement {
		mnt, cache := filepath.Join(work, "byob-wb-mnt"), filepath.Join(work, "byob-wb-cache")
		_ = os.MkdirAll(mnt, 0o755)
		m := mountByob(b, owner, addr, mnt, cache, "--write-back")
		tbl.peerFlags(m.flags)
		_ = os.MkdirAll(filepath.Join(mnt, "cp"), 0o755)
		resetHWM(m.pid)
		c0 := procCPU(m.pid)
		var cpu atomic.Int64 // the daemon's CPU, sampled until it exits
		done := make(chan struct{})
		go func() {
			for {
				if c := procCPU(m.pid); c > 0 {
					cpu.Store(int64(c))
				}
				select {
				case <-done:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		start := time.Now()
		runPeer(b, os.Environ(), "cp", "-r", srcDir, filepath.Join(mnt, "cp/byob-wb"))
		cpDone := time.Since(start)
		hwm, anon := procMem(m.pid)
		r := byob(b, nil, "unmount", "--cache-dir", cache, mnt)
		wall := time.Since(start)
		close(done)
		if r.code != 0 {
			b.Fatalf("byob unmount: %s", r)
		}
		n, err := countObjects(ctx, raw, bucket, "cp/byob-wb/")
		if err != nil || n != len(rels) {
			b.Fatalf("after unmount: %d of %d objects (%v)", n, len(rels), err)
		}
		return measurement{wall: wall, bytes: smallBytes, cpu: time.Duration(cpu.Load()) - c0, hwm: hwm, anon: anon,
			note: fmt.Sprintf("(cp returned after %v; CPU sampled every 20ms until exit)", cpDone.Round(time.Millisecond))}
	})
	tbl.row(b, g, "s3fs", false, func(b *testing.B) measurement {
		m := mountS3fs(b)
		c0 := procCPU(m.pid)
		wall := cpInto(b, m, "cp/s3fs")
		return measurement{wall: wall, bytes: smallBytes, cpu: procCPU(m.pid) - c0}
	})
	tbl.row(b, g, "rclone-mount-vfs-cache-writes", false, func(b *testing.B) measurement {
		m := mountRclone(b, filepath.Join(work, "rclone-w-mnt"), "--vfs-cache-mode", "writes", "--cache-dir", filepath.Join(work, "rclone-cache"))
		c0 := procCPU(m.pid)
		wall := cpInto(b, m, "cp/rclone")
		return measurement{wall: wall, bytes: smallBytes, cpu: procCPU(m.pid) - c0, note: "(includes rclone's default --vfs-write-back 5s)"}
	})

	// 5. ls -l of a large directory (BYOB_BENCH_ROWS=io skips it).
	lsNote := "ls rows skipped (BYOB_BENCH_ROWS=io)"
	if benchRows() != "io" {
		lsNote = benchLs(b, owner, tbl, raw, bucket, addr, work, sz)
	}
	tbl.print("notes: byob CPU is the mount process's (from /proc/PID/stat), raw CPU this test process's; VmHWM is reset before each byob row (clear_refs 5).",
		lsNote)
}

// seedListDir puts sz.list objects directly below prefix with 64 concurrent
// PUTs; if that would take longer than sz.seedTime, it stops at
// sz.listMin and says so.
func seedListDir(b *testing.B, c *miniogo.Client, bucket, prefix string, sz mountSizes) (int, string) {
	b.Helper()
	ctx := context.Background()
	body := []byte("x")
	start := time.Now()
	put := func(from, to int) {
		err := parallel(to-from, 64, func(i int) error {
			_, err := c.PutObject(ctx, bucket, prefix+"obj-"+strconv.Itoa(from+i)+".json", bytes.NewReader(body), 1, miniogo.PutObjectOptions{DisableContentSha256: true})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	put(0, sz.listMin)
	n := sz.listMin
	if sz.list > n {
		perObj := time.Since(start) / time.Duration(n)
		if time.Since(start)+perObj*time.Duration(sz.list-n) <= sz.seedTime {
			put(n, sz.list)
			n = sz.list
		} else {
			return n, fmt.Sprintf("ls directory: %d objects, not %d: seeding ran at %.0f objects/s on this machine, %d would take over %v",
				n, sz.list, float64(n)/time.Since(start).Seconds(), sz.list, sz.seedTime)
		}
	}
	return n, fmt.Sprintf("ls directory: %d objects seeded in %v with 64 concurrent PUTs", n, time.Since(start).Round(time.Second))
}

// benchRows is BYOB_BENCH_ROWS: "ls" runs only the ls rows of
// BenchmarkMount (no 1 GiB object, no small files), "io" all but them;
// empty runs all.
func benchRows() string { return os.Getenv("BYOB_BENCH_ROWS") }

// benchLs adds the ls -l rows: a raw LIST pass, then `ls -l` through a
// fresh byob mount (empty cache), cold (page cache, dentries and inodes
// dropped, as before the raw pass) and warm (right after). Two more rows
// leave the page cache alone (MinIO then reads no metadata from disk):
// the raw pass again, and `ls -l` through a second fresh mount. It returns
// a note with the seeding and the store List calls each byob row made
// (from the mount's --metrics-addr; one List call is ceil(N/1000) LIST
// requests, a lookup of the directory itself one more).
func benchLs(b *testing.B, owner *testing.B, tbl *benchTable, raw *miniogo.Client, bucket, addr, work string, sz mountSizes) string {
	ctx := context.Background()
	if benchRows() == "ls" {
		sz.seedTime = 10 * time.Minute // the ls rows alone: time to seed 100,000
	}
	nList, seedNote := seedListDir(b, raw, bucket, "lsdir/", sz)
	g := fmt.Sprintf("ls-l-%d-objects", nList)
	rawPass := func(b *testing.B, drop bool) measurement {
		if drop {
			dropCaches(b)
		}
		c0 := selfCPU()
		start := time.Now()
		n := 0
		for o := range raw.ListObjects(ctx, bucket, miniogo.ListObjectsOptions{Prefix: "lsdir/"}) {
			if o.Err != nil {
				b.Fatal(o.Err)
			}
			n++
		}
		if n != nList {
			b.Fatalf("listed %d, want %d", n, nList)
		}
		return measurement{wall: time.Since(start), cpu: selfCPU() - c0}
	}
	type lsMount struct {
		m       *fuseMount
		metrics string
	}
	mounts := map[string]*lsMount{}
	var calls []string
	lsRow := func(b *testing.B, mount, row string, drop bool) measurement {
		lm := mounts[mount]
		if lm == nil {
			mnt := filepath.Join(work, mount+"-mnt")
			_ = os.MkdirAll(mnt, 0o755)
			lm = &lsMount{metrics: freeAddr(b)}
			lm.m = mountByob(b, owner, addr, mnt, filepath.Join(work, mount+"-cache"), "--metrics-addr", lm.metrics)
			tbl.peerFlags(lm.m.flags)
			mounts[mount] = lm
		}
		if drop {
			dropCaches(b)
		}
		l0 := storeRequests(lm.metrics, "list")
		m := byobRow(lm.m, 0, func() time.Duration {
			d, _ := runPeer(b, os.Environ(), "ls", "-l", filepath.Join(lm.m.mnt, "lsdir"))
			return d
		})
		calls = append(calls, fmt.Sprintf("%s %d", row, storeRequests(lm.metrics, "list")-l0))
		return m
	}
	tbl.row(b, g, "raw-LIST-pass", true, func(b *testing.B) measurement { return rawPass(b, true) })
	tbl.row(b, g, "byob-mount-ls-l-cold", false, func(b *testing.B) measurement { return lsRow(b, "byob-ls", "cold", true) })
	tbl.row(b, g, "byob-mount-ls-l-warm", false, func(b *testing.B) measurement { return lsRow(b, "byob-ls", "warm", false) })
	g += "-page-cache-kept"
	tbl.row(b, g, "raw-LIST-pass", true, func(b *testing.B) measurement { return rawPass(b, false) })
	tbl.row(b, g, "byob-mount-ls-l-fresh-mount", false, func(b *testing.B) measurement {
		return lsRow(b, "byob-ls2", "fresh mount, page cache kept", false)
	})
	return seedNote + "; byob store List calls: " + strings.Join(calls, ", ")
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// storeRequests reads byob_store_requests_total{op=op} from a mount's
// metrics endpoint (-1 when it cannot).
func storeRequests(addr, op string) int {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	prefix := fmt.Sprintf("byob_store_requests_total{op=%q} ", op)
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}
