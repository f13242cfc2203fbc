package integration

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	miniogo "github.com/minio/minio-go/v7"

	"github.com/byobfs/byob/integration/testenv"
)

// Sizes of the sync benchmark (issue 6); BYOB_BENCH_QUICK=1 shrinks them.
func syncBenchSizes() (small int, bigFiles int, big int64) {
	if benchQuick() {
		return 1000, 4, 128 << 20
	}
	return 5000, 4, 1 << 30
}

// prefixAddr is s.Address(bucket) with a key prefix.
func prefixAddr(s *testenv.S3Server, bucket, prefix string) string {
	return strings.Replace(s.Address(bucket), "/"+bucket+"?", "/"+bucket+"/"+prefix+"?", 1)
}

// BenchmarkSync is the issue 6 table: byob sync against a raw minio-go
// loop measured in the same run, rclone (best of --transfers 4/16/64) and
// aws s3 sync: many small files up, down and a no-op re-sync, and a few
// large files up and down (rclone beside them). A missing peer skips only
// its rows.
func BenchmarkSync(b *testing.B) {
	if testing.Short() {
		b.Skip("GiB-sized sync benchmark")
	}
	nSmall, nBig, bigSize := syncBenchSizes()
	s := testenv.MinIO(b)
	bucket := s.NewBucket(b)
	ctx := context.Background()
	raw := rawClient(b, s)
	work := b.TempDir()
	cacheDir := filepath.Join(work, "byob-cache") // the sync index lives here: kept across rows
	byobEnv := append(os.Environ(), "BYOB_CACHE_DIR="+cacheDir)
	tbl := newBenchTable(fmt.Sprintf("byob sync vs raw minio-go, rclone, aws s3 sync (issue 6; MinIO on 127.0.0.1; quick=%v)", benchQuick()))
	byobCmd := func(b *testing.B, args ...string) measurement {
		tbl.peerFlags("BYOB_CACHE_DIR=DIR byob " + strings.Join(redactArgs(args), " "))
		return runCLI(b, byobEnv, byobBin(b), args...)
	}
	rclone := func(b *testing.B, args ...string) measurement {
		bin := needPeer(b, "rclone")
		tbl.peerFlags(rcloneEnvShown + " rclone " + strings.Join(args, " "))
		return runCLI(b, rcloneEnv(s), bin, args...)
	}
	awsEndpoint := "--endpoint-url=" + s.URL
	aws := func(b *testing.B, args ...string) measurement {
		bin := needPeer(b, "aws")
		args = append([]string{awsEndpoint}, args...)
		tbl.peerFlags("AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=*** AWS_SECRET_ACCESS_KEY=*** AWS_DEFAULT_REGION=" + s.Region +
			" (AWS_CA_BUNDLE unset) " + bin + " " + strings.Join(args, " "))
		return runCLI(b, awsEnv(s), bin, args...)
	}
	with := func(m measurement, n int64) measurement { m.bytes = n; return m }
	transfers := []string{"4", "16", "64"}

	// Small files.
	src := filepath.Join(work, "small")
	rels := writeSmallFiles(b, src, nSmall, smallSize)
	smallBytes := int64(nSmall) * smallSize
	label := fmt.Sprintf("%dx16KiB", nSmall)

	g := "upload-" + label
	tbl.row(b, g, "raw-32-concurrent-PUT", true, func(b *testing.B) measurement {
		c0 := selfCPU()
		start := time.Now()
		err := parallel(len(rels), 32, func(i int) error {
			_, err := raw.FPutObject(ctx, bucket, "up/raw/"+rels[i], filepath.Join(src, rels[i]), miniogo.PutObjectOptions{DisableContentSha256: true})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		return measurement{wall: time.Since(start), bytes: smallBytes, cpu: selfCPU() - c0}
	})
	tbl.row(b, g, "byob-sync", false, func(b *testing.B) measurement {
		return with(byobCmd(b, "sync", "--progress=false", src, prefixAddr(s, bucket, "up/byob")), smallBytes)
	})
	for _, t := range transfers {
		tbl.row(b, g, "rclone-sync-transfers-"+t, false, func(b *testing.B) measurement {
			return with(rclone(b, "sync", src, "bench:"+bucket+"/up/rclone-"+t, "--transfers", t), smallBytes)
		})
	}
	tbl.row(b, g, "aws-s3-sync", false, func(b *testing.B) measurement {
		return with(aws(b, "s3", "sync", "--only-show-errors", src, "s3://"+bucket+"/up/aws"), smallBytes)
	})

	g = "download-" + label
	tbl.row(b, g, "raw-32-concurrent-GET", true, func(b *testing.B) measurement {
		dst := filepath.Join(work, "down-raw")
		c0 := selfCPU()
		start := time.Now()
		err := parallel(len(rels), 32, func(i int) error {
			p := filepath.Join(dst, rels[i])
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			return raw.FGetObject(ctx, bucket, "up/raw/"+rels[i], p, miniogo.GetObjectOptions{})
		})
		if err != nil {
			b.Fatal(err)
		}
		return measurement{wall: time.Since(start), bytes: smallBytes, cpu: selfCPU() - c0}
	})
	tbl.row(b, g, "byob-sync", false, func(b *testing.B) measurement {
		return with(byobCmd(b, "sync", "--progress=false", prefixAddr(s, bucket, "up/byob"), filepath.Join(work, "down-byob")), smallBytes)
	})
	for _, t := range transfers {
		tbl.row(b, g, "rclone-sync-transfers-"+t, false, func(b *testing.B) measurement {
			return with(rclone(b, "sync", "bench:"+bucket+"/up/rclone-"+t, filepath.Join(work, "down-rclone-"+t), "--transfers", t), smallBytes)
		})
	}
	tbl.row(b, g, "aws-s3-sync", false, func(b *testing.B) measurement {
		return with(aws(b, "s3", "sync", "--only-show-errors", "s3://"+bucket+"/up/aws", filepath.Join(work, "down-aws")), smallBytes)
	})

	// A no-op re-sync of the upload (nothing changed on either side).
	g = "noop-resync-up-" + label
	tbl.row(b, g, "raw-LIST+local-lstat", true, func(b *testing.B) measurement {
		c0 := selfCPU()
		start := time.Now()
		n, err := countObjects(ctx, raw, bucket, "up/raw/")
		if err != nil || n != len(rels) {
			b.Fatalf("listed %d of %d (%v)", n, len(rels), err)
		}
		err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err == nil {
				_, err = d.Info()
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		return measurement{wall: time.Since(start), cpu: selfCPU() - c0}
	})
	tbl.row(b, g, "byob-sync", false, func(b *testing.B) measurement {
		return byobCmd(b, "sync", "--progress=false", src, prefixAddr(s, bucket, "up/byob"))
	})
	for _, t := range transfers {
		tbl.row(b, g, "rclone-sync-transfers-"+t, false, func(b *testing.B) measurement {
			return rclone(b, "sync", src, "bench:"+bucket+"/up/rclone-"+t, "--transfers", t)
		})
	}
	tbl.row(b, g, "aws-s3-sync", false, func(b *testing.B) measurement {
		return aws(b, "s3", "sync", "--only-show-errors", src, "s3://"+bucket+"/up/aws")
	})

	// Large files.
	bigLabel := fmt.Sprintf("%dx%dMiB", nBig, bigSize>>20)
	if bigSize >= 1<<30 {
		bigLabel = fmt.Sprintf("%dx%dGiB", nBig, bigSize>>30)
	}
	bigSrc := filepath.Join(work, "big")
	_ = os.MkdirAll(bigSrc, 0o755)
	var bigNames []string
	for i := 0; i < nBig; i++ {
		n := fmt.Sprintf("ckpt-%d.bin", i)
		writeBigFile(b, filepath.Join(bigSrc, n), bigSize, uint64(100+i))
		bigNames = append(bigNames, n)
	}
	total := int64(nBig) * bigSize
	flush := func() { syscall.Sync() } // the previous row's dirty pages are not this row's writeback

	g = "upload-" + bigLabel
	tbl.row(b, g, "raw-multipart-16MiBx4-per-file", true, func(b *testing.B) measurement {
		flush()
		c0 := selfCPU()
		start := time.Now()
		if err := parallel(nBig, nBig, func(i int) error {
			return rawPutFile(ctx, raw, bucket, "big/raw/"+bigNames[i], filepath.Join(bigSrc, bigNames[i]))
		}); err != nil {
			b.Fatal(err)
		}
		return measurement{wall: time.Since(start), bytes: total, cpu: selfCPU() - c0, note: "(all files at once)"}
	})
	tbl.row(b, g, "byob-sync", false, func(b *testing.B) measurement {
		flush()
		return with(byobCmd(b, "sync", "--progress=false", bigSrc, prefixAddr(s, bucket, "big/byob")), total)
	})
	tbl.row(b, g, "rclone-sync", false, func(b *testing.B) measurement {
		flush()
		return with(rclone(b, "sync", bigSrc, "bench:"+bucket+"/big/rclone"), total)
	})

	g = "download-" + bigLabel
	tbl.row(b, g, "raw-ranged-GET-16MiBx4-per-file", true, func(b *testing.B) measurement {
		flush()
		dst := filepath.Join(work, "big-down-raw")
		_ = os.MkdirAll(dst, 0o755)
		c0 := selfCPU()
		start := time.Now()
		if err := parallel(nBig, nBig, func(i int) error {
			f, err := os.Create(filepath.Join(dst, bigNames[i]))
			if err != nil {
				return err
			}
			defer f.Close()
			return rawRangedGet(ctx, raw, bucket, "big/raw/"+bigNames[i], bigSize, f)
		}); err != nil {
			b.Fatal(err)
		}
		return measurement{wall: time.Since(start), bytes: total, cpu: selfCPU() - c0, note: "(all files at once, to disk)"}
	})
	tbl.row(b, g, "byob-sync", false, func(b *testing.B) measurement {
		flush()
		return with(byobCmd(b, "sync", "--progress=false", prefixAddr(s, bucket, "big/byob"), filepath.Join(work, "big-down-byob")), total)
	})
	tbl.row(b, g, "rclone-sync", false, func(b *testing.B) measurement {
		flush()
		return with(rclone(b, "sync", "bench:"+bucket+"/big/rclone", filepath.Join(work, "big-down-rclone")), total)
	})

	// The no-op goal: byob at least 3x faster than the faster peer.
	tbl.mu.Lock()
	nb := tbl.rows["noop-resync-up-"+label+"/byob-sync"]
	var bestPeer time.Duration
	var bestName string
	for _, n := range append([]string{"aws-s3-sync"}, "rclone-sync-transfers-4", "rclone-sync-transfers-16", "rclone-sync-transfers-64") {
		if m := tbl.rows["noop-resync-up-"+label+"/"+n]; m != nil && m.skipped == "" && (bestPeer == 0 || m.wall < bestPeer) {
			bestPeer, bestName = m.wall, n
		}
	}
	tbl.mu.Unlock()
	goal := "no-op re-sync goal (>= 3x faster than the faster peer): no peer measured"
	if nb != nil && nb.skipped == "" && bestPeer > 0 {
		x := float64(bestPeer) / float64(nb.wall)
		verdict := "MET"
		if x < 3 {
			verdict = "NOT MET"
		}
		goal = fmt.Sprintf("no-op re-sync goal (>= 3x faster than the faster peer): byob %v vs %s %v = %.2fx: %s",
			nb.wall.Round(time.Millisecond), bestName, bestPeer.Round(time.Millisecond), x, verdict)
	}
	tbl.print("notes: CPU and maxRSS of CLI rows are the command's (rusage); raw rows' CPU is this test process's.", goal)
}
