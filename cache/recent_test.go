package cache

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/byobfs/byob/transfer"
)

// fetchFast opens id through OpenBlockFast and returns the handle's bytes
// and whether it read from disk (callers wait for the flight to be stored,
// c.flightsWG, themselves).
func fetchFast(t *testing.T, c *Cache, id BlockID, fetch FetchFunc) ([]byte, bool) {
	t.Helper()
	h, err := c.OpenBlockFast(context.Background(), id, fetch)
	require.NoError(t, err)
	defer h.Close()
	b, err := h.Bytes()
	require.NoError(t, err)
	return b, h.Cached()
}

// A block fetched a moment ago is served from memory after it is stored:
// no second fetch and no read from disk; the disk copy is there too.
func TestRecentServesStoredBlock(t *testing.T) {
	opts := testOptions(t)
	c := openTest(t, opts)
	id := BlockID{Store: "s", Key: "k", Version: "v", Index: 0}
	var calls atomic.Int64
	fetch := countingFetch(id, int(opts.BlockSize), &calls, 0)
	want := blockData(id, int(opts.BlockSize))

	b, _ := fetchFast(t, c, id, fetch)
	require.Equal(t, want, b)
	c.flightsWG.Wait()
	b, cached := fetchFast(t, c, id, fetch)
	require.Equal(t, want, b)
	require.False(t, cached, "served from the recent tier")
	require.Equal(t, int64(1), calls.Load())

	h, err := c.OpenBlock(context.Background(), id, nil)
	require.NoError(t, err, "stored on disk as well")
	require.True(t, h.Cached())
	require.NoError(t, h.Close())
}

// The tier holds at most RecentMemory bytes, oldest out first; the blocks
// that left it are read from disk.
func TestRecentBounded(t *testing.T) {
	opts := testOptions(t)
	opts.RecentMemory = 2 * opts.BlockSize
	c := openTest(t, opts)
	var calls atomic.Int64
	ids := make([]BlockID, 4)
	for i := range ids {
		ids[i] = BlockID{Store: "s", Key: "k", Version: "v", Index: int64(i)}
		fetchFast(t, c, ids[i], countingFetch(ids[i], int(opts.BlockSize), &calls, 0))
		c.flightsWG.Wait()
	}
	c.mu.Lock()
	require.Equal(t, 2*opts.BlockSize, c.recentBytes)
	require.Len(t, c.recent, 2)
	c.mu.Unlock()
	for i, id := range ids {
		b, cached := fetchFast(t, c, id, nil)
		require.Equal(t, blockData(id, int(opts.BlockSize)), b)
		require.Equal(t, i < 2, cached, "block %d: the two oldest left the tier", i)
	}
	require.Equal(t, int64(4), calls.Load())

	// Every byte of FetchMemory is back once the cache is closed: the
	// blocks that left the tier, and the two it held.
	require.NoError(t, c.checkInvariants())
	require.NoError(t, c.Close())
	require.Positive(t, c.opts.FetchMemory)
	require.True(t, c.fetchMem.TryAcquire(c.opts.FetchMemory), "FetchMemory leaked")
}

// An idle tier empties itself, and gives the buffers back.
func TestRecentExpires(t *testing.T) {
	opts := testOptions(t)
	c := openTest(t, opts)
	c.recentTTL = 50 * time.Millisecond
	id := BlockID{Store: "s", Key: "k", Version: "v", Index: 0}
	var calls atomic.Int64
	fetchFast(t, c, id, countingFetch(id, int(opts.BlockSize), &calls, 0))
	c.flightsWG.Wait()
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.recent) == 0 && c.recentBytes == 0 && !c.recentArmed
	}, 5*time.Second, 10*time.Millisecond)
	_, cached := fetchFast(t, c, id, nil)
	require.True(t, cached, "read from disk once expired")
}

