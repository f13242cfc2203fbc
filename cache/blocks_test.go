package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReadBlockColdSingleFlight(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	c := openTest(t, opts)
	id := BlockID{Store: "s", Key: "model.ckpt", Version: `"v1"`, Index: 3}
	var calls atomic.Int64
	fetch := countingFetch(id, int(opts.BlockSize), &calls, 100*time.Millisecond)
	want := blockData(id, int(opts.BlockSize))

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := c.ReadBlock(ctx, id, fetch)
			if err == nil && string(b) != string(want) {
				err = errors.New("wrong data")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), calls.Load(), "16 readers of one cold block fetch it once")

	// Warm: no fetch at all.
	b, err := c.ReadBlock(ctx, id, nil)
	require.NoError(t, err)
	require.Equal(t, want, b)
	_, err = c.ReadBlock(ctx, BlockID{Store: "s", Key: "other"}, nil)
	require.ErrorIs(t, err, ErrNotCached)
}

func TestReadBlockWaiterCancel(t *testing.T) {
	c := openTest(t, testOptions(t))
	id := BlockID{Store: "s", Key: "k", Version: "v"}
	started := make(chan struct{})
	fetch := func(ctx context.Context) ([]byte, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := c.ReadBlock(ctx, id, fetch)
	require.ErrorIs(t, err, context.Canceled)
	require.Eventually(t, func() bool {
		s, _ := c.Stats(context.Background())
		return s.Fetching == 0 && s.OpenBlocks == 0
	}, 2*time.Second, 10*time.Millisecond, "the fetch is cancelled when its last waiter leaves")
}

func TestEvictionKeepsUnderCap(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	opts.MaxSize = 16 * opts.BlockSize
	c := openTest(t, opts)
	var over atomic.Int64
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each reader streams twice the cap.
			for i := range 32 {
				id := BlockID{Store: "s", Key: "stream-" + string(rune('a'+r)), Version: "v", Index: int64(i)}
				var calls atomic.Int64
				h, err := c.OpenBlock(ctx, id, countingFetch(id, int(opts.BlockSize), &calls, 0))
				if err != nil {
					over.Add(1 << 40)
					return
				}
				b, err := h.Bytes()
				if err != nil || string(b) != string(blockData(id, int(opts.BlockSize))) {
					over.Add(1 << 40)
				}
				h.Close()
				c.mu.Lock()
				if c.bytes > opts.MaxSize {
					over.Add(1)
				}
				c.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Zero(t, over.Load(), "total stayed under MaxSize and every read was right")
	st, err := c.Stats(ctx)
	require.NoError(t, err)
	require.LessOrEqual(t, st.Bytes, opts.MaxSize)
	require.Greater(t, st.Bytes, opts.MaxSize/2, "the cache is used, not emptied")

	// LRU: a block read recently survives a new wave; the oldest does not.
	require.NoError(t, c.flushAccess())
}

func TestEvictionLRUOrder(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	opts.MaxSize = 4 * opts.BlockSize
	opts.AccessInterval = time.Second
	c := openTest(t, opts)
	id := func(i int) BlockID { return BlockID{Store: "s", Key: "k", Version: "v", Index: int64(i)} }
	var calls atomic.Int64
	for i := range 4 {
		_, err := c.ReadBlock(ctx, id(i), countingFetch(id(i), int(opts.BlockSize), &calls, 0))
		require.NoError(t, err)
	}
	time.Sleep(1100 * time.Millisecond)    // atime has 1 s granularity
	_, err := c.ReadBlock(ctx, id(0), nil) // block 0 becomes the most recent
	require.NoError(t, err)
	for i := 4; i < 6; i++ {
		_, err := c.ReadBlock(ctx, id(i), countingFetch(id(i), int(opts.BlockSize), &calls, 0))
		require.NoError(t, err)
	}
	_, err = c.ReadBlock(ctx, id(0), nil)
	require.NoError(t, err, "recently read block kept")
	_, err = c.ReadBlock(ctx, id(1), nil)
	require.ErrorIs(t, err, ErrNotCached, "least recently read block evicted")
}

func TestDirtyNeverEvictedAndNoSpace(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	opts.MaxSize = 8 * opts.BlockSize
	c := openTest(t, opts)
	bs := int(opts.BlockSize)
	dirtyID := func(i int) BlockID { return BlockID{Store: "s", Key: "new.bin", Version: "local", Index: int64(i)} }
	for i := range 6 {
		require.NoError(t, c.WriteBlock(ctx, dirtyID(i), blockData(dirtyID(i), bs)))
	}
	// Clean traffic of 3x the cap around them.
	var calls atomic.Int64
	for i := range 24 {
		id := BlockID{Store: "s", Key: "read.bin", Version: "v", Index: int64(i)}
		b, err := c.ReadBlock(ctx, id, countingFetch(id, bs, &calls, 0))
		require.NoError(t, err)
		require.Len(t, b, bs)
	}
	for i := range 6 {
		b, err := c.ReadBlock(ctx, dirtyID(i), nil)
		require.NoError(t, err, "dirty block %d evicted", i)
		require.Equal(t, blockData(dirtyID(i), bs), b)
	}
	require.NoError(t, c.WriteBlock(ctx, dirtyID(6), blockData(dirtyID(6), bs)))
	require.NoError(t, c.WriteBlock(ctx, dirtyID(7), blockData(dirtyID(7), bs)))
	err := c.WriteBlock(ctx, dirtyID(8), blockData(dirtyID(8), bs))
	require.ErrorIs(t, err, ErrNoSpace, "dirty data alone fills the cap")
	st, err := c.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, opts.MaxSize, st.DirtyBytes)

	// Reads still work, served from memory.
	id := BlockID{Store: "s", Key: "read.bin", Version: "v", Index: 100}
	h, err := c.OpenBlock(ctx, id, countingFetch(id, bs, &calls, 0))
	require.NoError(t, err)
	require.False(t, h.Cached())
	require.NoError(t, h.Close())

	// Once uploaded, the data is evictable and writes go on.
	require.NoError(t, c.MarkClean(ctx, dirtyID(0)))
	require.NoError(t, c.WriteBlock(ctx, dirtyID(8), blockData(dirtyID(8), bs)))
	_, err = c.ReadBlock(ctx, dirtyID(0), nil)
	require.ErrorIs(t, err, ErrNotCached, "the cleaned block made room")
}

func TestCrashCorruptBlockRefetched(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	c, err := Open(opts)
	require.NoError(t, err)
	bs := int(opts.BlockSize)
	good := BlockID{Store: "s", Key: "k", Version: "v", Index: 0}
	bad := BlockID{Store: "s", Key: "k", Version: "v", Index: 1}
	var calls atomic.Int64
	for _, id := range []BlockID{good, bad} {
		_, err := c.ReadBlock(ctx, id, countingFetch(id, bs, &calls, 0))
		require.NoError(t, err)
	}
	rec, found, err := c.lookup(ctx, bad.key())
	require.NoError(t, err)
	require.True(t, found)
	badPath := c.blockPath(bad, rec.nonce)
	crash(t, c)

	// Behind the index's back: flip a byte (same size) and leave an orphan.
	corruptFile(t, badPath)
	orphan := filepath.Join(opts.Dir, blocksDir, "00", "11", "0011deadbeef-0-1")
	require.NoError(t, os.MkdirAll(filepath.Dir(orphan), 0o700))
	require.NoError(t, os.WriteFile(orphan, []byte("junk"), 0o600))

	c = openTest(t, opts)
	require.True(t, c.Unclean())
	calls.Store(0)
	b, err := c.ReadBlock(ctx, bad, countingFetch(bad, bs, &calls, 0))
	require.NoError(t, err)
	require.Equal(t, blockData(bad, bs), b)
	require.Equal(t, int64(1), calls.Load(), "CRC mismatch detected on first read and refetched")
	b, err = c.ReadBlock(ctx, good, countingFetch(good, bs, &calls, 0))
	require.NoError(t, err)
	require.Equal(t, blockData(good, bs), b)
	require.Equal(t, int64(1), calls.Load(), "intact block verified, not refetched")
	require.Eventually(t, func() bool { return !fileExists(orphan) }, 5*time.Second, 10*time.Millisecond,
		"orphan swept in the background after an unclean start")

	// Clean restart: verified blocks are trusted, no rescan.
	require.NoError(t, c.Close())
	c = openTest(t, opts)
	require.False(t, c.Unclean())
	b, err = c.ReadBlock(ctx, good, nil)
	require.NoError(t, err)
	require.Equal(t, blockData(good, bs), b)
}

func TestVerifyReportsOrphansAndMismatches(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	c := openTest(t, opts)
	bs := int(opts.BlockSize)
	var calls atomic.Int64
	var ids []BlockID
	for i := range 4 {
		id := BlockID{Store: "s", Key: "k", Version: "v", Index: int64(i)}
		ids = append(ids, id)
		_, err := c.ReadBlock(ctx, id, countingFetch(id, bs, &calls, 0))
		require.NoError(t, err)
	}
	dirty := BlockID{Store: "s", Key: "d", Version: "local"}
	require.NoError(t, c.WriteBlock(ctx, dirty, []byte("precious")))
	path := func(id BlockID) string {
		rec, _, err := c.lookup(ctx, id.key())
		require.NoError(t, err)
		return c.blockPath(id, rec.nonce)
	}
	corruptFile(t, path(ids[0]))
	require.NoError(t, os.Truncate(path(ids[1]), 10))
	require.NoError(t, os.Remove(path(ids[2])))
	corruptFile(t, path(dirty))
	orphan := filepath.Join(opts.Dir, blocksDir, "ab", "cd", "abcdef-0-9")
	require.NoError(t, os.MkdirAll(filepath.Dir(orphan), 0o700))
	require.NoError(t, os.WriteFile(orphan, []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(opts.Dir, blocksDir, "ab", ".tmp-123"), []byte("x"), 0o600))

	rep, err := c.Verify(ctx)
	require.NoError(t, err)
	require.False(t, rep.OK())
	require.ElementsMatch(t, []BlockID{ids[0], dirty}, rep.CRCMismatch)
	require.Equal(t, []BlockID{ids[1]}, rep.SizeMismatch)
	require.Equal(t, []BlockID{ids[2]}, rep.Missing)
	require.Equal(t, []BlockID{dirty}, rep.DirtyDamaged)
	require.Equal(t, 3, rep.Dropped)
	require.Equal(t, []string{filepath.Join(blocksDir, "ab", "cd", "abcdef-0-9")}, rep.OrphanFiles)
	require.Equal(t, 1, rep.TempFiles)
	require.Equal(t, 5, rep.Blocks)

	// The dirty block is kept (it is the only copy) and still reported.
	rep, err = c.Verify(ctx)
	require.NoError(t, err)
	require.Equal(t, []BlockID{dirty}, rep.DirtyDamaged)
	require.NoError(t, c.DeleteBlock(ctx, dirty))
	rep, err = c.Verify(ctx)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep)
	require.Equal(t, 1, rep.Blocks)
}

