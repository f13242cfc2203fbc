package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// errNoRoom: nothing evictable is left to make room for a clean block; the
// read is served from memory instead.
var errNoRoom = errors.New("no evictable room")

// makeRoom reserves n bytes for a block about to be stored, evicting the
// least recently used clean blocks while total+reserved+n > MaxSize or the
// disk's free space would drop below MinFree. A dirty block fails with
// ErrNoSpace when dirty bytes alone would pass MaxSize; otherwise it is
// admitted even when clean blocks held open keep the total above the cap
// for a while. A clean block gets errNoRoom when no room can be made.
func (c *Cache) makeRoom(ctx context.Context, n int64, dirty bool) error {
	c.evictMu.Lock()
	defer c.evictMu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if dirty && c.dirty+c.reservedDirty+n > c.opts.MaxSize {
		used := c.dirty + c.reservedDirty
		c.mu.Unlock()
		return fmt.Errorf("%w: %d dirty bytes + %d new > cap %d", ErrNoSpace, used, n, c.opts.MaxSize)
	}
	need := c.bytes + c.reserved + n - c.opts.MaxSize
	reserved := c.reserved
	c.mu.Unlock()
	if c.opts.MinFree >= 0 {
		if _, free, err := diskSpace(filepath.Join(c.dir, blocksDir)); err == nil {
			need = max(need, c.opts.MinFree-(free-reserved-n))
		}
	}
	if need > 0 {
		freed, err := c.evict(ctx, need)
		if err != nil {
			return err
		}
		if freed < need && !dirty {
			return errNoRoom
		}
	}
	c.mu.Lock()
	c.reserved += n
	if dirty {
		c.reservedDirty += n
	}
	c.mu.Unlock()
	return nil
}

func (c *Cache) unreserve(n int64, dirty bool) {
	c.mu.Lock()
	c.reserved -= n
	if dirty {
		c.reservedDirty -= n
	}
	c.mu.Unlock()
}

// evict removes least recently used evictable blocks not held open until
// need bytes are freed or none is left. Caller holds evictMu.
func (c *Cache) evict(ctx context.Context, need int64) (freed int64, err error) {
	if err := c.flushAccess(); err != nil {
		return 0, err
	}
	var victims []blockVictim
	var d delta
	err = c.update(ctx, func(tx *bolt.Tx) error {
		victims, d, freed = nil, delta{}, 0
		var keys [][]byte
		var recs []blockRec
		blocks := tx.Bucket(bktBlocks)
		cur := tx.Bucket(bktAtime).Cursor()
		for k, _ := cur.First(); k != nil && freed < need; k, _ = cur.Next() {
			if len(k) < 8 {
				return fmt.Errorf("%w: atime key %x", ErrCorrupt, k)
			}
			bkey := k[8:]
			if c.busy(string(bkey)) {
				continue
			}
			v := blocks.Get(bkey)
			if v == nil {
				return fmt.Errorf("%w: atime entry for a missing block", ErrCorrupt)
			}
			rec, err := decodeBlockRec(v)
			if err != nil {
				return err
			}
			keys = append(keys, append([]byte(nil), bkey...))
			recs = append(recs, rec)
			freed += rec.size
		}
		var err error
		victims, err = deleteBlocksTx(tx, keys, recs, &d)
		return err
	})
	if err != nil {
		return 0, err
	}
	c.applyDelta(d)
	c.removeVictims(victims)
	return freed, nil
}

// busy reports whether a block is held open or being fetched.
func (c *Cache) busy(bkey string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pins[bkey] > 0 || c.flights[bkey] != nil
}

// accessUpdate is a pending change to a block record, applied in batches.
type accessUpdate struct {
	nonce    uint64
	atime    int64
	verified bool // the data was verified this session
}

// noteAccess records a read of rec, at most once per AccessInterval.
func (c *Cache) noteAccess(k string, rec blockRec, verified bool) {
	now := time.Now().Unix()
	if !verified && now-rec.atime < int64(c.opts.AccessInterval/time.Second) {
		return
	}
	c.mu.Lock()
	u := c.access[k]
	if u.nonce != rec.nonce {
		u = accessUpdate{nonce: rec.nonce}
	}
	u.atime = now
	u.verified = u.verified || verified
	c.access[k] = u
	c.mu.Unlock()
}

// verifiedPending reports whether this session verified the block's data.
func (c *Cache) verifiedPending(k string, nonce uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.access[k]
	return ok && u.nonce == nonce && u.verified
}

// flushAccess writes pending access times and verifications to the index.
func (c *Cache) flushAccess() error {
	c.mu.Lock()
	pending := c.access
	if len(pending) == 0 {
		c.mu.Unlock()
		return nil
	}
	c.access = map[string]accessUpdate{}
	c.mu.Unlock()
	err := c.db.Update(func(tx *bolt.Tx) error {
		blocks, atime := tx.Bucket(bktBlocks), tx.Bucket(bktAtime)
		for k, u := range pending {
			bkey := []byte(k)
			v := blocks.Get(bkey)
			if v == nil {
				continue
			}
			rec, err := decodeBlockRec(v)
			if err != nil {
				return err
			}
			if rec.nonce != u.nonce {
				continue
			}
			if u.atime > rec.atime {
				if rec.evictable() {
					if err := atime.Delete(atimeKey(rec.atime, bkey)); err != nil {
						return err
					}
					if err := atime.Put(atimeKey(u.atime, bkey), nil); err != nil {
						return err
					}
				}
				rec.atime = u.atime
			}
			if u.verified {
				rec.epoch = c.epoch
			}
			if err := blocks.Put(bkey, rec.encode()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Put them back so a later flush retries.
		c.mu.Lock()
		for k, u := range pending {
			if _, ok := c.access[k]; !ok {
				c.access[k] = u
			}
		}
		c.mu.Unlock()
	}
	return err
}

// flushLoop flushes access times periodically until ctx ends.
func (c *Cache) flushLoop(ctx context.Context) {
	t := time.NewTicker(max(c.opts.AccessInterval/2, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = c.flushAccess()
		}
	}
}

// blockVictim is a block whose record a transaction deleted: its file is
// removed once the transaction has committed (removeVictims).
type blockVictim struct {
	id    BlockID
	nonce uint64
}

// deleteBlocksTx deletes the records keys (with their decoded recs) and
// returns the blocks whose files are to be removed after the commit.
func deleteBlocksTx(tx *bolt.Tx, keys [][]byte, recs []blockRec, d *delta) ([]blockVictim, error) {
	victims := make([]blockVictim, 0, len(keys))
	for i, k := range keys {
		id, ok := parseBlockKey(k)
		if !ok {
			return nil, fmt.Errorf("%w: block key %x", ErrCorrupt, k)
		}
		if err := deleteBlockTx(tx, k, recs[i], d); err != nil {
			return nil, err
		}
		victims = append(victims, blockVictim{id, recs[i].nonce})
	}
	return victims, nil
}

// removeVictims removes the files of blocks whose records are gone.
func (c *Cache) removeVictims(victims []blockVictim) {
	if len(victims) > 0 {
		c.filesChanged.Store(true)
	}
	for _, v := range victims {
		_ = os.Remove(c.blockPath(v.id, v.nonce))
	}
}
