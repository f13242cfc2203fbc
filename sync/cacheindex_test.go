package sync

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

func openSyncCache(t *testing.T, dir string) *cache.Cache {
	t.Helper()
	opts := cache.DefaultOptions(dir)
	opts.NoSync = true
	c, err := cache.Open(opts)
	require.NoError(t, err)
	return c
}

// The write-behind index answers from records not yet committed, and
// close commits them: a new process sees them.
func TestCacheIndexWriteBehind(t *testing.T) {
	dir := t.TempDir()
	c := openSyncCache(t, dir)
	x := NewCacheIndex(c)
	mt := time.Unix(1700000000, 42).UTC()
	crc := providers.CRC32C(0xdeadbeef)
	md5 := providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: []byte("0123456789abcdef")}

	x.RememberRemote("s", "k", "v1", RemoteAttrs{Mtime: mt, Checksums: []providers.Checksum{crc}})
	got, ok := x.LookupRemote("s", "k", "v1")
	require.True(t, ok, "a pending record is seen")
	require.True(t, got.Mtime.Equal(mt))
	require.Equal(t, []providers.Checksum{crc}, got.Checksums)
	_, ok = x.LookupRemote("s", "k", "v0")
	require.False(t, ok, "another version is not")

	fp := transfer.SourceFingerprint{Path: "/d/f", Size: 3, ModTime: mt, Inode: 9}
	x.RememberHash(fp, crc)
	x.RememberHash(fp, md5) // both algorithms are kept
	h, ok := x.LookupHash(fp, providers.ChecksumCRC32C)
	require.True(t, ok)
	require.True(t, h.Equal(crc))
	changed := fp
	changed.Size = 4
	_, ok = x.LookupHash(changed, providers.ChecksumCRC32C)
	require.False(t, ok, "a changed file is not known")

	x.flush() // committed records are read from the cache
	h, ok = x.LookupHash(fp, providers.ChecksumMD5)
	require.True(t, ok)
	require.True(t, h.Equal(md5))

	x.RememberRemote("s", "k", "v2", RemoteAttrs{Mtime: mt.Add(time.Second)})
	x.Close()
	require.NoError(t, c.Close())

	c = openSyncCache(t, dir)
	defer c.Close()
	y := NewCacheIndex(c)
	defer y.Close()
	_, ok = y.LookupRemote("s", "k", "v1")
	require.False(t, ok, "v2 replaced v1")
	got, ok = y.LookupRemote("s", "k", "v2")
	require.True(t, ok, "close committed the pending record")
	require.True(t, got.Mtime.Equal(mt.Add(time.Second)))
	h, ok = y.LookupHash(fp, providers.ChecksumCRC32C)
	require.True(t, ok)
	require.True(t, h.Equal(crc))
}

// Past indexMaxPending records a producer commits them itself, so memory
// stays bounded when the flusher is behind.
func TestCacheIndexBackPressure(t *testing.T) {
	c := openSyncCache(t, t.TempDir())
	defer c.Close()
	x := NewCacheIndex(c)
	defer x.Close()
	for i := range indexMaxPending + 10 {
		x.RememberRemote("s", fmt.Sprintf("k%06d", i), "v", RemoteAttrs{Mtime: time.Unix(int64(i), 0)})
		x.mu.Lock()
		n := x.pending.len()
		x.mu.Unlock()
		require.Less(t, n, indexMaxPending+1)
	}
}
