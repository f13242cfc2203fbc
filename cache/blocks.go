package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

// BlockID names one block: block Index (0-based, of Options.BlockSize
// bytes) of one version of one object.
type BlockID struct {
	Store   string `json:"store"`
	Key     string `json:"key"`
	Version string `json:"version"`
	Index   int64  `json:"index"`
}

func (id BlockID) String() string {
	return fmt.Sprintf("%s %q@%s#%d", id.Store, id.Key, id.Version, id.Index)
}

// key is the blocks-bucket key: esc(store) esc(key) esc(version) index.
func (id BlockID) key() []byte {
	b := appendEsc(appendEsc(appendEsc(make([]byte, 0, len(id.Store)+len(id.Key)+len(id.Version)+11), id.Store), id.Key), id.Version)
	return binary.BigEndian.AppendUint64(b, uint64(id.Index))
}

func parseBlockKey(k []byte) (BlockID, bool) {
	var id BlockID
	var ok bool
	if id.Store, k, ok = cutEsc(k); !ok {
		return id, false
	}
	if id.Key, k, ok = cutEsc(k); !ok {
		return id, false
	}
	if id.Version, k, ok = cutEsc(k); !ok || len(k) != 8 {
		return id, false
	}
	id.Index = int64(binary.BigEndian.Uint64(k))
	return id, true
}

// objectPrefix is the key prefix of every block of (store, key) or, with
// a version, of that version.
func objectPrefix(store, key string) []byte { return appendEsc(appendEsc(nil, store), key) }

// Block record flags.
const (
	blockFormat      = 1
	blockFlagDirty   = 1 << 0
	blockFlagPinned  = 1 << 1
	blockRecordBytes = 38
)

// blockRec is the value of the blocks bucket.
type blockRec struct {
	flags byte
	size  int64
	crc   uint32
	atime int64  // unix seconds of the last recorded access
	nonce uint64 // part of the file name
	epoch uint64 // session that wrote or last verified the data
}

func (r blockRec) dirty() bool     { return r.flags&blockFlagDirty != 0 }
func (r blockRec) evictable() bool { return r.flags&(blockFlagDirty|blockFlagPinned) == 0 }

func (r blockRec) encode() []byte {
	b := make([]byte, blockRecordBytes)
	b[0] = blockFormat
	b[1] = r.flags
	binary.BigEndian.PutUint64(b[2:], uint64(r.size))
	binary.BigEndian.PutUint32(b[10:], r.crc)
	binary.BigEndian.PutUint64(b[14:], uint64(r.atime))
	binary.BigEndian.PutUint64(b[22:], r.nonce)
	binary.BigEndian.PutUint64(b[30:], r.epoch)
	return b
}

func decodeBlockRec(b []byte) (blockRec, error) {
	if len(b) != blockRecordBytes || b[0] != blockFormat {
		return blockRec{}, fmt.Errorf("%w: block record of %d bytes, format %d", ErrCorrupt, len(b), firstByte(b))
	}
	return blockRec{
		flags: b[1],
		size:  int64(binary.BigEndian.Uint64(b[2:])),
		crc:   binary.BigEndian.Uint32(b[10:]),
		atime: int64(binary.BigEndian.Uint64(b[14:])),
		nonce: binary.BigEndian.Uint64(b[22:]),
		epoch: binary.BigEndian.Uint64(b[30:]),
	}, nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

func atimeKey(atime int64, bkey []byte) []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(bkey)), uint64(atime)), bkey...)
}

// blockFileName is <hash>-<index>-<nonce>; blockPath adds blocks/aa/bb/.
func blockFileName(id BlockID, nonce uint64) string {
	h := sha256.New()
	h.Write([]byte(id.Store))
	h.Write([]byte{0})
	h.Write([]byte(id.Key))
	h.Write([]byte{0})
	h.Write([]byte(id.Version))
	sum := hex.EncodeToString(h.Sum(nil)[:20])
	return sum + "-" + strconv.FormatInt(id.Index, 10) + "-" + strconv.FormatUint(nonce, 16)
}

func (c *Cache) blockPath(id BlockID, nonce uint64) string {
	name := blockFileName(id, nonce)
	return filepath.Join(c.dir, blocksDir, name[:2], name[2:4], name)
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, providers.CRC32CTable) }

// BlockHandle is an open block. It keeps the block from being evicted
// until Close. It is safe for concurrent ReadAt.
type BlockHandle struct {
	c      *Cache
	bkey   string
	f      *os.File // nil when served from memory
	data   []byte   // the block, when not cached on disk
	fl     *flight  // the flight whose bytes data are
	size   int64
	closed atomic.Bool
}

