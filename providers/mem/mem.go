package mem

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/byobfs/byob/providers"
)

// Options are the limits a Store declares and enforces. Zero fields take
// the value from DefaultOptions.
type Options struct {
	// MinPartSize is the smallest part allowed except the last.
	MinPartSize int64
	// MaxPartSize is the largest part.
	MaxPartSize int64
	// MaxParts is the largest part number.
	MaxParts int
	// MaxPutSize is the largest single Put.
	MaxPutSize int64
	// MaxObjectSize is the largest object.
	MaxObjectSize int64
	// MaxKeyLength is the longest key in bytes.
	MaxKeyLength int
	// Now returns the server time for ModTime; nil means time.Now.
	Now func() time.Time
}

// DefaultOptions returns S3's limits: parts of 5 MiB to 5 GiB, 10,000 parts,
// 5 GiB per Put, 5 TiB per object, keys up to 1024 bytes.
func DefaultOptions() Options {
	return Options{
		MinPartSize:   5 << 20,
		MaxPartSize:   5 << 30,
		MaxParts:      10000,
		MaxPutSize:    5 << 30,
		MaxObjectSize: 5 << 40,
		MaxKeyLength:  1024,
		Now:           time.Now,
	}
}

// object is one stored object. It is immutable once in Store.objects: a
// write replaces the pointer, so readers may use data after unlocking.
type object struct {
	data []byte
	info providers.ObjectInfo // Key, Size, Version, ModTime, ContentType, ETag, Metadata, Checksums
}

// Store is an in-memory bucket. It is safe for concurrent use.
//
// Lock order: Store.mu is the only lock; it is never held while calling
// back into caller code (List's fn, readers passed to Put or UploadPart).
type Store struct {
	opts Options // read-only after New
	caps providers.Capabilities

	mu sync.Mutex
	// objects maps a key to its object. GUARDED_BY(mu).
	objects map[string]*object
	// keys holds the keys of objects in byte order. GUARDED_BY(mu).
	// INVARIANT: strictly increasing, and exactly the keys of objects.
	keys []string
	// seq is the last Version, part ETag or upload ID number handed out.
	// GUARDED_BY(mu).
	seq uint64
	// uploads maps an upload ID to an upload in progress. GUARDED_BY(mu).
	uploads map[string]*upload
}

var (
	_ providers.Store       = (*Store)(nil)
	_ providers.Multiparter = (*Store)(nil)
)

// New returns an empty store with the limits of opts (zero fields from
// DefaultOptions).
func New(opts Options) *Store {
	d := DefaultOptions()
	if opts.MinPartSize <= 0 {
		opts.MinPartSize = d.MinPartSize
	}
	if opts.MaxPartSize <= 0 {
		opts.MaxPartSize = max(d.MaxPartSize, opts.MinPartSize)
	}
	if opts.MaxParts <= 0 {
		opts.MaxParts = d.MaxParts
	}
	if opts.MaxPutSize <= 0 {
		opts.MaxPutSize = d.MaxPutSize
	}
	if opts.MaxObjectSize <= 0 {
		opts.MaxObjectSize = max(d.MaxObjectSize, opts.MaxPutSize)
	}
	if opts.MaxKeyLength <= 0 {
		opts.MaxKeyLength = d.MaxKeyLength
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{
		opts: opts,
		caps: providers.Capabilities{
			Multipart:           providers.MultipartMemory,
			MinPartSize:         opts.MinPartSize,
			MaxPartSize:         opts.MaxPartSize,
			MaxParts:            opts.MaxParts,
			MaxObjectSize:       opts.MaxObjectSize,
			MaxPutSize:          opts.MaxPutSize,
			ResumableUploads:    false, // uploads die with the process
			NativeStartAfter:    true,
			VerifiedChecksums:   []providers.ChecksumAlgorithm{providers.ChecksumCRC32C, providers.ChecksumMD5},
			ObjectPrefixCoexist: true,
			OddKeys:             true,
			MaxKeyLength:        opts.MaxKeyLength,
			ConditionalWrites:   true,
			VersionOnRewrite:    true,
		},
		objects: map[string]*object{},
		uploads: map[string]*upload{},
	}
}

// Capabilities describes the store; the VerifiedChecksums slice is a copy.
func (s *Store) Capabilities() providers.Capabilities {
	c := s.caps
	c.VerifiedChecksums = slices.Clone(c.VerifiedChecksums)
	return c
}

// Len returns the number of objects.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

// nextLocked returns a new sequence number. REQUIRES: s.mu held.
func (s *Store) nextLocked() uint64 {
	s.seq++
	return s.seq
}

// checkKey returns an ErrInvalidKey OpError when key is not one a bucket
// stores: empty, longer than MaxKeyLength, or not valid UTF-8.
func (s *Store) checkKey(op, key string) error {
	switch {
	case key == "":
		return providers.NewOpError(op, key, providers.ErrInvalidKey, fmt.Errorf("empty key"))
	case len(key) > s.opts.MaxKeyLength:
		return providers.NewOpError(op, shortKey(key), providers.ErrInvalidKey,
			fmt.Errorf("key of %d bytes is longer than %d", len(key), s.opts.MaxKeyLength))
	case !utf8.ValidString(key):
		return providers.NewOpError(op, key, providers.ErrInvalidKey, fmt.Errorf("key is not valid UTF-8"))
	}
	return nil
}

// shortKey abbreviates a key for an error message.
func shortKey(key string) string {
	if len(key) <= 64 {
		return key
	}
	return key[:64] + "..."
}

// ctxErr returns an OpError wrapping ctx.Err(), or nil while ctx is live.
func ctxErr(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return providers.NewOpError(op, key, nil, err)
	}
	return nil
}