func corruptFile(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(p, b, 0o600))
}

// TestOpenBlockFastAnswersBeforeStore holds the cache's disk side (the
// room-making lock every store takes) while two readers open a cold block
// with OpenBlockFast: both are answered from memory by one fetch, the block
// is not on disk yet, and once the store is let go it is, so a later open
// reads it from disk without fetching.
func TestOpenBlockFastAnswersBeforeStore(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	opts.RecentMemory = -1 // the stored block is read from disk, not kept in memory
	c := openTest(t, opts)
	id := BlockID{Store: "s", Key: "data.bin", Version: `"v1"`, Index: 0}
	var calls atomic.Int64
	fetch := countingFetch(id, int(opts.BlockSize), &calls, 0)
	want := blockData(id, int(opts.BlockSize))

	c.evictMu.Lock() // the store waits here
	for i := 0; i < 2; i++ {
		h, err := c.OpenBlockFast(ctx, id, fetch)
		require.NoError(t, err)
		require.False(t, h.Cached(), "answered from memory while the store waits")
		got := make([]byte, len(want))
		n, err := h.ReadAt(got, 0)
		require.NoError(t, err)
		require.Equal(t, len(want), n)
		require.Equal(t, want, got)
		require.NoError(t, h.Close())
	}
	require.Equal(t, int64(1), calls.Load(), "the second reader shares the flight")
	_, err := c.ReadBlock(ctx, id, nil)
	require.ErrorIs(t, err, ErrNotCached, "not stored yet")
	c.evictMu.Unlock()

	c.flightsWG.Wait()
	h, err := c.OpenBlockFast(ctx, id, fetch)
	require.NoError(t, err)
	defer h.Close()
	require.True(t, h.Cached(), "stored once the disk side was let go")
	b, err := h.Bytes()
	require.NoError(t, err)
	require.Equal(t, want, b)
	require.Equal(t, int64(1), calls.Load())
	require.NoError(t, c.checkInvariants())
}

