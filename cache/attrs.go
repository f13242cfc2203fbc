package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/byobfs/byob/providers"
	bolt "go.etcd.io/bbolt"
)

// Attr is what the index remembers of one object (or of its absence).
type Attr struct {
	// Missing marks a negative entry: the object was looked up and absent.
	Missing bool   `json:"missing,omitempty"`
	Size    int64  `json:"size"`
	Version string `json:"version,omitempty"`
	// ModTime is the server's modification time.
	ModTime time.Time `json:"mod_time"`
	// Mtime is the file time from the mtime metadata; zero when absent.
	Mtime time.Time `json:"mtime"`
	// FetchedAt is when these attributes were read from the server (TTLs).
	FetchedAt time.Time `json:"fetched_at"`
	// CRC32C of the whole object, when HasCRC32C.
	CRC32C    uint32 `json:"crc32c,omitempty"`
	HasCRC32C bool   `json:"has_crc32c,omitempty"`
	// MD5 of the whole object (16 bytes) or nil.
	MD5 []byte `json:"md5,omitempty"`
}

// AttrFromInfo builds the Attr of info as fetched at fetchedAt.
func AttrFromInfo(info providers.ObjectInfo, fetchedAt time.Time) Attr {
	a := Attr{Size: info.Size, Version: info.Version, ModTime: info.ModTime, FetchedAt: fetchedAt}
	if t, ok := providers.ParseMtime(info.Metadata[providers.MetaMtime]); ok {
		a.Mtime = t
	}
	if c, ok := info.Checksum(providers.ChecksumCRC32C); ok {
		a.CRC32C, a.HasCRC32C = c.CRC32CValue()
	}
	if m, ok := info.MD5(); ok {
		a.MD5 = m
	}
	return a
}

// KeyAttr is one item of PutAttrs.
type KeyAttr struct {
	Key  string
	Attr Attr
}

const (
	attrFormat      = 1
	attrFlagMissing = 1 << 0
	attrFlagCRC     = 1 << 1
	attrFlagMD5     = 1 << 2
)

func attrKey(store, key string) []byte {
	return append(appendEsc(make([]byte, 0, len(store)+len(key)+2), store), key...)
}

func encodeAttr(a Attr) []byte {
	e := enc{b: make([]byte, 0, 48+len(a.Version))}
	e.byte1(attrFormat)
	var fl byte
	if a.Missing {
		fl |= attrFlagMissing
	}
	if a.HasCRC32C {
		fl |= attrFlagCRC
	}
	if len(a.MD5) > 0 {
		fl |= attrFlagMD5
	}
	e.byte1(fl)
	e.varint(a.Size)
	e.str(a.Version)
	e.time(a.ModTime)
	e.time(a.Mtime)
	e.time(a.FetchedAt)
	if a.HasCRC32C {
		e.u32(a.CRC32C)
	}
	if len(a.MD5) > 0 {
		e.bytes(a.MD5)
	}
	return e.b
}

func decodeAttr(b []byte) (Attr, error) {
	d := dec{b: b}
	d.version(attrFormat, "attr")
	fl := d.byte1()
	a := Attr{Missing: fl&attrFlagMissing != 0, HasCRC32C: fl&attrFlagCRC != 0}
	a.Size = d.varint()
	a.Version = d.str()
	a.ModTime = d.time()
	a.Mtime = d.time()
	a.FetchedAt = d.time()
	if a.HasCRC32C {
		a.CRC32C = d.u32()
	}
	if fl&attrFlagMD5 != 0 {
		a.MD5 = d.bytes()
	}
	return a, d.err
}

// PutAttr records the attributes of (store, key).
func (c *Cache) PutAttr(ctx context.Context, store, key string, a Attr) error {
	return c.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bktAttrs).Put(attrKey(store, key), encodeAttr(a))
	})
}