// Size is the block's length.
func (h *BlockHandle) Size() int64 { return h.size }

// Cached reports whether the block is stored on disk (false when the cache
// had no room and the data is held in memory by this handle).
func (h *BlockHandle) Cached() bool { return h.f != nil }

// ReadAt reads from the block as io.ReaderAt does.
func (h *BlockHandle) ReadAt(p []byte, off int64) (int, error) {
	if h.closed.Load() {
		return 0, ErrClosed
	}
	if h.f != nil {
		return h.f.ReadAt(p, off)
	}
	if off >= int64(len(h.data)) {
		return 0, io.EOF
	}
	n := copy(p, h.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Memory returns the block's bytes when the handle reads them from memory
// (not Cached). They are valid until Close and must not be changed.
func (h *BlockHandle) Memory() ([]byte, bool) {
	if h.f != nil || h.closed.Load() {
		return nil, false
	}
	return h.data, true
}

// Bytes reads the whole block into a new slice.
func (h *BlockHandle) Bytes() ([]byte, error) {
	if h.f == nil {
		return bytes.Clone(h.data), nil
	}
	b := make([]byte, h.size)
	n, err := h.f.ReadAt(b, 0)
	if err == io.EOF && int64(n) == h.size {
		err = nil
	}
	return b[:n], err
}

// Close releases the handle; closing twice is not an error.
func (h *BlockHandle) Close() error {
	if h.closed.Swap(true) {
		return nil
	}
	if h.fl != nil {
		h.c.mu.Lock()
		h.c.unpinLocked(h.bkey)
		h.fl.memRefs--
		h.c.recycleLocked(h.fl)
		h.c.mu.Unlock()
	} else {
		h.c.unpin(h.bkey)
	}
	if h.f != nil {
		return h.f.Close()
	}
	return nil
}

// BlockBuffer returns a buffer of n bytes (n <= BlockSize) for a FetchFunc
// to fill and return. The cache takes it back once the block is stored
// and no handle reads it from memory any more, and hands it to a later
// fetch: fetching a block then allocates nothing. Buffers are aligned, so
// that a block of an aligned length is written with O_DIRECT.
func (c *Cache) BlockBuffer(n int) []byte {
	if int64(n) > c.opts.BlockSize {
		return make([]byte, n) // refused by the fetch's size check; never pooled
	}
	return c.bufs.Get(int(c.opts.BlockSize))[:n]
}

// recycleLocked gives a flight's buffer back once the flight is over and
// no memory handle reads it. Called with c.mu held.
func (c *Cache) recycleLocked(f *flight) {
	if !f.over || f.recent || f.memRefs > 0 || f.waiters > 0 || f.data == nil || int64(cap(f.data)) != c.opts.BlockSize {
		return
	}
	b := f.data
	f.data = nil
	c.bufs.Put(b)
}

func (c *Cache) pin(bkey string) {
	c.mu.Lock()
	c.pins[bkey]++
	c.mu.Unlock()
}

func (c *Cache) unpin(bkey string) {
	c.mu.Lock()
	c.unpinLocked(bkey)
	c.mu.Unlock()
}

func (c *Cache) unpinLocked(bkey string) {
	if c.pins[bkey]--; c.pins[bkey] <= 0 {
		delete(c.pins, bkey)
	}
}

// FetchFunc fetches a block's bytes from the store (a ranged, conditional
// GET). It must return at most Options.BlockSize bytes.
type FetchFunc func(ctx context.Context) ([]byte, error)

// ReadBlock returns the bytes of block id, fetching them with fetch on a
// miss (fetch nil: ErrNotCached). See OpenBlock.
func (c *Cache) ReadBlock(ctx context.Context, id BlockID, fetch FetchFunc) ([]byte, error) {
	h, err := c.OpenBlock(ctx, id, fetch)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return h.Bytes()
}

// errRetry: the block vanished or failed verification; look it up again.
var errRetry = errors.New("retry lookup")

// OpenBlock opens block id. On a miss fetch is called once however many
// callers want the block at the same time (the others wait, each until its
// own ctx ends; the fetch is cancelled when every waiter has gone). Fetched
// bytes are bounded in memory by Options.FetchMemory, written to disk
// without fsync and recorded with their CRC32C. A block from before an
// unclean shutdown is verified on its first read; a bad one is dropped and
// fetched again. fetch nil makes a miss ErrNotCached.
//
// A miss returns once the fetched block is stored (or could not be: then
// the handle holds the bytes in memory). See OpenBlockFast.
func (c *Cache) OpenBlock(ctx context.Context, id BlockID, fetch FetchFunc) (*BlockHandle, error) {
	return c.openBlock(ctx, id, fetch, true)
}

// OpenBlockFast is OpenBlock for readers in a hurry: a miss returns as soon
// as the bytes have arrived, with a handle reading them from memory
// (Cached false), while the flight stores the block in the background;
// callers arriving meanwhile share those bytes. Hold such a handle only for
// the read at hand: open the block again for the next one, which then
// finds it in the recent tier (recent.go) or on disk.
func (c *Cache) OpenBlockFast(ctx context.Context, id BlockID, fetch FetchFunc) (*BlockHandle, error) {
	return c.openBlock(ctx, id, fetch, false)
}

func (c *Cache) openBlock(ctx context.Context, id BlockID, fetch FetchFunc, stored bool) (*BlockHandle, error) {
	if id.Index < 0 {
		return nil, fmt.Errorf("%w: block index %d", ErrInvalid, id.Index)
	}
	bkey := id.key()
	k := string(bkey)
	for attempt := 0; ; attempt++ {
		if attempt >= 4 {
			return nil, fmt.Errorf("cache: block %v kept vanishing", id)
		}
		if !stored {
			c.mu.Lock()
			h := c.recentHandleLocked(k)
			c.mu.Unlock()
			if h != nil {
				return h, nil
			}
		}
		rec, found, err := c.lookup(ctx, bkey)
		if err != nil {
			return nil, err
		}
		if found {
			h, err := c.openCached(id, k, rec)
			if err == nil {
				return h, nil
			}
			if !errors.Is(err, errRetry) {
				return nil, err
			}
			continue
		}
		if fetch == nil {
			return nil, fmt.Errorf("%w: %v", ErrNotCached, id)
		}
		h, err := c.fetchBlock(ctx, id, k, fetch, stored)
		if errors.Is(err, errRetry) {
			continue
		}
		return h, err
	}
}

// lookup reads the record of bkey.
func (c *Cache) lookup(ctx context.Context, bkey []byte) (rec blockRec, found bool, err error) {
	err = c.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bktBlocks).Get(bkey)
		if v == nil {
			return nil
		}
		found = true
		rec, err = decodeBlockRec(v)
		return err
	})
	return rec, found, err
}

