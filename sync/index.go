package sync

import (
	gosync "sync"
	"time"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

// RemoteAttrs is what a listing does not carry and a compare may need: the
// file modification time (the rclone "mtime" metadata, or the server time
// when the object has none) and whole-object checksums that are real
// content hashes (never an ETag that is not known to be an MD5).
type RemoteAttrs struct {
	Mtime     time.Time
	Checksums []providers.Checksum
}

// Index remembers, across runs, what costs a request or a read to learn.
// The lead backs it with the cache package's bbolt index; MemIndex serves
// tests and single runs. Implementations are safe for concurrent use; a
// failing index just forgets (the sync then asks the store again).
type Index interface {
	// LookupRemote returns the attributes remembered for key at version in
	// the store named store.
	LookupRemote(store, key, version string) (RemoteAttrs, bool)
	// RememberRemote records them (after an upload, a copy, a download or a HEAD).
	RememberRemote(store, key, version string, a RemoteAttrs)
	// LookupHash returns the checksum of algorithm alg of the local file
	// with fingerprint fp (path, size, mtime, inode).
	LookupHash(fp transfer.SourceFingerprint, alg providers.ChecksumAlgorithm) (providers.Checksum, bool)
	// RememberHash records a local file's checksum.
	RememberHash(fp transfer.SourceFingerprint, sum providers.Checksum)
}

// MemIndex is an in-memory Index. It grows with the objects it is told
// about; it is for tests and for runs without a cache directory.
type MemIndex struct {
	mu gosync.Mutex
	// remote maps store + "\x00" + key + "\x00" + version. GUARDED_BY(mu).
	remote map[string]RemoteAttrs
	// hashes maps a fingerprint and algorithm. GUARDED_BY(mu).
	hashes map[hashKey]providers.Checksum
}

type hashKey struct {
	fp  transfer.SourceFingerprint
	alg providers.ChecksumAlgorithm
}

var _ Index = (*MemIndex)(nil)

// NewMemIndex returns an empty MemIndex.
func NewMemIndex() *MemIndex {
	return &MemIndex{remote: map[string]RemoteAttrs{}, hashes: map[hashKey]providers.Checksum{}}
}

func remoteKey(store, key, version string) string { return store + "\x00" + key + "\x00" + version }

// LookupRemote implements Index.
func (m *MemIndex) LookupRemote(store, key, version string) (RemoteAttrs, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.remote[remoteKey(store, key, version)]
	return a, ok
}

// RememberRemote implements Index.
func (m *MemIndex) RememberRemote(store, key, version string, a RemoteAttrs) {
	if version == "" {
		return // nothing to tie the attributes to
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.remote[remoteKey(store, key, version)] = a
}

// LookupHash implements Index.
func (m *MemIndex) LookupHash(fp transfer.SourceFingerprint, alg providers.ChecksumAlgorithm) (providers.Checksum, bool) {
	fp.ModTime = fp.ModTime.UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.hashes[hashKey{fp, alg}]
	return c, ok
}

// RememberHash implements Index.
func (m *MemIndex) RememberHash(fp transfer.SourceFingerprint, sum providers.Checksum) {
	fp.ModTime = fp.ModTime.UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hashes[hashKey{fp, sum.Algorithm}] = sum
}

// Len returns how many remote entries and hashes are remembered.
func (m *MemIndex) Len() (remote, hashes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.remote), len(m.hashes)
}

// noIndex remembers nothing.
type noIndex struct{}

func (noIndex) LookupRemote(string, string, string) (RemoteAttrs, bool) { return RemoteAttrs{}, false }
func (noIndex) RememberRemote(string, string, string, RemoteAttrs)      {}
func (noIndex) LookupHash(transfer.SourceFingerprint, providers.ChecksumAlgorithm) (providers.Checksum, bool) {
	return providers.Checksum{}, false
}
func (noIndex) RememberHash(transfer.SourceFingerprint, providers.Checksum) {}

// contentSums keeps the checksums of info that are content hashes: those
// the server reported (Checksums) and the md5chksum metadata. The ETag is
// never used.
func contentSums(info providers.ObjectInfo) []providers.Checksum {
	var out []providers.Checksum
	if c, ok := info.Checksum(providers.ChecksumCRC32C); ok {
		out = append(out, c)
	}
	if md5, ok := info.MD5(); ok {
		out = append(out, providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: md5})
	}
	return out
}