// PutAttrs records many attributes of one store in one transaction (a
// listing's worth). Sorted keys insert fastest.
func (c *Cache) PutAttrs(ctx context.Context, store string, items []KeyAttr) error {
	return c.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktAttrs)
		b.FillPercent = 0.9
		for _, it := range items {
			if err := b.Put(attrKey(store, it.Key), encodeAttr(it.Attr)); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetAttr returns the attributes of (store, key); ok is false when none are recorded.
func (c *Cache) GetAttr(ctx context.Context, store, key string) (a Attr, ok bool, err error) {
	err = c.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bktAttrs).Get(attrKey(store, key))
		if v == nil {
			return nil
		}
		ok = true
		a, err = decodeAttr(v)
		if err != nil {
			return fmt.Errorf("attr %q: %w", key, err)
		}
		return nil
	})
	return a, ok, err
}

// DeleteAttr forgets the attributes of (store, key).
func (c *Cache) DeleteAttr(ctx context.Context, store, key string) error {
	return c.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bktAttrs).Delete(attrKey(store, key))
	})
}

// RemoteMeta is what sync learned about one version of a remote object
// that the server does not tell: its file mtime, its MD5 (for multipart
// ETags), its CRC32C. It is keyed by key + Version, so a new version
// never inherits an old version's facts.
type RemoteMeta struct {
	Mtime     time.Time `json:"mtime"`
	MD5       []byte    `json:"md5,omitempty"`
	CRC32C    uint32    `json:"crc32c,omitempty"`
	HasCRC32C bool      `json:"has_crc32c,omitempty"`
	Updated   time.Time `json:"updated"`
}

const remoteFormat = 1

func remoteKey(store, key, version string) []byte {
	return append(appendEsc(appendEsc(nil, store), key), version...)
}

func encodeRemote(m RemoteMeta) []byte {
	e := enc{}
	e.byte1(remoteFormat)
	e.time(m.Mtime)
	e.bytes(m.MD5)
	var fl byte
	if m.HasCRC32C {
		fl = 1
	}
	e.byte1(fl)
	e.u32(m.CRC32C)
	e.time(m.Updated)
	return e.b
}

func decodeRemote(b []byte) (RemoteMeta, error) {
	d := dec{b: b}
	d.version(remoteFormat, "remotemeta")
	m := RemoteMeta{Mtime: d.time(), MD5: d.bytes()}
	m.HasCRC32C = d.byte1() == 1
	m.CRC32C = d.u32()
	m.Updated = d.time()
	return m, d.err
}

// PutRemoteMeta records m for (store, key, version) and forgets what was
// recorded for the key's other versions.
func (c *Cache) PutRemoteMeta(ctx context.Context, store, key, version string, m RemoteMeta) error {
	return c.batch(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktRemoteMeta)
		if err := deletePrefix(b, appendEsc(appendEsc(nil, store), key)); err != nil {
			return err
		}
		return b.Put(remoteKey(store, key, version), encodeRemote(m))
	})
}

// RemoteMetaRecord is one item of PutRemoteMetas.
type RemoteMetaRecord struct {
	Store, Key, Version string
	Meta                RemoteMeta
}

// PutRemoteMetas is PutRemoteMeta for each record, in order, in one
// commit: a sync remembering thousands of objects pays one fdatasync.
func (c *Cache) PutRemoteMetas(ctx context.Context, recs []RemoteMetaRecord) error {
	if len(recs) == 0 {
		return nil
	}
	return c.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktRemoteMeta)
		for _, r := range recs {
			if err := deletePrefix(b, appendEsc(appendEsc(nil, r.Store), r.Key)); err != nil {
				return err
			}
			if err := b.Put(remoteKey(r.Store, r.Key, r.Version), encodeRemote(r.Meta)); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetRemoteMeta returns what was recorded for (store, key, version).
func (c *Cache) GetRemoteMeta(ctx context.Context, store, key, version string) (m RemoteMeta, ok bool, err error) {
	err = c.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bktRemoteMeta).Get(remoteKey(store, key, version))
		if v == nil {
			return nil
		}
		ok = true
		m, err = decodeRemote(v)
		return err
	})
	return m, ok, err
}

// deletePrefix deletes every key of b starting with prefix.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	cur := b.Cursor()
	for k, _ := cur.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = cur.Seek(prefix) {
		if err := cur.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func hasPrefix(k, p []byte) bool { return len(k) >= len(p) && string(k[:len(p)]) == string(p) }
