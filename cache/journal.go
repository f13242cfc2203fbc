package cache

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

// The upload resume journal. Its method set is the one
// providers/transfer's journal interface requires. The header (everything
// but Parts) is JSON under esc(store) key; each part is a small binary
// record under esc(store) esc(key) number, so saving after each part
// rewrites only what changed, not the whole journal.

const partFormat = 1

func uploadKey(store, key string) []byte { return append(appendEsc(nil, store), key...) }

func uploadPartsPrefix(store, key string) []byte { return appendEsc(appendEsc(nil, store), key) }

func uploadPartKey(store, key string, n int) []byte {
	return binary.BigEndian.AppendUint32(uploadPartsPrefix(store, key), uint32(n))
}

func encodePart(p transfer.JournalPart) []byte {
	e := enc{}
	e.byte1(partFormat)
	e.uvarint(uint64(p.Number))
	e.varint(p.Offset)
	e.varint(p.Size)
	e.str(p.ETag)
	e.byte1(byte(p.Checksum.Algorithm))
	e.bytes(p.Checksum.Sum)
	return e.b
}

func decodePart(b []byte) (transfer.JournalPart, error) {
	d := dec{b: b}
	d.version(partFormat, "upload part")
	p := transfer.JournalPart{Number: int(d.uvarint()), Offset: d.varint(), Size: d.varint(), ETag: d.str()}
	p.Checksum.Algorithm = providers.ChecksumAlgorithm(d.byte1())
	p.Checksum.Sum = d.bytes()
	return p, d.err
}

// LoadUpload returns the journal of the upload of key to store, or nil,
// nil when there is none.
func (c *Cache) LoadUpload(ctx context.Context, store, key string) (*transfer.UploadJournal, error) {
	var j *transfer.UploadJournal
	err := c.view(ctx, func(tx *bolt.Tx) error {
		var err error
		j, err = loadUploadTx(tx, store, key)
		return err
	})
	return j, err
}

func loadUploadTx(tx *bolt.Tx, store, key string) (*transfer.UploadJournal, error) {
	v := tx.Bucket(bktUploads).Get(uploadKey(store, key))
	if v == nil {
		return nil, nil
	}
	var j transfer.UploadJournal
	if err := json.Unmarshal(v, &j); err != nil {
		return nil, fmt.Errorf("%w: upload journal %q: %v", ErrCorrupt, key, err)
	}
	j.Store, j.Key, j.Parts = store, key, nil
	prefix := uploadPartsPrefix(store, key)
	cur := tx.Bucket(bktUploadParts).Cursor()
	for k, v := cur.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = cur.Next() {
		p, err := decodePart(v)
		if err != nil {
			return nil, fmt.Errorf("upload journal %q: %w", key, err)
		}
		j.Parts = append(j.Parts, p)
	}
	return &j, nil
}

// SaveUpload records j, replacing the journal of (j.Store, j.Key). It is
// durable (a synced commit) when SaveUpload returns. Concurrent saves (the
// parts of several uploads finishing together) share one commit.
func (c *Cache) SaveUpload(ctx context.Context, j *transfer.UploadJournal) error {
	if j == nil || j.Key == "" && j.UploadID == "" {
		return fmt.Errorf("%w: empty upload journal", ErrInvalid)
	}
	head := *j
	head.Parts = nil
	hv, err := json.Marshal(head)
	if err != nil {
		return err
	}
	parts := append([]transfer.JournalPart(nil), j.Parts...)
	sort.Slice(parts, func(a, b int) bool { return parts[a].Number < parts[b].Number })
	return c.batch(ctx, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bktUploads).Put(uploadKey(j.Store, j.Key), hv); err != nil {
			return err
		}
		pb := tx.Bucket(bktUploadParts)
		want := make(map[string]bool, len(parts))
		for _, p := range parts {
			k := uploadPartKey(j.Store, j.Key, p.Number)
			want[string(k)] = true
			v := encodePart(p)
			if old := pb.Get(k); old != nil && bytes.Equal(old, v) {
				continue
			}
			if err := pb.Put(k, v); err != nil {
				return err
			}
		}
		// Parts the journal no longer lists.
		var stale [][]byte
		prefix := uploadPartsPrefix(j.Store, j.Key)
		cur := pb.Cursor()
		for k, _ := cur.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = cur.Next() {
			if !want[string(k)] {
				stale = append(stale, append([]byte(nil), k...))
			}
		}
		for _, k := range stale {
			if err := pb.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteUpload forgets the journal of the upload of key to store.
func (c *Cache) DeleteUpload(ctx context.Context, store, key string) error {
	return c.batch(ctx, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bktUploads).Delete(uploadKey(store, key)); err != nil {
			return err
		}
		return deletePrefix(tx.Bucket(bktUploadParts), uploadPartsPrefix(store, key))
	})
}

// ListUploads calls fn for each journal, ordered by store then key. fn runs
// outside any transaction, so it may call DeleteUpload.
func (c *Cache) ListUploads(ctx context.Context, fn func(transfer.UploadJournal) error) error {
	type ref struct{ store, key string }
	var refs []ref
	err := c.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bktUploads).ForEach(func(k, _ []byte) error {
			store, rest, ok := cutEsc(k)
			if !ok {
				return fmt.Errorf("%w: upload key %x", ErrCorrupt, k)
			}
			refs = append(refs, ref{store, string(rest)})
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, r := range refs {
		j, err := c.LoadUpload(ctx, r.store, r.key)
		if err != nil {
			return err
		}
		if j == nil { // deleted meanwhile
			continue
		}
		if err := fn(*j); err != nil {
			return err
		}
	}
	return nil
}
