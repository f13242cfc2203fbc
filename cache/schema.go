package cache

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the index layout this package reads and writes.
const SchemaVersion = 2

// Bucket names (see doc.go for keys and values).
var (
	bktMeta        = []byte("meta")
	bktAttrs       = []byte("attrs")
	bktRemoteMeta  = []byte("remotemeta")
	bktListings    = []byte("listings")
	bktListPages   = []byte("listpages")
	bktBlocks      = []byte("blocks")
	bktAtime       = []byte("atime")
	bktUploads     = []byte("uploads")
	bktUploadParts = []byte("uploadparts")
	bktWriteBack   = []byte("writeback")
	bktFingerprint = []byte("fingerprints")
)

// allBuckets lists the buckets of SchemaVersion.
func allBuckets() [][]byte {
	return [][]byte{bktMeta, bktAttrs, bktRemoteMeta, bktListings, bktListPages, bktBlocks,
		bktAtime, bktUploads, bktUploadParts, bktWriteBack, bktFingerprint}
}

// Meta keys.
var (
	metaSchema      = []byte("schema")
	metaEpoch       = []byte("epoch")
	metaTrusted     = []byte("trusted")
	metaBytes       = []byte("bytes")
	metaDirty       = []byte("dirty")
	metaBlocks      = []byte("blocks")
	metaDirtyBlocks = []byte("dirtyblocks")
)

func getU64(b *bolt.Bucket, k []byte) uint64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putU64(b *bolt.Bucket, k []byte, v uint64) error { return b.Put(k, u64(v)) }

// addU64 adds delta (which may be negative) to a meta counter.
func addU64(b *bolt.Bucket, k []byte, delta int64) error {
	if delta == 0 {
		return nil
	}
	return putU64(b, k, uint64(int64(getU64(b, k))+delta))
}

// migration brings the index from version from to from+1, inside the
// caller's write transaction.
type migration struct {
	from int
	desc string
	fn   func(tx *bolt.Tx) error
}

// migrations run in order; each takes the index one version forward.
func migrations() []migration {
	return []migration{
		{from: 1, desc: "attributes: JSON in bucket attr -> binary in bucket attrs", fn: migrate1to2},
	}
}

// attrV1 is the version-1 attribute record (JSON).
type attrV1 struct {
	Size      int64     `json:"size"`
	Version   string    `json:"version"`
	ModTime   time.Time `json:"mod_time"`
	Mtime     time.Time `json:"mtime"`
	FetchedAt time.Time `json:"fetched_at"`
}

// bktAttrV1 is the version-1 attribute bucket, keyed store NUL key.
var bktAttrV1 = []byte("attr")

func migrate1to2(tx *bolt.Tx) error {
	old := tx.Bucket(bktAttrV1)
	nb, err := tx.CreateBucketIfNotExists(bktAttrs)
	if err != nil {
		return err
	}
	if old != nil {
		err := old.ForEach(func(k, v []byte) error {
			var a attrV1
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("%w: v1 attr %q: %v", ErrCorrupt, k, err)
			}
			store, key, ok := cutV1Key(k)
			if !ok {
				return fmt.Errorf("%w: v1 attr key %q", ErrCorrupt, k)
			}
			return nb.Put(attrKey(store, key), encodeAttr(Attr{Size: a.Size, Version: a.Version,
				ModTime: a.ModTime, Mtime: a.Mtime, FetchedAt: a.FetchedAt}))
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(bktAttrV1); err != nil {
			return err
		}
	}
	return nil
}

func cutV1Key(k []byte) (store, key string, ok bool) {
	for i, c := range k {
		if c == 0 {
			return string(k[:i]), string(k[i+1:]), true
		}
	}
	return "", "", false
}

// initSchema creates or migrates the schema inside tx. It returns the
// version found (0 for a new index).
func initSchema(tx *bolt.Tx) (found int, err error) {
	meta := tx.Bucket(bktMeta)
	if meta == nil {
		for _, name := range allBuckets() {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return 0, err
			}
		}
		return 0, putSchema(tx.Bucket(bktMeta), SchemaVersion)
	}
	v := meta.Get(metaSchema)
	if len(v) != 4 {
		return 0, fmt.Errorf("%w: meta schema record %x", ErrSchema, v)
	}
	found = int(binary.BigEndian.Uint32(v))
	if found > SchemaVersion || found < 1 {
		return found, fmt.Errorf("%w: index has version %d, this byob reads %d", ErrSchema, found, SchemaVersion)
	}
	for _, m := range migrations() {
		if m.from < found {
			continue
		}
		if err := m.fn(tx); err != nil {
			return found, fmt.Errorf("migrating cache schema %d -> %d (%s): %w", m.from, m.from+1, m.desc, err)
		}
	}
	for _, name := range allBuckets() {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return found, err
		}
	}
	return found, putSchema(tx.Bucket(bktMeta), SchemaVersion)
}

func putSchema(meta *bolt.Bucket, v int) error {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, uint32(v))
	return meta.Put(metaSchema, b)
}