// setLocked stores o under key, keeping keys sorted. REQUIRES: s.mu held.
func (s *Store) setLocked(key string, o *object) {
	if _, ok := s.objects[key]; !ok {
		i, _ := slices.BinarySearch(s.keys, key)
		s.keys = slices.Insert(s.keys, i, key)
	}
	s.objects[key] = o
}

// deleteLocked removes key if present. REQUIRES: s.mu held.
func (s *Store) deleteLocked(key string) {
	if _, ok := s.objects[key]; !ok {
		return
	}
	delete(s.objects, key)
	i, found := slices.BinarySearch(s.keys, key)
	if found {
		s.keys = slices.Delete(s.keys, i, i+1)
	}
}

// newObjectLocked builds an object with a fresh Version and ModTime.
// REQUIRES: s.mu held.
func (s *Store) newObjectLocked(key string, data []byte, contentType string, meta map[string]string, sums []providers.Checksum) *object {
	v := strconv.FormatUint(s.nextLocked(), 10)
	return &object{data: data, info: providers.ObjectInfo{
		Key:         key,
		Size:        int64(len(data)),
		Version:     v,
		ModTime:     s.opts.Now(),
		ContentType: contentType,
		ETag:        `"` + v + `"`,
		Metadata:    providers.CloneMetadata(meta),
		Checksums:   sums,
	}}
}

// checkInvariants verifies the sorted index matches the objects and that
// every upload targets a valid key. Tests call it after each case.
func (s *Store) checkInvariants() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.keys) != len(s.objects) {
		return fmt.Errorf("mem: %d sorted keys for %d objects", len(s.keys), len(s.objects))
	}
	if !sort.StringsAreSorted(s.keys) {
		return fmt.Errorf("mem: keys not sorted")
	}
	for i, k := range s.keys {
		if i > 0 && s.keys[i-1] == k {
			return fmt.Errorf("mem: key %q repeated", k)
		}
		o, ok := s.objects[k]
		if !ok {
			return fmt.Errorf("mem: key %q indexed but not stored", k)
		}
		if o.info.Key != k || o.info.Size != int64(len(o.data)) {
			return fmt.Errorf("mem: object %q: info %q/%d for %d bytes", k, o.info.Key, o.info.Size, len(o.data))
		}
	}
	for id, u := range s.uploads {
		if u.id != id {
			return fmt.Errorf("mem: upload %q filed under %q", u.id, id)
		}
	}
	return nil
}

// readExactly reads exactly size bytes from r, checking ctx between reads,
// and fails with ErrSizeMismatch when r yields fewer or more bytes.
func readExactly(ctx context.Context, op, key string, r io.Reader, size int64) ([]byte, error) {
	buf := make([]byte, 0, min(size, 64<<20))
	chunk := make([]byte, 256<<10)
	for int64(len(buf)) < size {
		if err := ctxErr(ctx, op, key); err != nil {
			return nil, err
		}
		want := min(int64(len(chunk)), size-int64(len(buf)))
		n, err := r.Read(chunk[:want])
		buf = append(buf, chunk[:n]...)
		if err == io.EOF {
			if int64(len(buf)) < size {
				return nil, providers.NewOpError(op, key, providers.ErrSizeMismatch,
					fmt.Errorf("reader ended after %d of %d bytes", len(buf), size))
			}
			break
		}
		if err != nil {
			return nil, providers.NewOpError(op, key, nil, err)
		}
	}
	if err := ctxErr(ctx, op, key); err != nil {
		return nil, err
	}
	var one [1]byte
	n, err := io.ReadFull(r, one[:])
	if n > 0 {
		return nil, providers.NewOpError(op, key, providers.ErrSizeMismatch,
			fmt.Errorf("reader yields more than %d bytes", size))
	}
	if err != nil && err != io.EOF {
		return nil, providers.NewOpError(op, key, nil, err)
	}
	return buf, nil
}
