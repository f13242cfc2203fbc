package cache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// VerifyReport is the result of Verify.
type VerifyReport struct {
	// Blocks and Bytes are what was checked.
	Blocks int   `json:"blocks"`
	Bytes  int64 `json:"bytes"`
	// Damaged blocks, by kind. Clean ones were dropped (fetched again on
	// their next read); dirty ones are kept and listed in DirtyDamaged too.
	Missing      []BlockID `json:"missing,omitempty"`
	SizeMismatch []BlockID `json:"size_mismatch,omitempty"`
	CRCMismatch  []BlockID `json:"crc_mismatch,omitempty"`
	Dropped      int       `json:"dropped"`
	DirtyDamaged []BlockID `json:"dirty_damaged,omitempty"`
	// OrphanFiles are block files the index did not know (removed),
	// relative to the cache directory.
	OrphanFiles []string `json:"orphan_files,omitempty"`
	TempFiles   int      `json:"temp_files"`
	// OrphanPages are listing pages of no current listing (removed).
	OrphanPages int     `json:"orphan_pages"`
	Seconds     float64 `json:"seconds"`
}

// OK reports whether nothing was found wrong.
func (r VerifyReport) OK() bool {
	return len(r.Missing)+len(r.SizeMismatch)+len(r.CRCMismatch)+len(r.OrphanFiles)+r.TempFiles+r.OrphanPages == 0
}

// Verify reads every block and checks its size and CRC32C against the
// index, drops damaged clean blocks, removes block files and listing pages
// the index does not reference, and reports what it found. Dirty blocks
// are never dropped. It runs alongside normal use.
func (c *Cache) Verify(ctx context.Context) (VerifyReport, error) {
	start := time.Now()
	var rep VerifyReport
	type item struct {
		id  BlockID
		rec blockRec
	}
	var items []item
	err := c.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bktBlocks).ForEach(func(k, v []byte) error {
			id, ok := parseBlockKey(k)
			if !ok {
				return fmt.Errorf("%w: block key %x", ErrCorrupt, k)
			}
			rec, err := decodeBlockRec(v)
			if err != nil {
				return err
			}
			items = append(items, item{id, rec})
			return nil
		})
	})
	if err != nil {
		return rep, err
	}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		k := string(it.id.key())
		kind, err := c.checkBlockFile(it.id, it.rec)
		if err != nil {
			return rep, err
		}
		if kind != "" {
			// Re-read: a block replaced meanwhile is not damaged.
			cur, found, err := c.lookup(ctx, []byte(k))
			if err != nil {
				return rep, err
			}
			if !found || cur.nonce != it.rec.nonce {
				continue
			}
		}
		rep.Blocks++
		rep.Bytes += it.rec.size
		switch kind {
		case "":
			if it.rec.epoch < c.trusted {
				c.markVerified(k, it.rec)
			}
			continue
		case "missing":
			rep.Missing = append(rep.Missing, it.id)
		case "size":
			rep.SizeMismatch = append(rep.SizeMismatch, it.id)
		case "crc":
			rep.CRCMismatch = append(rep.CRCMismatch, it.id)
		}
		if it.rec.dirty() {
			rep.DirtyDamaged = append(rep.DirtyDamaged, it.id)
			continue
		}
		if err := c.dropBlock(it.id, it.rec.nonce); err != nil {
			return rep, err
		}
		rep.Dropped++
	}
	sw, err := c.sweep(ctx)
	rep.OrphanFiles, rep.TempFiles, rep.OrphanPages = sw.orphanFiles, sw.tempFiles, sw.orphanPages
	rep.Seconds = time.Since(start).Seconds()
	return rep, err
}

// checkBlockFile returns "" when the file matches rec, else "missing",
// "size" or "crc".
func (c *Cache) checkBlockFile(id BlockID, rec blockRec) (string, error) {
	f, err := os.Open(c.blockPath(id, rec.nonce))
	if errors.Is(err, os.ErrNotExist) {
		return "missing", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, rec.size+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", err
	}
	if int64(n) != rec.size {
		return "size", nil
	}
	if crc32c(buf[:n]) != rec.crc {
		return "crc", nil
	}
	return "", nil
}

