package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/providers"
)

// indexFigures are one measurement of the cache index.
type indexFigures struct {
	insert, read time.Duration
	listed       int
	dbSize       int64
	err          error
}

var (
	indexOnce sync.Once
	indexRes  indexFigures
)

// measureIndex inserts 1,000,000 object attributes into a fresh cache index
// (10,000 per synced commit, as a listing's attributes are written) and
// reads back one 100,000-entry listing written beforehand outside the
// measurement. Real fsyncs, the binary's defaults.
func measureIndex(dir string) (r indexFigures) {
	const (
		nAttrs   = 1_000_000
		batch    = 10_000
		nListing = 100_000
		store    = "s3://bucket"
	)
	ctx := context.Background()
	c, err := cache.Open(cache.DefaultOptions(filepath.Join(dir, "cache")))
	if err != nil {
		return indexFigures{err: err}
	}
	defer func() {
		if err := c.Close(); err != nil && r.err == nil {
			r.err = err
		}
	}()
	mod := time.Unix(1700000000, 0).UTC()
	key := func(j int) string { return fmt.Sprintf("acme/proj/run-%04d/media/images/img_%07d.png", j/1000, j) }
	version := func(j int) string { return fmt.Sprintf(`"%032x"`, j) }

	start := time.Now()
	items := make([]cache.KeyAttr, 0, batch)
	for j := range nAttrs {
		items = append(items, cache.KeyAttr{Key: key(j), Attr: cache.Attr{Size: int64(j), Version: version(j),
			ModTime: mod, FetchedAt: mod, CRC32C: uint32(j), HasCRC32C: true}})
		if len(items) == batch {
			if err := c.PutAttrs(ctx, store, items); err != nil {
				return indexFigures{err: err}
			}
			items = items[:0]
		}
	}
	r.insert = time.Since(start)

	entries := func(yield func(providers.Entry) bool) {
		for j := range nListing {
			if !yield(providers.Entry{ObjectInfo: providers.ObjectInfo{Key: key(j), Size: int64(j), Version: version(j), ModTime: mod}}) {
				return
			}
		}
	}
	if err := c.PutListing(ctx, store, "acme/", mod, entries); err != nil {
		return indexFigures{err: err}
	}
	start = time.Now()
	if _, _, err := c.ReadListing(ctx, store, "acme/", func(providers.Entry) error { r.listed++; return nil }); err != nil {
		return indexFigures{err: err}
	}
	r.read = time.Since(start)
	st, err := c.Stats(ctx)
	if err != nil {
		return indexFigures{err: err}
	}
	r.dbSize = st.DBSize
	return r
}

// BenchmarkIndex reports the cache index's figures: 1,000,000 object
// attributes inserted and one 100,000-entry listing read back, with the
// index's size on disk. The measurement runs once per test binary (it
// takes seconds, and `make bench` asks for 10 iterations); every run of the
// benchmark reports it, and ns/op is the insert plus the read.
func BenchmarkIndex(b *testing.B) {
	indexOnce.Do(func() {
		indexRes = measureIndex(b.TempDir())
		if indexRes.err == nil {
			r := indexRes
			fmt.Printf("BenchmarkIndex: 1,000,000 attrs inserted in %v (%.0f ns/attr, 10,000 per synced commit), "+
				"100,000-entry listing read back in %v, db %.1f MiB\n",
				r.insert.Round(time.Millisecond), float64(r.insert.Nanoseconds())/1e6, r.read.Round(time.Millisecond), float64(r.dbSize)/(1<<20))
		}
	})
	r := indexRes
	if r.err != nil {
		b.Fatal(r.err)
	}
	if r.listed != 100_000 {
		b.Fatalf("listing read back %d entries, 100,000 written", r.listed)
	}
	for range b.N {
	}
	b.ReportMetric(float64((r.insert + r.read).Nanoseconds()), "ns/op")
	b.ReportMetric(r.insert.Seconds(), "insert-1M-s")
	b.ReportMetric(float64(r.insert.Nanoseconds())/1e6, "ns/attr")
	b.ReportMetric(float64(r.read.Milliseconds()), "read-100k-listing-ms")
	b.ReportMetric(float64(r.dbSize)/(1<<20), "db-MiB")
}
