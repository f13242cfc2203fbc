package cache

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/byobfs/byob/providers"
)

// BenchmarkIndex inserts 1,000,000 object attributes in batched
// transactions (10,000 per commit, synced) and reads back one
// 100,000-entry listing. The baseline is one synced transaction per
// attribute (measured on 2,000 attributes in the same run).
func BenchmarkIndex(b *testing.B) {
	const (
		nAttrs   = 1_000_000
		batch    = 10_000
		nBase    = 2_000
		nListing = 100_000
	)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		opts := DefaultOptions(filepath.Join(b.TempDir(), "cache"))
		c, err := Open(opts)
		if err != nil {
			b.Fatal(err)
		}
		mod := time.Unix(1700000000, 0).UTC()
		attr := func(j int) Attr {
			return Attr{Size: int64(j), Version: fmt.Sprintf(`"%032x"`, j), ModTime: mod, FetchedAt: mod, CRC32C: uint32(j), HasCRC32C: true}
		}
		key := func(j int) string { return fmt.Sprintf("acme/proj/run-%04d/media/images/img_%07d.png", j/1000, j) }

		b.ResetTimer()
		start := time.Now()
		items := make([]KeyAttr, 0, batch)
		for j := 0; j < nAttrs; j++ {
			items = append(items, KeyAttr{Key: key(j), Attr: attr(j)})
			if len(items) == batch {
				if err := c.PutAttrs(ctx, "s3://bucket", items); err != nil {
					b.Fatal(err)
				}
				items = items[:0]
			}
		}
		insert := time.Since(start)

		start = time.Now()
		for j := 0; j < nBase; j++ {
			if err := c.PutAttr(ctx, "s3://base", key(j), attr(j)); err != nil {
				b.Fatal(err)
			}
		}
		baseline := time.Since(start)

		// The listing is written outside the measured read.
		b.StopTimer()
		entries := func(yield func(providers.Entry) bool) {
			for j := 0; j < nListing; j++ {
				if !yield(providers.Entry{ObjectInfo: providers.ObjectInfo{Key: key(j), Size: int64(j), Version: fmt.Sprintf(`"%032x"`, j), ModTime: mod}}) {
					return
				}
			}
		}
		if err := c.PutListing(ctx, "s3://bucket", "acme/", mod, entries); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start = time.Now()
		n := 0
		if _, _, err := c.ReadListing(ctx, "s3://bucket", "acme/", func(providers.Entry) error { n++; return nil }); err != nil || n != nListing {
			b.Fatal(err, n)
		}
		read := time.Since(start)
		b.StopTimer()

		st, err := c.Stats(ctx)
		if err != nil {
			b.Fatal(err)
		}
		perBatched := float64(insert.Nanoseconds()) / nAttrs
		perSingle := float64(baseline.Nanoseconds()) / nBase
		b.ReportMetric(insert.Seconds(), "insert-1M-s")
		b.ReportMetric(perBatched, "ns/attr-batched")
		b.ReportMetric(perSingle, "ns/attr-single-tx")
		b.ReportMetric(float64(read.Milliseconds()), "read-100k-listing-ms")
		b.ReportMetric(float64(st.DBSize)/(1<<20), "db-MiB")
		fmt.Printf("BenchmarkIndex: 1,000,000 attrs in %v (%.0f ns/attr batched vs %.0f ns/attr one tx each: %.0fx), "+
			"100,000-entry listing read in %v, db %.1f MiB\n",
			insert.Round(time.Millisecond), perBatched, perSingle, perSingle/perBatched, read.Round(time.Millisecond), float64(st.DBSize)/(1<<20))
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
