package mem

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/byobfs/byob/providers"
)

// infoOf returns a copy of o's info that the caller may modify.
func infoOf(o *object) providers.ObjectInfo {
	info := o.info
	info.Metadata = providers.CloneMetadata(o.info.Metadata)
	info.Checksums = append([]providers.Checksum(nil), o.info.Checksums...)
	return info
}

// Stat returns key's attributes and metadata, or ErrNotExist.
func (s *Store) Stat(ctx context.Context, key string) (providers.ObjectInfo, error) {
	if err := ctxErr(ctx, "stat", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	s.mu.Lock()
	o, ok := s.objects[key]
	s.mu.Unlock()
	if !ok {
		return providers.ObjectInfo{}, providers.NewOpError("stat", key, providers.ErrNotExist, nil)
	}
	return infoOf(o), nil
}

// Get returns length bytes of key from off (length -1: to the end). The
// body fails with the context's error once ctx is cancelled.
func (s *Store) Get(ctx context.Context, key string, off, length int64, opts providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	if err := ctxErr(ctx, "get", key); err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	if off < 0 || length < -1 {
		return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrInvalidArgument,
			fmt.Errorf("offset %d, length %d", off, length))
	}
	s.mu.Lock()
	o, ok := s.objects[key]
	s.mu.Unlock()
	if !ok {
		return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrNotExist, nil)
	}
	if opts.IfMatch != "" && opts.IfMatch != o.info.Version {
		return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrPrecondition,
			fmt.Errorf("version is %s, not %s", o.info.Version, opts.IfMatch))
	}
	size := int64(len(o.data))
	if off > size {
		return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrInvalidRange,
			fmt.Errorf("offset %d past the end (%d bytes)", off, size))
	}
	end := size
	if length >= 0 && off+length < size {
		end = off + length
	}
	return &body{ctx: ctx, key: key, r: bytes.NewReader(o.data[off:end])}, infoOf(o), nil
}

// body is a Get's reader: the object's bytes (immutable, so read without
// the lock), failing once its context is cancelled.
type body struct {
	ctx context.Context // the Get's context, for the life of the body
	key string
	r   *bytes.Reader
}

func (b *body) Read(p []byte) (int, error) {
	if err := ctxErr(b.ctx, "get", b.key); err != nil {
		return 0, err
	}
	return b.r.Read(p)
}

func (b *body) Close() error { return nil }

// verifyChecksum checks data against want when it is an algorithm the store
// verifies (CRC32C, MD5); other algorithms are ignored. It returns the
// checksums to record.
func verifyChecksum(op, key string, data []byte, want providers.Checksum) ([]providers.Checksum, error) {
	crc := providers.CRC32C(crc32.Checksum(data, providers.CRC32CTable))
	sums := []providers.Checksum{crc}
	if want.IsZero() {
		return sums, nil
	}
	var got providers.Checksum
	switch want.Algorithm {
	case providers.ChecksumCRC32C:
		got = crc
	case providers.ChecksumMD5:
		m := md5.Sum(data)
		got = providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: m[:]}
		sums = append(sums, got)
	default:
		return sums, nil
	}
	if !got.Equal(want) {
		return nil, providers.NewOpError(op, key, providers.ErrChecksum, fmt.Errorf("got %s, want %s", got, want))
	}
	return sums, nil
}

// checkConditionsLocked evaluates IfMatch / IfNoneMatch against the current
// object at key. REQUIRES: s.mu held.
func (s *Store) checkConditionsLocked(op, key, ifMatch, ifNoneMatch string) error {
	cur, exists := s.objects[key]
	if ifNoneMatch == "*" && exists {
		return providers.NewOpError(op, key, providers.ErrPrecondition, fmt.Errorf("key exists (IfNoneMatch *)"))
	}
	if ifMatch != "" {
		if !exists {
			return providers.NewOpError(op, key, providers.ErrPrecondition, fmt.Errorf("key does not exist (IfMatch %s)", ifMatch))
		}
		if cur.info.Version != ifMatch {
			return providers.NewOpError(op, key, providers.ErrPrecondition,
				fmt.Errorf("version is %s, not %s", cur.info.Version, ifMatch))
		}
	}
	return nil
}

// checkIfNoneMatch rejects IfNoneMatch values other than "" and "*".
func checkIfNoneMatch(op, key, v string) error {
	if v != "" && v != "*" {
		return providers.NewOpError(op, key, providers.ErrInvalidArgument, fmt.Errorf("IfNoneMatch takes only \"*\", not %q", v))
	}
	return nil
}

// Put stores exactly size bytes from r as key, atomically; conditions are
// checked when the object is committed, after r is read.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	if err := ctxErr(ctx, "put", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s.checkKey("put", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := checkIfNoneMatch("put", key, opts.IfNoneMatch); err != nil {
		return providers.ObjectInfo{}, err
	}
	if size < 0 || size > s.opts.MaxPutSize {
		return providers.ObjectInfo{}, providers.NewOpError("put", key, providers.ErrInvalidArgument,
			fmt.Errorf("size %d outside [0, %d]", size, s.opts.MaxPutSize))
	}
	data, err := readExactly(ctx, "put", key, r, size)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	sums, err := verifyChecksum("put", key, data, opts.Checksum)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkConditionsLocked("put", key, opts.IfMatch, opts.IfNoneMatch); err != nil {
		return providers.ObjectInfo{}, err
	}
	o := s.newObjectLocked(key, data, opts.ContentType, opts.Metadata, sums)
	s.setLocked(key, o)
	return infoOf(o), nil
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctxErr(ctx, "delete", key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLocked(key)
	return nil
}

// Copy copies src to dst, sharing the immutable bytes. Metadata and content
// type are copied unless opts.Metadata is non-nil (see CopyOptions).
func (s *Store) Copy(ctx context.Context, src, dst string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	if err := ctxErr(ctx, "copy", src); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s.checkKey("copy", dst); err != nil {
		return providers.ObjectInfo{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[src]
	if !ok {
		return providers.ObjectInfo{}, providers.NewOpError("copy", src, providers.ErrNotExist, nil)
	}
	if opts.IfMatch != "" && opts.IfMatch != o.info.Version {
		return providers.ObjectInfo{}, providers.NewOpError("copy", src, providers.ErrPrecondition,
			fmt.Errorf("version is %s, not %s", o.info.Version, opts.IfMatch))
	}
	meta, ct := o.info.Metadata, o.info.ContentType
	if opts.Metadata != nil {
		meta = opts.Metadata
		if opts.ContentType != "" {
			ct = opts.ContentType
		}
	}
	n := s.newObjectLocked(dst, o.data, ct, meta, o.info.Checksums)
	s.setLocked(dst, n)
	return infoOf(n), nil
}
