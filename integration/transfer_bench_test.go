package integration

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	miniogo "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/transfer"
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

// resetPeakRSS resets VmHWM (Linux: "5" to clear_refs), so each row reports
// its own peak.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// BenchmarkTransfer: a 1 GiB upload with the Uploader against minio-go's
// PutObject (same 16 MiB parts, 4 threads, CRC32C per part on both), and a
// 1 GiB download with the Downloader against a loop of 4 streams of raw
// ranged minio-go GETs of 16 MiB, on MinIO, in the same run. Prints the
// ratios and each row's peak RSS.
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
	up := transfer.NewUploader(st, transfer.Options{PartSize: partSize, Concurrency: threads, Retry: transfer.DefaultRetryPolicy()})
	down := transfer.NewDownloader(st, transfer.DownloadOptions{PartSize: partSize, Concurrency: threads})

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
	rows := []struct {
		name string
		fn   func() error
	}{
		{"Upload/1GiB/raw-minio", func() error {
			_, err := raw.PutObject(ctx, bucket, "bench/raw", io.NewSectionReader(src, 0, size), size,
				miniogo.PutObjectOptions{PartSize: partSize, NumThreads: threads, Checksum: miniogo.ChecksumCRC32C, DisableContentSha256: true})
			return err
		}},
		{"Upload/1GiB/byob-minio", func() error {
			_, err := up.UploadFile(ctx, "bench/byob", src, size, providers.SourceFingerprint{}, providers.PutOptions{})
			return err
		}},
		{"Download/1GiB/raw-minio", func() error { return rawDownload("bench/raw") }},
		{"Download/1GiB/byob-minio", func() error {
			_, err := down.Download(ctx, "bench/byob", discardAt{})
			return err
		}},
	}
	var rss []string
	for _, r := range rows {
		b.Run(r.name, func(b *testing.B) {
			b.SetBytes(size)
			resetPeakRSS()
			for i := 0; i < b.N; i++ {
				if err := r.fn(); err != nil {
					b.Fatal(err)
				}
			}
			res.record(r.name, b)
			rss = append(rss, fmt.Sprintf("  %-26s %s", r.name, memStatus()))
		})
	}
	printRatios(res)
	fmt.Println("peak RSS per row (VmHWM reset before each row; RssAnon after it):")
	fmt.Println(strings.Join(rss, "\n"))
}
