package cache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/byobfs/byob/providers"
	bolt "go.etcd.io/bbolt"
)

// pagesPerTx bounds the pages written per transaction by PutListing, so a
// huge listing never builds one huge transaction.
const pagesPerTx = 16

const (
	listingHeaderFormat = 1
	listingPageFormat   = 1
	entryFlagPrefix     = 1 << 0
)

// listingHeader is the value of the listings bucket.
type listingHeader struct {
	fetchedAt time.Time
	gen       uint64
	pages     uint32
	entries   uint64
}

func encodeListingHeader(h listingHeader) []byte {
	e := enc{}
	e.byte1(listingHeaderFormat)
	e.time(h.fetchedAt)
	e.uvarint(h.gen)
	e.uvarint(uint64(h.pages))
	e.uvarint(h.entries)
	return e.b
}

func decodeListingHeader(b []byte) (listingHeader, error) {
	d := dec{b: b}
	d.version(listingHeaderFormat, "listing header")
	h := listingHeader{fetchedAt: d.time(), gen: d.uvarint(), pages: uint32(d.uvarint()), entries: d.uvarint()}
	return h, d.err
}

func listingKey(store, prefix string) []byte { return append(appendEsc(nil, store), prefix...) }

// listingPagesPrefix is the key prefix of every generation of a listing.
func listingPagesPrefix(store, prefix string) []byte { return appendEsc(appendEsc(nil, store), prefix) }

func genPrefix(store, prefix string, gen uint64) []byte {
	return binary.BigEndian.AppendUint64(listingPagesPrefix(store, prefix), gen)
}

func pageKey(store, prefix string, gen uint64, page uint32) []byte {
	return binary.BigEndian.AppendUint32(genPrefix(store, prefix, gen), page)
}

func encodePage(entries []providers.Entry) []byte {
	e := enc{b: make([]byte, 0, 64*len(entries))}
	e.byte1(listingPageFormat)
	e.uvarint(uint64(len(entries)))
	prev := ""
	for _, en := range entries {
		var fl byte
		if en.IsPrefix {
			fl |= entryFlagPrefix
		}
		e.byte1(fl)
		shared := commonPrefixLen(prev, en.Key)
		e.uvarint(uint64(shared))
		e.str(en.Key[shared:])
		prev = en.Key
		if en.IsPrefix {
			continue
		}
		e.varint(en.Size)
		e.str(en.Version)
		e.time(en.ModTime)
		e.str(en.ETag)
		e.str(en.ContentType)
		e.uvarint(uint64(len(en.Checksums)))
		for _, cs := range en.Checksums {
			e.byte1(byte(cs.Algorithm))
			e.bytes(cs.Sum)
		}
	}
	return e.b
}

func decodePage(b []byte, out []providers.Entry) ([]providers.Entry, error) {
	d := dec{b: b}
	d.version(listingPageFormat, "listing page")
	n := d.uvarint()
	if d.err == nil && n > uint64(len(b)) {
		return out, fmt.Errorf("%w: listing page claims %d entries", ErrCorrupt, n)
	}
	prev := ""
	for i := uint64(0); i < n && d.err == nil; i++ {
		fl := d.byte1()
		shared := d.uvarint()
		if shared > uint64(len(prev)) {
			return out, fmt.Errorf("%w: listing page key prefix", ErrCorrupt)
		}
		var en providers.Entry
		en.Key = prev[:shared] + d.str()
		prev = en.Key
		if fl&entryFlagPrefix != 0 {
			en.IsPrefix = true
			out = append(out, en)
			continue
		}
		en.Size = d.varint()
		en.Version = d.str()
		en.ModTime = d.time()
		en.ETag = d.str()
		en.ContentType = d.str()
		if nc := d.uvarint(); nc > 0 && nc < 16 {
			en.Checksums = make([]providers.Checksum, nc)
			for j := range en.Checksums {
				en.Checksums[j] = providers.Checksum{Algorithm: providers.ChecksumAlgorithm(d.byte1()), Sum: d.bytes()}
			}
		} else if nc >= 16 {
			return out, fmt.Errorf("%w: listing entry checksums", ErrCorrupt)
		}
		out = append(out, en)
	}
	return out, d.err
}