// markVerified records that this session verified the block's data.
func (c *Cache) markVerified(k string, rec blockRec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.access[k]
	if !ok || u.nonce != rec.nonce {
		u = accessUpdate{nonce: rec.nonce, atime: rec.atime}
	}
	u.verified = true
	c.access[k] = u
}

type sweepResult struct {
	orphanFiles []string
	tempFiles   int
	orphanPages int
}

// sweep removes block files the index does not reference, temporary files
// of writes that never finished, and listing pages of no listing.
func (c *Cache) sweep(ctx context.Context) (sweepResult, error) {
	var res sweepResult
	root := filepath.Join(c.dir, blocksDir)
	var cands []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.IsDir() {
			cands = append(cands, p)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if len(cands) > 0 {
		// No block file is between write and commit while sweepMu is held.
		c.sweepMu.Lock()
		known, err := c.knownFiles(ctx)
		if err == nil {
			for _, p := range cands {
				if known[p] {
					continue
				}
				c.filesChanged.Store(true)
				if os.Remove(p) != nil {
					continue // gone already
				}
				if strings.HasPrefix(filepath.Base(p), ".tmp-") {
					res.tempFiles++
				} else if rel, err := filepath.Rel(c.dir, p); err == nil {
					res.orphanFiles = append(res.orphanFiles, rel)
				}
			}
		}
		c.sweepMu.Unlock()
		if err != nil {
			return res, err
		}
	}
	n, err := c.sweepPages(ctx)
	res.orphanPages = n
	return res, err
}

// knownFiles returns the paths of every block file the index references.
func (c *Cache) knownFiles(ctx context.Context) (map[string]bool, error) {
	known := map[string]bool{}
	err := c.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bktBlocks).ForEach(func(k, v []byte) error {
			id, ok := parseBlockKey(k)
			if !ok {
				return fmt.Errorf("%w: block key %x", ErrCorrupt, k)
			}
			rec, err := decodeBlockRec(v)
			if err != nil {
				return err
			}
			known[c.blockPath(id, rec.nonce)] = true
			return nil
		})
	})
	return known, err
}

// pageGroup identifies one generation of one listing from a page key.
func parsePageKey(k []byte) (store, prefix string, gen uint64, ok bool) {
	store, rest, ok := cutEsc(k)
	if !ok {
		return "", "", 0, false
	}
	prefix, rest, ok = cutEsc(rest)
	if !ok || len(rest) != 12 {
		return "", "", 0, false
	}
	return store, prefix, binary.BigEndian.Uint64(rest), true
}

// sweepPages deletes listing pages whose generation no header names and
// no reader or writer holds.
func (c *Cache) sweepPages(ctx context.Context) (int, error) {
	n := 0
	err := c.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		pb, lb := tx.Bucket(bktListPages), tx.Bucket(bktListings)
		var stale [][]byte
		cur := pb.Cursor()
		for k, _ := cur.First(); k != nil; {
			store, prefix, gen, ok := parsePageKey(k)
			if !ok {
				return fmt.Errorf("%w: listing page key %x", ErrCorrupt, k)
			}
			live := c.listingRead(store, prefix, gen)
			if h := lb.Get(listingKey(store, prefix)); h != nil && !live {
				hd, err := decodeListingHeader(h)
				live = err == nil && hd.gen == gen
			}
			gp := genPrefix(store, prefix, gen)
			for ; k != nil && hasPrefix(k, gp); k, _ = cur.Next() {
				if !live {
					stale = append(stale, append([]byte(nil), k...))
				}
			}
		}
		for _, k := range stale {
			if err := pb.Delete(k); err != nil {
				return err
			}
		}
		n = len(stale)
		return nil
	})
	return n, err
}

