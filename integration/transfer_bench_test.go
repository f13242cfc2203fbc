package integration

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	miniogo "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/wrap"
	"github.com/byobfs/byob/transfer"
)

// discardAt is an io.WriterAt that drops everything, so downloads measure
// the network path, not the disk.
type discardAt struct{}

func (discardAt) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

// memStatus returns VmHWM and RssAnon from /proc/self/status.
func memStatus() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "n/a"
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") || strings.HasPrefix(l, "RssAnon:") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(out, ", ")
}

// cpuTimes returns the CPU time (user+system) used so far by this process
// and by its children still running (the MinIO server testenv started), read
// from /proc, so each row can report where its CPU went.
func cpuTimes() (self, server time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	ents, _ := os.ReadDir("/proc")
	me := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the ")" closing comm: state ppid ... utime(14) stime(15).
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 || f[1] != strconv.Itoa(me) || pid == me {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		server += time.Duration(ut+st) * (time.Second / 100) // USER_HZ
	}
	return self, server
}

// resetPeakRSS resets VmHWM (Linux: "5" to clear_refs), so each row reports
// its own peak.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// BenchmarkTransfer: a 1 GiB upload with the Uploader against minio-go's
// PutObject (same 16 MiB parts, 4 threads, CRC32C per part on both), and a
// 1 GiB download with the Downloader against a loop of 4 streams of raw
// ranged minio-go GETs of 16 MiB, on MinIO, in the same run. Both uploads
// read the same generated source (no disk), both skip the payload SHA256.
// Each pair runs in ABBA order over BYOB_BENCH_ROUNDS rounds (default 2),
// with a sync before each row, and the ratios compare the rows' totals.
// Prints the ratios, each row's peak RSS, its runs, and the client's and
// the MinIO server's CPU per op (CPU is steadier than wall time on a shared
// machine: the server, on the same cores, spends 5x the client's CPU).
func BenchmarkTransfer(b *testing.B) {
	if testing.Short() {
		b.Skip("1 GiB transfers")
	}
	s := testenv.MinIO(b)
	bucket := s.NewBucket(b)
	ctx := context.Background()
	res := &benchResults{rows: map[string]time.Duration{}}
	st, _ := openMinIO(b, s, bucket, "")
	// TrailingHeaders: minio-go sends a part's CRC32C only as a trailer.
	raw, err := miniogo.New(s.Endpoint, &miniogo.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region: s.Region, MaxRetries: 1, TrailingHeaders: true})
	if err != nil {
		b.Fatal(err)
	}
	const (
		size     = 1 << 30
		partSize = 16 << 20
		threads  = 4
	)
	src := newGen(size, 9)
	up := transfer.NewUploader(wrap.Retrying(st, wrap.DefaultRetryPolicy()), transfer.Options{PartSize: partSize, Concurrency: threads})
	down := transfer.NewDownloader(wrap.Retrying(st, wrap.DefaultRetryPolicy()), transfer.DownloadOptions{PartSize: partSize, Concurrency: threads})

	rawDownload := func(key string) error {
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			first error
		)
		for w := 0; w < threads; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 1<<20)
				for off := int64(w) * partSize; off < size; off += threads * partSize {
					var o miniogo.GetObjectOptions
					_ = o.SetRange(off, min(off+partSize, size)-1)
					obj, err := raw.GetObject(ctx, bucket, key, o)
					if err == nil {
						_, err = io.CopyBuffer(io.NewOffsetWriter(discardAt{}, off), obj, buf)
						obj.Close()
					}
					if err != nil {
						mu.Lock()
						first = err
						mu.Unlock()
						return
					}
				}
			}()
		}
		wg.Wait()
		return first
	}
	type row struct {
		name string
		fn   func() error
	}
	rows := []row{ // pairs: raw, then byob
		{"Upload/1GiB/raw-minio", func() error {
			_, err := raw.PutObject(ctx, bucket, "bench/raw", io.NewSectionReader(src, 0, size), size,
				miniogo.PutObjectOptions{PartSize: partSize, NumThreads: threads, Checksum: miniogo.ChecksumCRC32C, DisableContentSha256: true})
			return err
		}},
		{"Upload/1GiB/byob-minio", func() error {
			_, err := up.UploadFile(ctx, "bench/byob", src, size, transfer.SourceFingerprint{}, providers.PutOptions{})
			return err
		}},
		{"Download/1GiB/raw-minio", func() error { return rawDownload("bench/raw") }},
		{"Download/1GiB/byob-minio", func() error {
			_, err := down.Download(ctx, "bench/byob", discardAt{})
			return err
		}},
	}
	// ABBA order over the rounds (raw, byob, byob, raw, ...), uploads first
	// (the downloads read their objects): on a shared machine and a MinIO
	// that slows down as it takes more data, whichever row runs first on
	// the fresh server wins by up to 2x, so a fixed order measures the order.
	// Ratios compare the rows' totals, which cancels a linear drift.
	rounds := 2
	if v, err := strconv.Atoi(os.Getenv("BYOB_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	var order []row
	for k := 0; k < len(rows); k += 2 {
		for i := 0; i < rounds; i++ {
			if i%2 == 0 {
				order = append(order, rows[k], rows[k+1])
			} else {
				order = append(order, rows[k+1], rows[k])
			}
		}
	}
	type total struct {
		n               int
		wall, self, srv time.Duration
		walls           []string
	}
	totals := map[string]*total{}
	var rss []string
	for _, r := range order {
		b.Run(r.name, func(b *testing.B) {
			b.SetBytes(size)
			syscall.Sync() // the previous row's dirty pages are not this row's writeback
			resetPeakRSS()
			self0, srv0 := cpuTimes()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := r.fn(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			self1, srv1 := cpuTimes()
			t := totals[r.name]
			if t == nil {
				t = &total{}
				totals[r.name] = t
			}
			t.n += b.N
			t.wall += b.Elapsed()
			t.self += self1 - self0
			t.srv += srv1 - srv0
			t.walls = append(t.walls, (b.Elapsed() / time.Duration(b.N)).Round(time.Millisecond).String())
			rss = append(rss, fmt.Sprintf("  %-26s %s", r.name, memStatus()))
		})
	}
	var cpu []string
	for _, r := range rows {
		t := totals[r.name]
		if t == nil {
			continue
		}
		n := time.Duration(t.n)
		res.rows[r.name] = t.wall / n // the mean: the ratio of the totals
		cpu = append(cpu, fmt.Sprintf("  %-26s runs %s; CPU per op: client %v, server %v", r.name, strings.Join(t.walls, " "),
			(t.self/n).Round(time.Millisecond), (t.srv/n).Round(time.Millisecond)))
	}
	printRatios(res)
	fmt.Println("peak RSS per row (VmHWM reset before each row; RssAnon after it):")
	fmt.Println(strings.Join(rss, "\n"))
	fmt.Printf("each row's runs in the order run (ABBA, %d rounds) and its CPU per op (client: this process; server: MinIO):\n", rounds)
	fmt.Println(strings.Join(cpu, "\n"))
	for k := 0; k+1 < len(rows); k += 2 {
		rt, bt := totals[rows[k].name], totals[rows[k+1].name]
		if rt == nil || bt == nil {
			continue
		}
		rc := (rt.self + rt.srv) / time.Duration(rt.n)
		bc := (bt.self + bt.srv) / time.Duration(bt.n)
		fmt.Printf("  %-26s CPU ratio (raw client+server CPU / byob's) %.2f\n", rows[k+1].name, float64(rc)/float64(bc))
	}
}
