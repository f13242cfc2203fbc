package minio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/byobfs/byob/providers"
)

// Stat implements providers.Store.
func (s *Store) Stat(ctx context.Context, key string) (providers.ObjectInfo, error) {
	if err := s.checkKey("stat", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	return s.head(ctx, "stat", key, "")
}

func (s *Store) head(ctx context.Context, op, key, ifMatch string) (providers.ObjectInfo, error) {
	o := minio.StatObjectOptions{Checksum: true}
	if ifMatch != "" {
		if err := o.SetMatchETag(ifMatch); err != nil {
			return providers.ObjectInfo{}, providers.NewOpError(op, key, providers.ErrInvalidArgument, err)
		}
	}
	oi, err := s.core.StatObject(ctx, s.bucket, key, o)
	if err != nil {
		return providers.ObjectInfo{}, mapErr(op, key, err)
	}
	info := objectInfo(key, oi)
	return info, nil
}

// objectInfo maps minio-go's ObjectInfo of a HEAD or GET.
func objectInfo(key string, oi minio.ObjectInfo) providers.ObjectInfo {
	info := providers.ObjectInfo{
		Key:         key,
		Size:        oi.Size,
		Version:     strings.Trim(oi.ETag, `"`),
		ETag:        `"` + strings.Trim(oi.ETag, `"`) + `"`,
		ModTime:     oi.LastModified,
		ContentType: oi.ContentType,
		Metadata:    map[string]string{},
	}
	for k, v := range oi.UserMetadata {
		info.Metadata[strings.ToLower(k)] = v
	}
	info.Checksums = wholeChecksums(oi.ChecksumCRC32C, oi.ChecksumMode)
	return info
}

// wholeChecksums reports a CRC32C only when it covers the whole object (a
// multipart composite "...-N" does not).
func wholeChecksums(v, mode string) []providers.Checksum {
	if v == "" || strings.Contains(v, "-") || strings.EqualFold(mode, "COMPOSITE") {
		return nil
	}
	c, err := providers.ParseChecksumBase64(providers.ChecksumCRC32C, v)
	if err != nil || len(c.Sum) != 4 {
		return nil
	}
	return []providers.Checksum{c}
}

// Get implements providers.Store. A range starting at the size is an empty
// read: the server's 416 is checked against the size (HEAD, same If-Match).
func (s *Store) Get(ctx context.Context, key string, off, length int64, opts providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	if err := s.checkKey("get", key); err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	if off < 0 || length < -1 {
		return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrInvalidArgument,
			fmt.Errorf("offset %d, length %d", off, length))
	}
	if length == 0 {
		info, err := s.head(ctx, "get", key, opts.IfMatch)
		if err != nil {
			return nil, info, err
		}
		if off > info.Size {
			return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrInvalidRange,
				fmt.Errorf("offset %d past size %d", off, info.Size))
		}
		return io.NopCloser(bytes.NewReader(nil)), info, nil
	}
	var o minio.GetObjectOptions
	if opts.IfMatch != "" {
		if err := o.SetMatchETag(opts.IfMatch); err != nil {
			return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrInvalidArgument, err)
		}
	}
	ranged := true
	switch {
	case off == 0 && length < 0:
		ranged = false
		o.Checksum = true
	case length < 0:
		o.Set("Range", fmt.Sprintf("bytes=%d-", off))
	default:
		o.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+length-1))
	}
	rc, oi, h, err := s.core.GetObject(ctx, s.bucket, key, o)
	if err != nil {
		if statusOf(err) == 416 {
			info, herr := s.head(ctx, "get", key, opts.IfMatch)
			if herr != nil {
				return nil, info, herr
			}
			if off == info.Size {
				return io.NopCloser(bytes.NewReader(nil)), info, nil
			}
		}
		return nil, providers.ObjectInfo{}, mapErr("get", key, err)
	}
	info := objectInfo(key, oi)
	if total, ok := rangeTotal(h.Get("Content-Range")); ok {
		info.Size = total
	}
	if ranged {
		info.Checksums = nil
	}
	return &bodyReader{ctx: ctx, rc: rc, key: key}, info, nil
}