// checkInvariants checks the index and block store against each other:
// bbolt's own consistency check, block records against files, atime
// entries against records, counters against sums, listing pages against
// headers, upload parts against journals. Call it when the cache is quiet
// (no operation in progress); tests call it after each test.
func (c *Cache) checkInvariants() error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	known := map[string]bool{}
	var sum delta
	// A write transaction: bbolt's Check reads the freelist, which a
	// concurrent commit would change under a read transaction.
	err := c.db.Update(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			fail("bbolt: %v", err)
		}
		evictable := 0
		err := tx.Bucket(bktBlocks).ForEach(func(k, v []byte) error {
			id, ok := parseBlockKey(k)
			if !ok {
				fail("block key %x does not parse", k)
				return nil
			}
			rec, err := decodeBlockRec(v)
			if err != nil {
				fail("block %v: %v", id, err)
				return nil
			}
			sum.add(rec, 1)
			p := c.blockPath(id, rec.nonce)
			known[p] = true
			if st, err := os.Stat(p); err != nil {
				fail("block %v: %v", id, err)
			} else if st.Size() != rec.size {
				fail("block %v: file has %d bytes, record %d", id, st.Size(), rec.size)
			}
			if rec.size > c.opts.BlockSize {
				fail("block %v: %d bytes > block size", id, rec.size)
			}
			inAtime := tx.Bucket(bktAtime).Get(atimeKey(rec.atime, k)) != nil
			if rec.evictable() {
				evictable++
			}
			if inAtime != rec.evictable() {
				fail("block %v: evictable=%v but atime entry present=%v", id, rec.evictable(), inAtime)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n := tx.Bucket(bktAtime).Stats().KeyN; n != evictable {
			fail("atime has %d entries, %d evictable blocks", n, evictable)
		}
		meta := tx.Bucket(bktMeta)
		got := delta{int64(getU64(meta, metaBytes)), int64(getU64(meta, metaDirty)), int64(getU64(meta, metaBlocks)), int64(getU64(meta, metaDirtyBlocks))}
		if got != sum {
			fail("meta counters %+v, records sum to %+v", got, sum)
		}
		c.mu.Lock()
		mem := delta{c.bytes, c.dirty, c.blocks, c.dirtyBlocks}
		c.mu.Unlock()
		if mem != sum {
			fail("in-memory counters %+v, records sum to %+v", mem, sum)
		}
		// Listing pages: each belongs to a current header (or a reader),
		// and each header's pages are all there.
		pages := map[string]uint32{}
		err = tx.Bucket(bktListPages).ForEach(func(k, _ []byte) error {
			store, prefix, gen, ok := parsePageKey(k)
			if !ok {
				fail("listing page key %x does not parse", k)
				return nil
			}
			pages[string(genPrefix(store, prefix, gen))]++
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bktListings).ForEach(func(k, v []byte) error {
			store, prefix, ok := cutEsc(k)
			if !ok {
				fail("listing key %x does not parse", k)
				return nil
			}
			h, err := decodeListingHeader(v)
			if err != nil {
				fail("listing %q: %v", prefix, err)
				return nil
			}
			gk := string(genPrefix(store, string(prefix), h.gen))
			if pages[gk] != h.pages {
				fail("listing %q: header says %d pages, %d stored", prefix, h.pages, pages[gk])
			}
			delete(pages, gk)
			return nil
		})
		if err != nil {
			return err
		}
		c.mu.Lock()
		for gk := range pages {
			if c.listReaders[gk] == 0 {
				fail("listing pages %x belong to no listing", gk)
			}
		}
		c.mu.Unlock()
		return tx.Bucket(bktUploadParts).ForEach(func(k, _ []byte) error {
			store, rest, ok := cutEsc(k)
			var key string
			if ok {
				key, rest, ok = cutEsc(rest)
			}
			if !ok || len(rest) != 4 {
				fail("upload part key %x does not parse", k)
			} else if tx.Bucket(bktUploads).Get(uploadKey(store, key)) == nil {
				fail("upload part of %q without a journal", key)
			}
			return nil
		})
	})
	if err != nil {
		errs = append(errs, err)
	}
	_ = filepath.WalkDir(filepath.Join(c.dir, blocksDir), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !known[p] {
			fail("file %s is in no block record", p)
		}
		return nil
	})
	return errors.Join(errs...)
}