// openCached opens the file of a recorded block, verifying it first when
// it predates the last unclean shutdown.
func (c *Cache) openCached(id BlockID, k string, rec blockRec) (*BlockHandle, error) {
	c.pin(k)
	f, err := os.Open(c.blockPath(id, rec.nonce))
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil && st.Size() != rec.size {
			err = fmt.Errorf("%w: block %v has %d bytes on disk, %d recorded", ErrCorrupt, id, st.Size(), rec.size)
		}
	}
	if err == nil && rec.epoch < c.trusted && !c.verifiedPending(k, rec.nonce) {
		buf := make([]byte, rec.size)
		if _, err = io.ReadFull(f, buf); err == nil && crc32c(buf) != rec.crc {
			err = fmt.Errorf("%w: block %v CRC32C mismatch", ErrCorrupt, id)
		}
		if err == nil {
			c.noteAccess(k, rec, true)
		}
	} else if err == nil {
		c.noteAccess(k, rec, false)
	}
	if err == nil {
		return &BlockHandle{c: c, bkey: k, f: f, size: rec.size}, nil
	}
	if f != nil {
		f.Close()
	}
	c.unpin(k)
	if rec.dirty() {
		// Dirty data is the only copy: never drop it silently.
		return nil, fmt.Errorf("%w: dirty block %v unreadable: %v", ErrCorrupt, id, err)
	}
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrCorrupt) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		if derr := c.dropBlock(id, rec.nonce); derr != nil {
			return nil, derr
		}
		return nil, errRetry
	}
	return nil, fmt.Errorf("cache: block %v: %w", id, err)
}