// A block written, deleted or dropped leaves the tier: a reader never gets
// the bytes the tier held before.
func TestRecentForgetsWritesAndDrops(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	c := openTest(t, opts)
	id := BlockID{Store: "s", Key: "k", Version: "v", Index: 0}
	var calls atomic.Int64
	fetch := countingFetch(id, int(opts.BlockSize), &calls, 0)
	fetchFast(t, c, id, fetch)
	c.flightsWG.Wait()

	other := make([]byte, opts.BlockSize)
	for i := range other {
		other[i] = 0x5a
	}
	require.NoError(t, c.WriteBlock(ctx, id, other))
	b, cached := fetchFast(t, c, id, fetch)
	require.Equal(t, other, b, "the written bytes, not the tier's")
	require.True(t, cached)
	require.NoError(t, c.MarkClean(ctx, id))

	require.NoError(t, c.DeleteBlock(ctx, id))
	fetchFast(t, c, id, fetch) // fetched again, into the tier
	c.flightsWG.Wait()
	require.Equal(t, int64(2), calls.Load())
	_, err := c.DropObject(ctx, "s", "k")
	require.NoError(t, err)
	c.mu.Lock()
	require.Empty(t, c.recent, "DropObject empties the tier of the object")
	c.mu.Unlock()
	fetchFast(t, c, id, fetch)
	c.flightsWG.Wait()
	require.Equal(t, int64(3), calls.Load())
}

// A handle opened from the tier keeps its bytes after the block left the
// tier and its buffer could be reused.
func TestRecentHandleOutlivesTier(t *testing.T) {
	opts := testOptions(t)
	opts.RecentMemory = opts.BlockSize
	c := openTest(t, opts)
	bs := int(opts.BlockSize)
	id := BlockID{Store: "s", Key: "a", Version: "v", Index: 0}
	want := blockData(id, bs)
	fetchFast(t, c, id, func(context.Context) ([]byte, error) {
		b := c.BlockBuffer(bs)
		copy(b, want)
		return b, nil
	})
	c.flightsWG.Wait()
	h, err := c.OpenBlockFast(context.Background(), id, nil)
	require.NoError(t, err)
	require.False(t, h.Cached())
	for i := range 4 { // push a out of the tier; pooled buffers get refilled
		o := BlockID{Store: "s", Key: "b", Version: "v", Index: int64(i)}
		fetchFast(t, c, o, func(context.Context) ([]byte, error) {
			b := c.BlockBuffer(bs)
			for j := range b {
				b[j] = 0xff
			}
			return b, nil
		})
		c.flightsWG.Wait()
	}
	c.mu.Lock()
	require.False(t, h.fl.recent, "a left the tier")
	require.NotNil(t, h.fl.data, "its buffer is not recycled while a handle reads it")
	c.mu.Unlock()
	got := make([]byte, bs)
	_, err = h.ReadAt(got, 0)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.NoError(t, h.Close())
	c.mu.Lock()
	require.Nil(t, h.fl.data, "recycled once the last handle closed")
	c.mu.Unlock()
}

// Block files are written with O_DIRECT when the buffer allows it, and
// through the page cache otherwise; both read back the same bytes.
func TestWriteDataDirectAndBuffered(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 3*transfer.DirectAlign+1)
	for i := range big {
		big[i] = byte(i * 31)
	}
	aligned := transfer.AlignedBuffer(2 * transfer.DirectAlign)
	copy(aligned, big)
	cases := []struct {
		name   string
		data   []byte
		direct bool
	}{
		{"aligned", aligned, true},
		{"misaligned", big[1 : 1+2*transfer.DirectAlign], false},
		{"partial length", big, false},
		{"one byte", big[:1], false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var noDirect atomic.Bool
			f, err := writeData(dir, c.data, &noDirect)
			require.NoError(t, err)
			fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
			require.NoError(t, err)
			if !noDirect.Load() { // the temp dir's file system took O_DIRECT
				require.Equal(t, c.direct, fl&unix.O_DIRECT != 0, "written with O_DIRECT")
			}
			name := f.Name()
			require.NoError(t, f.Close())
			got, err := os.ReadFile(name)
			require.NoError(t, err)
			require.Equal(t, c.data, got)
		})
	}
}
