package fs

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/layout"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
	"github.com/byobfs/byob/providers/mem"
)

// lsL does what `ls -l` makes the kernel do: read the directory, then look
// up and stat every name, several at once.
func lsL(t *testing.T, dir *Node, workers int) int {
	t.Helper()
	ctx := context.Background()
	ents, err := dir.ReadDir(ctx)
	require.NoError(t, err)
	names := make(chan string)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				c, err := dir.Lookup(ctx, name)
				if err == nil {
					_, err = c.Attr(ctx)
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", name, err)
					for range names {
					}
					return
				}
			}
		}()
	}
	for _, e := range ents {
		names <- e.Name
	}
	close(names)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	return len(ents)
}

// After DirTTL expired, `ls -l` of a big directory costs one listing (a
// List per 1000 keys on a real store, one call on mem) and no Stat: stale
// lookups refresh the directory's listing once instead of probing each name,
// and attributes from a listing are trusted for DirTTL.
func TestLsLongAfterDirTTL(t *testing.T) {
	const n = 5000
	inner := mem.New(mem.DefaultOptions())
	st := faulty.Wrap(inner, faulty.Options{})
	for i := range n {
		putObj(t, inner, fmt.Sprintf("d/f%05d", i), []byte("x"))
	}
	const dirTTL = 300 * time.Millisecond
	f := newTestFS(t, st, func(o *Options) {
		o.DirTTL = dirTTL
		o.AttrTTL = 10 * time.Millisecond
		o.NegativeTTL = 10 * time.Millisecond
	})
	ctx := context.Background()
	d, err := f.Root().Lookup(ctx, "d")
	require.NoError(t, err)
	maxLists := (n + 999) / 1000

	st.Reset()
	require.Equal(t, n, lsL(t, d, 8))
	require.LessOrEqual(t, st.Calls(faulty.OpList), maxLists, "cold")
	require.Zero(t, st.Calls(faulty.OpStat), "cold")

	// Warm, after every TTL passed: readdir lists again, lookups and
	// attributes come from that listing.
	time.Sleep(dirTTL + 50*time.Millisecond)
	st.Reset()
	require.Equal(t, n, lsL(t, d, 8))
	require.LessOrEqual(t, st.Calls(faulty.OpList), maxLists, "warm")
	require.Zero(t, st.Calls(faulty.OpStat), "warm")

	// Lookups and stats alone on a stale listing (the kernel still caching
	// the readdir): one shared refresh, no probes, no Stat.
	time.Sleep(dirTTL + 50*time.Millisecond)
	st.Reset()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				c, err := d.Lookup(ctx, fmt.Sprintf("f%05d", i))
				if !assertNoErr(t, err) {
					return
				}
				_, err = c.Attr(ctx)
				assertNoErr(t, err)
			}
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, st.Calls(faulty.OpList), maxLists, "stale lookups")
	require.Zero(t, st.Calls(faulty.OpStat), "stale lookups")

	// A name absent from a refreshed listing is ENOENT without a probe.
	_, err = d.Lookup(ctx, "nope")
	require.ErrorIs(t, err, providers.ErrNotExist)
}

func assertNoErr(t *testing.T, err error) bool {
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

// A listing's age counts from when its List completed.
func TestListingStampedAtCompletion(t *testing.T) {
	inner := mem.New(mem.DefaultOptions())
	st := faulty.Wrap(inner, faulty.Options{})
	putObj(t, inner, "a", []byte("x"))
	const dirTTL = 200 * time.Millisecond
	f := newTestFS(t, st, func(o *Options) { o.DirTTL = dirTTL; o.AttrTTL = 10 * time.Millisecond })
	st.SetBefore(func(op, key string) error {
		if op == faulty.OpList {
			time.Sleep(dirTTL)
		}
		return nil
	})
	ctx := context.Background()
	_, err := f.Root().ReadDir(ctx)
	require.NoError(t, err)
	st.SetBefore(nil)
	st.Reset()
	c, err := f.Root().Lookup(ctx, "a")
	require.NoError(t, err)
	_, err = c.Attr(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Calls(faulty.OpList))
	require.Zero(t, st.Calls(faulty.OpStat))
}

// A listing finds every entry by name, and every file by key, also those
// whose name is not their key's segment (a shadowed object, an escaped
// name, a shortened long name).
func TestListingLookups(t *testing.T) {
	long := strings.Repeat("x", 300)
	var entries []providers.Entry
	for _, k := range []string{"d/" + long, "d/a", "d/a/", "d/..", "d/plain", "d/z/"} {
		e := providers.Entry{ObjectInfo: providers.ObjectInfo{Key: k, Size: int64(len(k)), Version: "v" + k}}
		e.IsPrefix = strings.HasSuffix(k, "/")
		entries = append(entries, e)
	}
	des := layout.DirEntries(entries, "d/")
	l := newDirListing("d/", time.Now(), des)
	require.Len(t, l.entries, len(des))
	odd := 0
	for _, de := range des {
		e, ok := l.byName(de.Name)
		require.True(t, ok, de.Name)
		require.Equal(t, de.Key, e.key)
		require.Equal(t, de.IsDir, e.isDir)
		if de.IsDir {
			continue
		}
		e, ok = l.byKey(de.Key)
		require.True(t, ok, de.Key)
		require.Equal(t, de.Name, e.name)
		require.Equal(t, int64(len(de.Key)), e.size)
		require.Equal(t, "v"+de.Key, e.version)
		if de.Name != strings.TrimPrefix(de.Key, "d/") {
			odd++
		}
	}
	require.Equal(t, 3, odd, "shadowed, escaped and long names")
	require.Len(t, l.odd, odd)
	_, ok := l.byName("nope")
	require.False(t, ok)
	_, ok = l.byKey("d/z/") // directories are found by name only
	require.False(t, ok)
	_, ok = l.byKey("e/plain")
	require.False(t, ok)
}