// dropBlock deletes the record of a clean block if it still has nonce,
// then its file.
func (c *Cache) dropBlock(id BlockID, nonce uint64) error {
	bkey := id.key()
	var d delta
	var removed bool
	err := c.db.Update(func(tx *bolt.Tx) error {
		d, removed = delta{}, false
		b := tx.Bucket(bktBlocks)
		v := b.Get(bkey)
		if v == nil {
			return nil
		}
		rec, err := decodeBlockRec(v)
		if err != nil || rec.nonce != nonce {
			return err
		}
		removed = true
		return deleteBlockTx(tx, bkey, rec, &d)
	})
	if err != nil {
		return err
	}
	c.applyDelta(d)
	if removed {
		c.filesChanged.Store(true)
		_ = os.Remove(c.blockPath(id, nonce))
	}
	return nil
}

// delta is the change a transaction made to the block totals.
type delta struct{ bytes, dirty, blocks, dirtyBlocks int64 }

func (d *delta) add(rec blockRec, sign int64) {
	d.bytes += sign * rec.size
	d.blocks += sign
	if rec.dirty() {
		d.dirty += sign * rec.size
		d.dirtyBlocks += sign
	}
}

// saveTx writes the delta into the meta counters.
func (d delta) saveTx(tx *bolt.Tx) error {
	meta := tx.Bucket(bktMeta)
	return errors.Join(addU64(meta, metaBytes, d.bytes), addU64(meta, metaDirty, d.dirty),
		addU64(meta, metaBlocks, d.blocks), addU64(meta, metaDirtyBlocks, d.dirtyBlocks))
}

func (c *Cache) applyDelta(d delta) {
	c.mu.Lock()
	c.bytes += d.bytes
	c.dirty += d.dirty
	c.blocks += d.blocks
	c.dirtyBlocks += d.dirtyBlocks
	c.mu.Unlock()
}