func commonPrefixLen(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// PutListing stores the listing of prefix in store, replacing any earlier
// one. entries must yield keys in strictly ascending byte order (as
// providers.Store.List does). The entries are written in pages of
// ListingPageSize over several transactions and become visible to
// ReadListing only when all are written; if ctx ends or entries are out of
// order, nothing is stored. Memory use is a few pages, whatever the size.
func (c *Cache) PutListing(ctx context.Context, store, prefix string, fetchedAt time.Time, entries func(yield func(providers.Entry) bool)) error {
	hkey := listingKey(store, prefix)
	unlock := c.listMu.lock(string(hkey))
	defer unlock()

	var gen uint64
	held := false
	defer func() {
		if held {
			c.mu.Lock()
			rk := readerKey(store, prefix, gen)
			if c.listReaders[rk]--; c.listReaders[rk] <= 0 {
				delete(c.listReaders, rk)
			}
			c.mu.Unlock()
		}
	}()
	err := c.update(ctx, func(tx *bolt.Tx) error {
		pb := tx.Bucket(bktListPages)
		var err error
		if gen, err = pb.NextSequence(); err != nil {
			return err
		}
		// Hold the new generation as a reader would, so that no sweep
		// drops its pages before the header names it.
		c.mu.Lock()
		c.listReaders[readerKey(store, prefix, gen)]++
		c.mu.Unlock()
		held = true
		// Generations left behind by a crash or by readers that have since
		// finished are garbage now.
		var cur uint64
		if h := tx.Bucket(bktListings).Get(hkey); h != nil {
			if hd, err := decodeListingHeader(h); err == nil {
				cur = hd.gen
			}
		}
		return c.deleteGenerations(pb, store, prefix, func(g uint64) bool { return g != cur && !c.listingRead(store, prefix, g) })
	})
	if err != nil {
		return err
	}

	var (
		page     = make([]providers.Entry, 0, ListingPageSize)
		pending  [][]byte
		pageNo   uint32
		count    uint64
		prevKey  string
		iterErr  error
		flushErr error
	)
	flush := func(final bool) error {
		return c.update(ctx, func(tx *bolt.Tx) error {
			pb := tx.Bucket(bktListPages)
			pb.FillPercent = 0.9
			for i, p := range pending {
				if err := pb.Put(pageKey(store, prefix, gen, pageNo-uint32(len(pending))+uint32(i)), p); err != nil {
					return err
				}
			}
			if !final {
				return nil
			}
			return tx.Bucket(bktListings).Put(hkey, encodeListingHeader(listingHeader{fetchedAt: fetchedAt, gen: gen, pages: pageNo, entries: count}))
		})
	}
	cutPage := func() {
		pending = append(pending, encodePage(page))
		page = page[:0]
		pageNo++
	}
	for en := range entries {
		if count > 0 && en.Key <= prevKey {
			iterErr = fmt.Errorf("%w: listing keys out of order: %q after %q", ErrInvalid, en.Key, prevKey)
			break
		}
		prevKey = en.Key
		count++
		page = append(page, en)
		if len(page) == ListingPageSize {
			cutPage()
			if len(pending) == pagesPerTx {
				if flushErr = flush(false); flushErr != nil {
					break
				}
				pending = pending[:0]
			}
		}
	}
	if iterErr == nil && flushErr == nil {
		if len(page) > 0 {
			cutPage()
		}
		flushErr = flush(true)
	}
	if err := errors.Join(iterErr, flushErr); err != nil {
		_ = c.db.Update(func(tx *bolt.Tx) error {
			return deletePrefix(tx.Bucket(bktListPages), genPrefix(store, prefix, gen))
		})
		return err
	}
	// The new header is committed: drop older generations nobody reads.
	// A generation a reader holds is dropped by its last reader.
	return c.db.Update(func(tx *bolt.Tx) error {
		return c.deleteGenerations(tx.Bucket(bktListPages), store, prefix, func(g uint64) bool { return g != gen && !c.listingRead(store, prefix, g) })
	})
}

// deleteGenerations deletes the pages of every generation of (store,
// prefix) for which drop reports true.
func (c *Cache) deleteGenerations(pb *bolt.Bucket, store, prefix string, drop func(gen uint64) bool) error {
	base := listingPagesPrefix(store, prefix)
	cur := pb.Cursor()
	k, _ := cur.Seek(base)
	for k != nil && hasPrefix(k, base) && len(k) == len(base)+12 {
		g := binary.BigEndian.Uint64(k[len(base):])
		if drop(g) {
			if err := deletePrefix(pb, genPrefix(store, prefix, g)); err != nil {
				return err
			}
		}
		k, _ = cur.Seek(genPrefix(store, prefix, g+1))
	}
	return nil
}

func readerKey(store, prefix string, gen uint64) string { return string(genPrefix(store, prefix, gen)) }

// listingRead reports whether a ReadListing holds generation gen. Called
// inside write transactions: mu is a leaf.
func (c *Cache) listingRead(store, prefix string, gen uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.listReaders[readerKey(store, prefix, gen)] > 0
}

// ReadListing streams the stored listing of prefix to fn, page by page in
// key order, without holding a transaction while fn runs (fn may call the
// Cache). ok is false when no listing is stored. An error from fn stops
// the read and is returned.
func (c *Cache) ReadListing(ctx context.Context, store, prefix string, fn func(providers.Entry) error) (fetchedAt time.Time, ok bool, err error) {
	hkey := listingKey(store, prefix)
	var h listingHeader
	// Register as a reader of the current generation, then confirm in a
	// transaction begun after the registration that it is still current:
	// a writer drops a generation only after committing its successor and
	// only if no reader is registered.
	for {
		var found bool
		if err := c.view(ctx, func(tx *bolt.Tx) error {
			v := tx.Bucket(bktListings).Get(hkey)
			if v == nil {
				return nil
			}
			found = true
			h, err = decodeListingHeader(v)
			return err
		}); err != nil || !found {
			return time.Time{}, false, err
		}
		rk := readerKey(store, prefix, h.gen)
		c.mu.Lock()
		c.listReaders[rk]++
		c.mu.Unlock()
		var still bool
		err := c.view(ctx, func(tx *bolt.Tx) error {
			v := tx.Bucket(bktListings).Get(hkey)
			if v != nil {
				h2, err := decodeListingHeader(v)
				still = err == nil && h2.gen == h.gen
			}
			return nil
		})
		if err == nil && still {
			defer c.releaseListing(store, prefix, h.gen)
			break
		}
		c.releaseListing(store, prefix, h.gen)
		if err != nil {
			return time.Time{}, false, err
		}
	}

	buf := make([]providers.Entry, 0, ListingPageSize)
	for p := uint32(0); p < h.pages; p++ {
		buf = buf[:0]
		err := c.view(ctx, func(tx *bolt.Tx) error {
			v := tx.Bucket(bktListPages).Get(pageKey(store, prefix, h.gen, p))
			if v == nil {
				return fmt.Errorf("%w: listing %q page %d of %d missing", ErrCorrupt, prefix, p, h.pages)
			}
			var err error
			buf, err = decodePage(v, buf) // copies out of the mmap
			return err
		})
		if err != nil {
			return h.fetchedAt, true, err
		}
		for _, en := range buf {
			if err := fn(en); err != nil {
				return h.fetchedAt, true, err
			}
		}
	}
	return h.fetchedAt, true, nil
}

// releaseListing ends a read of generation gen; the last reader of a
// generation that is no longer current drops its pages.
func (c *Cache) releaseListing(store, prefix string, gen uint64) {
	rk := readerKey(store, prefix, gen)
	c.mu.Lock()
	c.listReaders[rk]--
	last := c.listReaders[rk] == 0
	if last {
		delete(c.listReaders, rk)
	}
	closed := c.closed
	c.mu.Unlock()
	if !last || closed {
		return
	}
	_ = c.db.Update(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bktListings).Get(listingKey(store, prefix)); v != nil {
			if h, err := decodeListingHeader(v); err == nil && h.gen == gen {
				return nil
			}
		}
		if c.listingRead(store, prefix, gen) {
			return nil
		}
		return deletePrefix(tx.Bucket(bktListPages), genPrefix(store, prefix, gen))
	})
}

