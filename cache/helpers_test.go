package cache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testOptions are small, unsynced options in a fresh directory.
func testOptions(t *testing.T) Options {
	t.Helper()
	return Options{
		Dir:         filepath.Join(t.TempDir(), "cache"),
		BlockSize:   64 << 10,
		MaxSize:     64 << 20,
		MinFree:     -1,
		LockTimeout: 300 * time.Millisecond,
		NoSync:      true,
	}
}

// openTest opens a cache that is checked and closed when the test ends.
func openTest(t *testing.T, opts Options) *Cache {
	t.Helper()
	c, err := Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if c.isClosed() {
			return
		}
		require.NoError(t, c.checkInvariants())
		require.NoError(t, c.Close())
	})
	return c
}

// crash ends c as a killed process would: no access flush, no clean marker.
func crash(t *testing.T, c *Cache) {
	t.Helper()
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stop()
	c.bg.Wait()
	require.NoError(t, c.db.Close())
}

// blockData is deterministic content for block id.
func blockData(id BlockID, size int) []byte {
	b := make([]byte, size)
	seed := fmt.Sprintf("%s/%s@%s#%d", id.Store, id.Key, id.Version, id.Index)
	for i := range b {
		b[i] = seed[i%len(seed)] ^ byte(i/len(seed))
	}
	return b
}

// countingFetch returns a fetch of id's data that counts its calls.
func countingFetch(id BlockID, size int, calls *atomic.Int64, delay time.Duration) FetchFunc {
	return func(ctx context.Context) ([]byte, error) {
		calls.Add(1)
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return blockData(id, size), nil
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
