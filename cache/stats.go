package cache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Stats describes a cache, for `byob cache stats [--json]`.
type Stats struct {
	Dir           string `json:"dir"`
	SchemaVersion int    `json:"schema_version"`
	// DBSize is the size of the index file in bytes.
	DBSize int64 `json:"db_size"`
	// Buckets counts the records in each index bucket.
	Buckets     map[string]int `json:"buckets"`
	Blocks      int64          `json:"blocks"`
	Bytes       int64          `json:"bytes"`
	DirtyBlocks int64          `json:"dirty_blocks"`
	DirtyBytes  int64          `json:"dirty_bytes"`
	MaxSize     int64          `json:"max_size"`
	MinFree     int64          `json:"min_free"`
	BlockSize   int64          `json:"block_size"`
	// OpenBlocks and Fetching are blocks held open by readers and fetches
	// in progress, in this process.
	OpenBlocks int `json:"open_blocks"`
	Fetching   int `json:"fetching"`
	// StoreErrors counts fetched blocks this process could not write to
	// the cache (they were served, and are fetched again when read again).
	StoreErrors int64 `json:"store_errors"`
	// Unclean: the previous session did not close the cache.
	Unclean bool `json:"unclean"`
}

// Stats counts the index's records (a walk of each bucket) and reports
// the block totals.
func (c *Cache) Stats(ctx context.Context) (Stats, error) {
	s := Stats{Dir: c.dir, SchemaVersion: SchemaVersion, Buckets: map[string]int{},
		MaxSize: c.opts.MaxSize, MinFree: c.opts.MinFree, BlockSize: c.opts.BlockSize, Unclean: c.unclean}
	err := c.view(ctx, func(tx *bolt.Tx) error {
		s.DBSize = tx.Size()
		for _, name := range allBuckets() {
			s.Buckets[string(name)] = tx.Bucket(name).Stats().KeyN
		}
		return nil
	})
	c.mu.Lock()
	s.Blocks, s.Bytes, s.DirtyBlocks, s.DirtyBytes = c.blocks, c.bytes, c.dirtyBlocks, c.dirty
	s.OpenBlocks, s.Fetching = len(c.pins), len(c.flights)
	s.StoreErrors = c.storeErrors.Load()
	c.mu.Unlock()
	return s, err
}

// ClearOptions control Clear.
type ClearOptions struct {
	// Force clears even dirty blocks, write-back entries and upload
	// journals: data not yet uploaded is lost and multipart uploads the
	// journals name are left on the server.
	Force bool
}

// ClearReport says what Clear removed.
type ClearReport struct {
	Blocks   int64 `json:"blocks"`
	Bytes    int64 `json:"bytes"`
	Attrs    int   `json:"attrs"`
	Listings int   `json:"listings"`
	Forced   bool  `json:"forced"`
}

// clearAlways are the buckets Clear empties; clearForced those it empties
// only with Force.
func clearAlways() [][]byte {
	return [][]byte{bktAttrs, bktRemoteMeta, bktListings, bktListPages, bktBlocks, bktAtime, bktFingerprint}
}

func clearForced() [][]byte { return [][]byte{bktWriteBack, bktUploads, bktUploadParts} }

// Clear empties the cache: blocks, attributes, listings, remote metadata
// and fingerprints. It refuses with ErrDirty while dirty blocks or
// write-back entries exist, unless opts.Force. Upload journals and
// write-back entries are kept unless opts.Force. Listing reads in
// progress fail; open block handles stay readable.
func (c *Cache) Clear(ctx context.Context, opts ClearOptions) (ClearReport, error) {
	if err := c.SyncWriteBack(ctx); err != nil { // entries only in the log count too
		return ClearReport{}, err
	}
	c.evictMu.Lock()
	defer c.evictMu.Unlock()
	c.sweepMu.Lock()
	defer c.sweepMu.Unlock()
	rep := ClearReport{Forced: opts.Force}
	c.mu.Lock()
	c.clearRecentLocked()
	c.mu.Unlock()
	err := c.update(ctx, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		if !opts.Force {
			if d := getU64(meta, metaDirty); d > 0 || getU64(meta, metaDirtyBlocks) > 0 {
				return fmt.Errorf("%w: %d dirty bytes", ErrDirty, d)
			}
			if n := tx.Bucket(bktWriteBack).Stats().KeyN; n > 0 {
				return fmt.Errorf("%w: %d write-back entries", ErrDirty, n)
			}
		}
		rep.Blocks, rep.Bytes = int64(getU64(meta, metaBlocks)), int64(getU64(meta, metaBytes))
		rep.Attrs = tx.Bucket(bktAttrs).Stats().KeyN
		rep.Listings = tx.Bucket(bktListings).Stats().KeyN
		names := clearAlways()
		if opts.Force {
			names = append(names, clearForced()...)
		}
		for _, name := range names {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		for _, k := range [][]byte{metaBytes, metaDirty, metaBlocks, metaDirtyBlocks} {
			if err := putU64(meta, k, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	c.mu.Lock()
	c.bytes, c.dirty, c.blocks, c.dirtyBlocks = 0, 0, 0, 0
	c.access = map[string]accessUpdate{}
	c.mu.Unlock()
	root := filepath.Join(c.dir, blocksDir)
	c.filesChanged.Store(true)
	if err := os.RemoveAll(root); err != nil {
		return rep, err
	}
	return rep, os.MkdirAll(root, dirPerm)
}