// ListingInfo describes a stored listing.
type ListingInfo struct {
	FetchedAt time.Time `json:"fetched_at"`
	Entries   uint64    `json:"entries"`
	Pages     uint32    `json:"pages"`
}

// StatListing returns what is stored for the listing of prefix.
func (c *Cache) StatListing(ctx context.Context, store, prefix string) (info ListingInfo, ok bool, err error) {
	err = c.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bktListings).Get(listingKey(store, prefix))
		if v == nil {
			return nil
		}
		h, err := decodeListingHeader(v)
		ok = err == nil
		info = ListingInfo{FetchedAt: h.fetchedAt, Entries: h.entries, Pages: h.pages}
		return err
	})
	return info, ok, err
}

// InvalidateListing forgets the listing of prefix (exactly that prefix).
// A read in progress finishes on the generation it started with.
func (c *Cache) InvalidateListing(ctx context.Context, store, prefix string) error {
	hkey := listingKey(store, prefix)
	unlock := c.listMu.lock(string(hkey))
	defer unlock()
	// Most calls find nothing to drop (a directory never listed, or
	// already invalidated by the previous change): a read transaction
	// says so without a synced commit.
	stored := false
	if err := c.view(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bktListings).Get(hkey) != nil {
			stored = true
			return nil
		}
		base := listingPagesPrefix(store, prefix)
		k, _ := tx.Bucket(bktListPages).Cursor().Seek(base)
		stored = k != nil && hasPrefix(k, base) && len(k) == len(base)+12
		return nil
	}); err != nil || !stored {
		return err
	}
	return c.update(ctx, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bktListings).Delete(hkey); err != nil {
			return err
		}
		return c.deleteGenerations(tx.Bucket(bktListPages), store, prefix, func(g uint64) bool { return !c.listingRead(store, prefix, g) })
	})
}