// deleteBlockTx deletes a block record, its atime entry and its share of
// the counters (saved in tx and added to d).
func deleteBlockTx(tx *bolt.Tx, bkey []byte, rec blockRec, d *delta) error {
	if rec.evictable() {
		if err := tx.Bucket(bktAtime).Delete(atimeKey(rec.atime, bkey)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bktBlocks).Delete(bkey); err != nil {
		return err
	}
	var one delta
	one.add(rec, -1)
	d.add(rec, -1)
	return one.saveTx(tx)
}

// putBlockTx writes rec (replacing old, when there was one).
func putBlockTx(tx *bolt.Tx, bkey []byte, rec blockRec, d *delta) error {
	if err := tx.Bucket(bktBlocks).Put(bkey, rec.encode()); err != nil {
		return err
	}
	if rec.evictable() {
		if err := tx.Bucket(bktAtime).Put(atimeKey(rec.atime, bkey), nil); err != nil {
			return err
		}
	}
	var one delta
	one.add(rec, 1)
	d.add(rec, 1)
	return one.saveTx(tx)
}

// flight is one fetch in progress. Its fields other than waiters are
// written by the fetching goroutine before ready is closed.
//
// A flight has two phases. Once the bytes have arrived (ready), every
// waiter is answered from memory at once: a reader never waits for the
// cache's disk. The flight then writes the block to disk and commits its
// record (done); it stays in Cache.flights until then, so callers arriving
// in between share its bytes instead of fetching them again. The bytes stay
// counted in FetchMemory until they leave memory (stored, and out of the
// recent tier).
type flight struct {
	ready   chan struct{} // closed once data or err is set
	done    chan struct{} // closed once the flight is over (stored or not)
	cancel  context.CancelFunc
	waiters int // GUARDED_BY(Cache.mu)
	err     error
	data    []byte
	memRefs int  // GUARDED_BY(Cache.mu): open handles reading data
	over    bool // GUARDED_BY(Cache.mu): done is closed
	recent  bool // GUARDED_BY(Cache.mu): data is in the recent tier
}

// fetchBlock joins or starts the flight of block id. It answers from
// memory as soon as the bytes have arrived, or, when stored is set, once
// the flight is over, from the stored block when there is one.
func (c *Cache) fetchBlock(ctx context.Context, id BlockID, k string, fetch FetchFunc, stored bool) (*BlockHandle, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	f := c.flights[k]
	if f == nil {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{ready: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
		c.flights[k] = f
		c.pins[k]++ // held by the flight until it is over and its last waiter is done
		c.flightsWG.Add(1)
		go c.runFlight(fctx, f, id, k, fetch)
	}
	f.waiters++
	c.mu.Unlock()

	wait := f.ready
	if stored {
		wait = f.done
	}
	var err error
	select {
	case <-wait:
		err = f.err
	case <-ctx.Done():
		err = ctx.Err()
	}
	defer c.leaveFlight(f, k)
	if err != nil {
		return nil, err
	}
	if stored {
		rec, found, err := c.lookup(ctx, []byte(k))
		if err != nil {
			return nil, err
		}
		if found {
			return c.openCached(id, k, rec)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.memHandleLocked(k, f), nil
}

// memHandleLocked opens block k from the memory of flight f (in flight, or
// kept by the recent tier): pinned, and f's buffer held until Close.
// Called with c.mu held.
func (c *Cache) memHandleLocked(k string, f *flight) *BlockHandle {
	c.pins[k]++
	f.memRefs++
	return &BlockHandle{c: c, bkey: k, data: f.data, fl: f, size: int64(len(f.data))}
}

// leaveFlight ends one waiter's interest. The last waiter cancels a fetch
// whose bytes have not arrived; a flight storing its bytes goes on. The
// flight's pin is released once it is over and has no waiter.
func (c *Cache) leaveFlight(f *flight, k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f.waiters--
	if f.waiters > 0 {
		return
	}
	c.recycleLocked(f)
	select {
	case <-f.done:
		c.unpinLocked(k)
		return
	default:
	}
	select {
	case <-f.ready:
	default:
		f.cancel() // runFlight releases the pin when it ends with no waiters
	}
}

func (c *Cache) runFlight(ctx context.Context, f *flight, id BlockID, k string, fetch FetchFunc) {
	defer c.flightsWG.Done()
	defer f.cancel()
	stored := c.doFetch(ctx, f, id, fetch)
	c.mu.Lock()
	delete(c.flights, k)
	close(f.done)
	f.over = true
	if stored && !c.addRecentLocked(k, f) {
		c.fetchMem.Release(c.opts.BlockSize) // else the tier holds it until the block leaves
	}
	c.recycleLocked(f)
	if f.waiters == 0 {
		c.unpinLocked(k)
	}
	c.mu.Unlock()
}

// doFetch fetches a block, hands its bytes to the waiters (closing
// f.ready) and stores it, and reports whether it did. A stored block
// still holds its FetchMemory (the caller gives it to the recent tier or
// releases it); a block that cannot be stored (no room, a disk error) was
// still served, its memory is released here, and the next reader fetches
// it again.
func (c *Cache) doFetch(ctx context.Context, f *flight, id BlockID, fetch FetchFunc) bool {
	if err := c.acquireFetchMem(ctx); err != nil {
		f.err = err
		close(f.ready)
		return false
	}
	stored := false
	defer func() {
		if !stored {
			c.fetchMem.Release(c.opts.BlockSize)
		}
	}()
	data, err := fetch(ctx)
	if err == nil && int64(len(data)) > c.opts.BlockSize {
		err = fmt.Errorf("%w: fetched %d bytes for block %v, block size is %d", ErrInvalid, len(data), id, c.opts.BlockSize)
	}
	f.data, f.err = data, err
	close(f.ready)
	if err != nil {
		return false
	}
	if err := c.storeBlock(ctx, id, data, false); err != nil {
		if !errors.Is(err, errNoRoom) {
			c.storeErrors.Add(1)
		}
		return false
	}
	stored = true
	return true
}

// WriteBlock stores data as block id, dirty: it is never evicted until
// MarkClean. It is durable (fsynced data, synced commit) when WriteBlock
// returns. When dirty bytes alone would pass MaxSize it fails with
// ErrNoSpace.
func (c *Cache) WriteBlock(ctx context.Context, id BlockID, data []byte) error {
	if id.Index < 0 || int64(len(data)) > c.opts.BlockSize {
		return fmt.Errorf("%w: block %v of %d bytes", ErrInvalid, id, len(data))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.storeBlock(ctx, id, data, true)
}

// storeBlock writes data as block id's file and commits its record.
func (c *Cache) storeBlock(ctx context.Context, id BlockID, data []byte, dirty bool) error {
	n := int64(len(data))
	if err := c.makeRoom(ctx, n, dirty); err != nil {
		return err
	}
	defer c.unreserve(n, dirty)

	bkey := id.key()
	nonce := rand.Uint64()
	path := c.blockPath(id, nonce)
	c.sweepMu.RLock()
	defer c.sweepMu.RUnlock()
	c.filesChanged.Store(true)
	if err := writeFileAtomic(path, data, dirty && !c.opts.NoSync, &c.noDirect); err != nil {
		return fmt.Errorf("cache: writing block %v: %w", id, err)
	}
	transfer.CrashPoint(CrashAfterBlockData)
	rec := blockRec{size: n, crc: crc32c(data), atime: time.Now().Unix(), nonce: nonce, epoch: c.epoch}
	if dirty {
		rec.flags |= blockFlagDirty
	}
	var d delta
	var old *blockRec
	// A clean block's record joins concurrent commits (bbolt's Batch: one
	// fdatasync for many blocks); a dirty block's is committed by itself.
	commit := c.update
	if !dirty {
		commit = c.batch
	}
	err := commit(ctx, func(tx *bolt.Tx) error {
		d, old = delta{}, nil
		if v := tx.Bucket(bktBlocks).Get(bkey); v != nil {
			o, err := decodeBlockRec(v)
			if err != nil {
				return err
			}
			old = &o
			rec.flags |= o.flags & blockFlagPinned
			if err := deleteBlockTx(tx, bkey, o, &d); err != nil {
				return err
			}
		}
		return putBlockTx(tx, bkey, rec, &d)
	})
	if err != nil {
		_ = os.Remove(path)
		return err
	}
	transfer.CrashPoint(CrashAfterIndexCommit)
	c.applyDelta(d)
	if dirty {
		c.forgetRecent(string(bkey)) // the tier must not serve the bytes this write replaced
	}
	if old != nil && old.nonce != nonce {
		_ = os.Remove(c.blockPath(id, old.nonce))
	}
	return nil
}

func writeFileAtomic(path string, data []byte, sync bool, noDirect *atomic.Bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	f, err := writeData(dir, data, noDirect)
	if err != nil {
		return err
	}
	if sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if sync {
		return syncDir(dir)
	}
	return nil
}

// updateBlock applies fn to the record of id in a synced transaction.
func (c *Cache) updateBlock(ctx context.Context, id BlockID, fn func(rec *blockRec)) error {
	bkey := id.key()
	var d delta
	err := c.update(ctx, func(tx *bolt.Tx) error {
		d = delta{}
		v := tx.Bucket(bktBlocks).Get(bkey)
		if v == nil {
			return fmt.Errorf("%w: %v", ErrNotCached, id)
		}
		rec, err := decodeBlockRec(v)
		if err != nil {
			return err
		}
		if err := deleteBlockTx(tx, bkey, rec, &d); err != nil {
			return err
		}
		fn(&rec)
		return putBlockTx(tx, bkey, rec, &d)
	})
	if err == nil {
		c.applyDelta(d)
	}
	return err
}

// MarkClean marks a dirty block clean (uploaded): it becomes evictable.
func (c *Cache) MarkClean(ctx context.Context, id BlockID) error {
	return c.updateBlock(ctx, id, func(rec *blockRec) {
		rec.flags &^= blockFlagDirty
		rec.atime = time.Now().Unix()
	})
}

// SetPinned sets or clears a block's persistent pin: a pinned block is
// never evicted (it still counts toward MaxSize).
func (c *Cache) SetPinned(ctx context.Context, id BlockID, pinned bool) error {
	return c.updateBlock(ctx, id, func(rec *blockRec) {
		if pinned {
			rec.flags |= blockFlagPinned
		} else {
			rec.flags &^= blockFlagPinned
		}
	})
}

// DeleteBlock removes block id whatever its state (dirty included).
func (c *Cache) DeleteBlock(ctx context.Context, id BlockID) error {
	var rec blockRec
	var found bool
	err := c.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bktBlocks).Get(id.key())
		if v == nil {
			return nil
		}
		found = true
		var err error
		rec, err = decodeBlockRec(v)
		return err
	})
	if err != nil {
		return err
	}
	defer c.forgetRecent(string(id.key()))
	if !found {
		return nil
	}
	return c.dropBlock(id, rec.nonce)
}

// DropObject removes the clean blocks of every version of (store, key) and
// reports how many it removed. Dirty and pinned blocks stay.
func (c *Cache) DropObject(ctx context.Context, store, key string) (int, error) {
	prefix := objectPrefix(store, key)
	defer c.forgetRecentPrefix(prefix)
	var victims []blockVictim
	var d delta
	err := c.update(ctx, func(tx *bolt.Tx) error {
		victims, d = nil, delta{}
		var keys [][]byte
		var recs []blockRec
		cur := tx.Bucket(bktBlocks).Cursor()
		for k, v := cur.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = cur.Next() {
			rec, err := decodeBlockRec(v)
			if err != nil {
				return err
			}
			if rec.evictable() {
				keys = append(keys, append([]byte(nil), k...))
				recs = append(recs, rec)
			}
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
	return len(victims), nil
}
