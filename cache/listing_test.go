package cache

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/byobfs/byob/providers"
	"github.com/stretchr/testify/require"
)

func genEntries(n int) func(yield func(providers.Entry) bool) {
	mod := time.Unix(1700000000, 0).UTC()
	return func(yield func(providers.Entry) bool) {
		for i := range n {
			e := providers.Entry{ObjectInfo: providers.ObjectInfo{Key: fmt.Sprintf("team/run-%03d/file-%07d.bin", i/10000, i),
				Size: int64(i), Version: fmt.Sprintf(`"%08x"`, i), ModTime: mod.Add(time.Duration(i) * time.Second)}}
			if i%1000 == 999 {
				e = providers.Entry{ObjectInfo: providers.ObjectInfo{Key: fmt.Sprintf("team/run-%03d/file-%07d.bin/", i/10000, i)}, IsPrefix: true}
			}
			if !yield(e) {
				return
			}
		}
	}
}

// heapSampler records the peak live heap while it runs.
func heapSampler() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

func TestListingMillionPagedAndStreamed(t *testing.T) {
	const n = 1_000_000
	if testing.Short() {
		t.Skip("1,000,000 entries")
	}
	ctx := context.Background()
	c := openTest(t, testOptions(t))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	stop := heapSampler()
	fetched := time.Unix(1700000000, 0).UTC()
	start := time.Now()
	require.NoError(t, c.PutListing(ctx, "s", "team/", fetched, genEntries(n)))
	putDur := time.Since(start)
	putPeak := stop()

	info, ok, err := c.StatListing(ctx, "s", "team/")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ListingInfo{FetchedAt: fetched, Entries: n, Pages: n / ListingPageSize}, info)

	stop = heapSampler()
	start = time.Now()
	i := 0
	var want providers.Entry
	next := genEntries(n)
	wantCh := make(chan providers.Entry, 1024)
	go func() {
		defer close(wantCh)
		next(func(e providers.Entry) bool { wantCh <- e; return true })
	}()
	got, ok, err := c.ReadListing(ctx, "s", "team/", func(e providers.Entry) error {
		want = <-wantCh
		if e.Key != want.Key || e.Size != want.Size || e.Version != want.Version || !e.ModTime.Equal(want.ModTime) || e.IsPrefix != want.IsPrefix {
			return fmt.Errorf("entry %d: got %+v want %+v", i, e, want)
		}
		i++
		return nil
	})
	readDur := time.Since(start)
	readPeak := stop()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, fetched, got)
	require.Equal(t, n, i)
	st, err := c.Stats(ctx)
	require.NoError(t, err)
	t.Logf("1e6 entries: put %v (peak heap +%d MiB), read %v (peak heap +%d MiB), %d pages, db %d MiB",
		putDur, (putPeak-base.HeapAlloc)>>20, readDur, (readPeak-base.HeapAlloc)>>20, st.Buckets["listpages"], st.DBSize>>20)
	// Held whole, 1e6 entries are well over 150 MiB of heap; paging keeps
	// it to a few pages (loose bound: GC timing varies).
	require.Less(t, int64(putPeak)-int64(base.HeapAlloc), int64(96<<20))
	require.Less(t, int64(readPeak)-int64(base.HeapAlloc), int64(96<<20))
}

func TestListingReplaceInvalidateAndOrder(t *testing.T) {
	ctx := context.Background()
	c := openTest(t, testOptions(t))
	_, ok, err := c.ReadListing(ctx, "s", "p/", func(providers.Entry) error { return nil })
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, c.PutListing(ctx, "s", "p/", time.Unix(1, 0), genEntries(2500)))
	// A reader that is in the middle of the old generation finishes it
	// while a new one is written.
	count := 0
	_, ok, err = c.ReadListing(ctx, "s", "p/", func(e providers.Entry) error {
		if count == 10 {
			require.NoError(t, c.PutListing(ctx, "s", "p/", time.Unix(2, 0), genEntries(30)))
		}
		count++
		return nil
	})
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 2500, count)
	require.NoError(t, c.checkInvariants(), "old generation dropped by its last reader")
	info, _, err := c.StatListing(ctx, "s", "p/")
	require.NoError(t, err)
	require.Equal(t, uint64(30), info.Entries)

	// Out of order: nothing stored, old listing intact.
	bad := func(yield func(providers.Entry) bool) {
		yield(providers.Entry{ObjectInfo: providers.ObjectInfo{Key: "b"}})
		yield(providers.Entry{ObjectInfo: providers.ObjectInfo{Key: "a"}})
	}
	require.ErrorIs(t, c.PutListing(ctx, "s", "p/", time.Unix(3, 0), bad), ErrInvalid)
	info, _, err = c.StatListing(ctx, "s", "p/")
	require.NoError(t, err)
	require.Equal(t, uint64(30), info.Entries)

	// Empty listing is a listing.
	require.NoError(t, c.PutListing(ctx, "s", "empty/", time.Unix(4, 0), genEntries(0)))
	_, ok, err = c.ReadListing(ctx, "s", "empty/", func(providers.Entry) error { return nil })
	require.NoError(t, err)
	require.True(t, ok)

	require.NoError(t, c.InvalidateListing(ctx, "s", "p/"))
	_, ok, err = c.ReadListing(ctx, "s", "p/", func(providers.Entry) error { return nil })
	require.NoError(t, err)
	require.False(t, ok)
}
