package minio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
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
	oi, err := s3compat.Call(s.creds, nil, mapper(op, key), func() (minio.ObjectInfo, error) { return s.core.StatObject(ctx, s.bucket, key, o) })
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	return objectInfo(key, oi), nil
}

// objectInfo maps minio-go's ObjectInfo of a HEAD or GET.
func objectInfo(key string, oi minio.ObjectInfo) providers.ObjectInfo {
	info := providers.ObjectInfo{
		Key:         key,
		Size:        oi.Size,
		ModTime:     oi.LastModified,
		ContentType: oi.ContentType,
		Metadata:    s3compat.Metadata(oi.UserMetadata),
		Checksums:   wholeChecksums(oi.ChecksumCRC32C, oi.ChecksumMode),
	}
	info.Version, info.ETag = etags(oi.ETag)
	return info
}

func wholeChecksums(v, mode string) []providers.Checksum {
	return s3compat.WholeCRC32C(v, strings.EqualFold(mode, "COMPOSITE"))
}

// Get implements providers.Store. A range starting at the size is an empty
// read: the server's 416 is checked against the size (HEAD, same If-Match).
func (s *Store) Get(ctx context.Context, key string, off, length int64, opts providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	if err := s.checkKey("get", key); err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	if err := s3compat.CheckRange(key, off, length); err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	head := func() (providers.ObjectInfo, error) { return s.head(ctx, "get", key, opts.IfMatch) }
	if length == 0 {
		return s3compat.EmptyRead(key, off, head, nil)
	}
	var o minio.GetObjectOptions
	if opts.IfMatch != "" {
		if err := o.SetMatchETag(opts.IfMatch); err != nil {
			return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrInvalidArgument, err)
		}
	}
	rng := s3compat.RangeHeader(off, length)
	if rng == "" {
		o.Checksum = true
	} else {
		o.Set("Range", rng)
	}
	type got struct {
		rc io.ReadCloser
		oi minio.ObjectInfo
		h  http.Header
	}
	g, err := s3compat.Call(s.creds, nil, mapper("get", key), func() (got, error) {
		rc, oi, h, err := s.core.GetObject(ctx, s.bucket, key, o)
		return got{rc, oi, h}, err
	})
	if err != nil {
		if s3compat.StatusOf(err) == 416 {
			return s3compat.EmptyRead(key, off, head, err)
		}
		return nil, providers.ObjectInfo{}, err
	}
	rc, oi, h := g.rc, g.oi, g.h
	info := objectInfo(key, oi)
	if total, ok := s3compat.RangeTotal(h.Get("Content-Range")); ok {
		info.Size = total
	}
	if rng != "" {
		info.Checksums = nil
	}
	return s3compat.NewBodyReader(ctx, rc, key, mapErr), info, nil
}

// Put implements providers.Store. The body goes through an
// s3compat.ExactReader, which fails the request before its last byte
// leaves when r holds fewer or more bytes than size, so the server never
// stores a wrong body.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	if err := s.checkKey("put", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s3compat.CheckSize(key, size); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s3compat.CheckIfNoneMatch("put", key, opts.IfNoneMatch); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s.checkPrefixConflict(ctx, "put", key); err != nil {
		return providers.ObjectInfo{}, err
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
	// Sent again after a credentials failure, from a reader of its own,
	// when r can give one (s3compat.Body).
	body0 := s3compat.NewBody(r, size)
	ui, err := s3compat.Call(s.creds, body0.Again, s3compat.Unmapped, func() (minio.UploadInfo, error) {
		er, body, err := s3compat.UploadBody("put", key, body0.Reader(), size, bytes.NewReader(nil))
		if err != nil {
			return minio.UploadInfo{}, err
		}
		ui, err := s.core.PutObject(ctx, s.bucket, key, body, size, md5, "", po)
		if err := er.Mismatch("put", key); err != nil {
			return minio.UploadInfo{}, err
		}
		return ui, mapErr("put", key, err)
	})
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	mod := ui.LastModified
	if mod.IsZero() {
		mod = time.Now().UTC() // PutObject returns no Last-Modified
	}
	info := providers.ObjectInfo{
		Key:         key,
		Size:        size,
		ModTime:     mod,
		ContentType: opts.ContentType,
		Metadata:    providers.CloneMetadata(opts.Metadata),
		Checksums:   wholeChecksums(ui.ChecksumCRC32C, ui.ChecksumMode),
	}
	info.Version, info.ETag = etags(ui.ETag)
	return info, nil
}

// Delete implements providers.Store; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.checkKey("delete", key); err != nil {
		return err
	}
	_, err := s3compat.Call(s.creds, nil, mapper("delete", key), func() (struct{}, error) {
		return struct{}{}, s.core.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	})
	if me := err; me != nil && !errors.Is(me, providers.ErrNotExist) {
		return me
	}
	return nil
}