func rangeTotal(cr string) (int64, bool) {
	_, total, ok := strings.Cut(cr, "/")
	if !ok || total == "*" {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil
}

// bodyReader maps errors of a body cut mid-stream onto the contract.
// A cancelled ctx fails the next Read even when the bytes are already
// buffered.
type bodyReader struct {
	ctx context.Context // the Get's: the body's lifetime
	rc  io.ReadCloser
	key string
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, providers.NewOpError("get", b.key, nil, err)
	}
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = mapErr("get", b.key, err)
	}
	return n, err
}

func (b *bodyReader) Close() error { return b.rc.Close() }

// Put implements providers.Store. The body goes through exactReader, which
// fails the request before its last byte leaves when r holds fewer or more
// bytes than size, so the server never stores a wrong body.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	if err := s.checkKey("put", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	if size < 0 {
		return providers.ObjectInfo{}, providers.NewOpError("put", key, providers.ErrInvalidArgument, fmt.Errorf("negative size %d", size))
	}
	if err := checkIfNoneMatch("put", key, opts.IfNoneMatch); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s.checkPrefixConflict(ctx, "put", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	er := &exactReader{r: r, remaining: size}
	var body io.Reader = er
	if size == 0 {
		if err := er.checkEmpty(); err != nil {
			return providers.ObjectInfo{}, providers.NewOpError("put", key, providers.ErrSizeMismatch, err)
		}
		body = bytes.NewReader(nil)
	}
	po := s.putOptions(opts)
	var md5 string
	switch opts.Checksum.Algorithm {
	case providers.ChecksumCRC32C:
		setCRC32C(&po, opts.Checksum)
	case providers.ChecksumMD5:
		if !opts.Checksum.IsZero() {
			md5 = opts.Checksum.Base64()
		}
	}
	ui, err := s.core.PutObject(ctx, s.bucket, key, body, size, md5, "", po)
	if er.err != nil {
		return providers.ObjectInfo{}, providers.NewOpError("put", key, providers.ErrSizeMismatch, er.err)
	}
	if err != nil {
		return providers.ObjectInfo{}, mapErr("put", key, err)
	}
	mod := ui.LastModified
	if mod.IsZero() {
		mod = time.Now().UTC() // PutObject returns no Last-Modified
	}
	info := providers.ObjectInfo{
		Key:         key,
		Size:        size,
		Version:     strings.Trim(ui.ETag, `"`),
		ETag:        `"` + strings.Trim(ui.ETag, `"`) + `"`,
		ModTime:     mod,
		ContentType: opts.ContentType,
		Metadata:    providers.CloneMetadata(opts.Metadata),
	}
	info.Checksums = wholeChecksums(ui.ChecksumCRC32C, ui.ChecksumMode)
	return info, nil
}

// exactReader yields exactly remaining bytes of r. When r ends early, or
// holds a byte more, Read returns an error instead of the final bytes, so
// the HTTP request is aborted before the server has the whole body.
type exactReader struct {
	r         io.Reader
	remaining int64
	err       error // the size mismatch seen, if any
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.remaining {
		p = p[:e.remaining]
	}
	n, err := e.r.Read(p)
	e.remaining -= int64(n)
	if e.remaining == 0 {
		if err := e.checkEmpty(); err != nil {
			return 0, err
		}
		return n, nil
	}
	if err == io.EOF {
		e.err = fmt.Errorf("reader ended %d bytes short of the size given", e.remaining)
		return 0, e.err
	}
	return n, err
}

// checkEmpty fails when r still has a byte.
func (e *exactReader) checkEmpty() error {
	var b [1]byte
	for {
		n, err := e.r.Read(b[:])
		if n > 0 {
			e.err = errors.New("reader holds more bytes than the size given")
			return e.err
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Delete implements providers.Store; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.checkKey("delete", key); err != nil {
		return err
	}
	err := s.core.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil {
		me := mapErr("delete", key, err)
		if errors.Is(me, providers.ErrNotExist) {
			return nil
		}
		return me
	}
	return nil
}
