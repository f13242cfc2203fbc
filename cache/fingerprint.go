package cache

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Fingerprint is what sync knows of a local file's content, valid while
// its path, size, mtime and inode stay the same: so an unchanged file is
// never hashed twice.
type Fingerprint struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	Inode   uint64    `json:"inode"`
	// MD5 of the content (16 bytes) or nil.
	MD5       []byte    `json:"md5,omitempty"`
	CRC32C    uint32    `json:"crc32c,omitempty"`
	HasCRC32C bool      `json:"has_crc32c,omitempty"`
	Hashed    time.Time `json:"hashed"`
}

const fingerprintFormat = 1

func encodeFingerprint(f Fingerprint) []byte {
	e := enc{}
	e.byte1(fingerprintFormat)
	e.varint(f.Size)
	e.time(f.ModTime)
	e.uvarint(f.Inode)
	e.bytes(f.MD5)
	var fl byte
	if f.HasCRC32C {
		fl = 1
	}
	e.byte1(fl)
	e.u32(f.CRC32C)
	e.time(f.Hashed)
	return e.b
}

func decodeFingerprint(path string, b []byte) (Fingerprint, error) {
	d := dec{b: b}
	d.version(fingerprintFormat, "fingerprint")
	f := Fingerprint{Path: path, Size: d.varint(), ModTime: d.time(), Inode: d.uvarint(), MD5: d.bytes()}
	f.HasCRC32C = d.byte1() == 1
	f.CRC32C = d.u32()
	f.Hashed = d.time()
	return f, d.err
}

// PutFingerprint records the checksums of the file f.Path as it is now.
func (c *Cache) PutFingerprint(ctx context.Context, f Fingerprint) error {
	return c.batch(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bktFingerprint).Put([]byte(f.Path), encodeFingerprint(f))
	})
}

// PutFingerprints is PutFingerprint for each of fs, in order, in one commit.
func (c *Cache) PutFingerprints(ctx context.Context, fs []Fingerprint) error {
	if len(fs) == 0 {
		return nil
	}
	return c.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktFingerprint)
		for _, f := range fs {
			if err := b.Put([]byte(f.Path), encodeFingerprint(f)); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetFingerprint returns the recorded checksums of path when they were
// recorded for the same size, mtime (to the nanosecond) and inode; ok is
// false otherwise (the file changed, or was never hashed).
func (c *Cache) GetFingerprint(ctx context.Context, path string, size int64, mtime time.Time, inode uint64) (f Fingerprint, ok bool, err error) {
	err = c.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bktFingerprint).Get([]byte(path))
		if v == nil {
			return nil
		}
		f, err = decodeFingerprint(path, v)
		if err != nil {
			return err
		}
		ok = f.Size == size && f.ModTime.Equal(mtime) && f.Inode == inode
		return nil
	})
	if !ok {
		f = Fingerprint{}
	}
	return f, ok, err
}

// DeleteFingerprint forgets path.
func (c *Cache) DeleteFingerprint(ctx context.Context, path string) error {
	return c.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bktFingerprint).Delete([]byte(path)) })
}