// A handle reading a block from memory keeps its bytes after the flight
// has stored them: the buffer goes back to the pool only once the handle
// is closed, so later fetches filling pooled buffers never change it.
func TestOpenBlockFastBufferOutlivesFlight(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	opts.RecentMemory = -1 // the buffer is free to recycle once h is closed
	c := openTest(t, opts)
	bs := int(opts.BlockSize)
	id := BlockID{Store: "s", Key: "a", Version: "v", Index: 0}
	want := blockData(id, bs)
	c.evictMu.Lock()
	h, err := c.OpenBlockFast(ctx, id, func(context.Context) ([]byte, error) {
		b := c.BlockBuffer(bs)
		copy(b, want)
		return b, nil
	})
	require.NoError(t, err)
	require.False(t, h.Cached())
	c.evictMu.Unlock()
	c.flightsWG.Wait() // stored; h still reads the flight's buffer
	for i := range 4 {
		other := BlockID{Store: "s", Key: "b", Version: "v", Index: int64(i)}
		h2, err := c.OpenBlockFast(ctx, other, func(context.Context) ([]byte, error) {
			b := c.BlockBuffer(bs)
			for j := range b {
				b[j] = 0xff
			}
			return b, nil
		})
		require.NoError(t, err)
		require.NoError(t, h2.Close())
		c.flightsWG.Wait()
	}
	got := make([]byte, bs)
	n, err := h.ReadAt(got, 0)
	require.NoError(t, err)
	require.Equal(t, bs, n)
	require.Equal(t, want, got, "the held bytes did not change")
	require.NoError(t, h.Close())
	b, err := c.ReadBlock(ctx, id, nil)
	require.NoError(t, err)
	require.Equal(t, want, b, "stored intact")
}
