package main

import (
	"context"
	"time"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/providers"
	bsync "github.com/byobfs/byob/sync"
)

// cacheIndex backs sync's Index with the bbolt cache index, so a no-op
// re-sync on the same node costs one listing per side. Failures are
// forgotten, as the Index contract allows: the sync then asks the store.
type cacheIndex struct {
	c *cache.Cache
}

var _ bsync.Index = cacheIndex{}

func (x cacheIndex) LookupRemote(store, key, version string) (bsync.RemoteAttrs, bool) {
	m, ok, err := x.c.GetRemoteMeta(context.Background(), store, key, version)
	if err != nil || !ok {
		return bsync.RemoteAttrs{}, false
	}
	a := bsync.RemoteAttrs{Mtime: m.Mtime}
	if len(m.MD5) == 16 {
		a.Checksums = append(a.Checksums, providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: m.MD5})
	}
	if m.HasCRC32C {
		a.Checksums = append(a.Checksums, providers.CRC32C(m.CRC32C))
	}
	return a, true
}

func (x cacheIndex) RememberRemote(store, key, version string, a bsync.RemoteAttrs) {
	m := cache.RemoteMeta{Mtime: a.Mtime, Updated: time.Now()}
	for _, c := range a.Checksums {
		switch c.Algorithm {
		case providers.ChecksumMD5:
			m.MD5 = c.Sum
		case providers.ChecksumCRC32C:
			m.CRC32C, m.HasCRC32C = c.CRC32CValue()
		}
	}
	_ = x.c.PutRemoteMeta(context.Background(), store, key, version, m)
}

func (x cacheIndex) LookupHash(fp providers.SourceFingerprint, alg providers.ChecksumAlgorithm) (providers.Checksum, bool) {
	f, ok, err := x.c.GetFingerprint(context.Background(), fp.Path, fp.Size, fp.ModTime, fp.Inode)
	if err != nil || !ok {
		return providers.Checksum{}, false
	}
	switch {
	case alg == providers.ChecksumMD5 && len(f.MD5) == 16:
		return providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: f.MD5}, true
	case alg == providers.ChecksumCRC32C && f.HasCRC32C:
		return providers.CRC32C(f.CRC32C), true
	}
	return providers.Checksum{}, false
}

func (x cacheIndex) RememberHash(fp providers.SourceFingerprint, sum providers.Checksum) {
	ctx := context.Background()
	f, ok, err := x.c.GetFingerprint(ctx, fp.Path, fp.Size, fp.ModTime, fp.Inode)
	if err != nil || !ok {
		f = cache.Fingerprint{Path: fp.Path, Size: fp.Size, ModTime: fp.ModTime, Inode: fp.Inode}
	}
	switch sum.Algorithm {
	case providers.ChecksumMD5:
		f.MD5 = sum.Sum
	case providers.ChecksumCRC32C:
		f.CRC32C, f.HasCRC32C = sum.CRC32CValue()
	}
	f.Hashed = time.Now()
	_ = x.c.PutFingerprint(ctx, f)
}
