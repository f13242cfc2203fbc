package gcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"

	"cloud.google.com/go/storage"

	"github.com/byobfs/byob/providers"
)

// Stat implements providers.Store.
func (s *Store) Stat(ctx context.Context, key string) (providers.ObjectInfo, error) {
	if err := s.checkKey("stat", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	attrs, err := s.object(key).Attrs(ctx)
	if err != nil {
		return providers.ObjectInfo{}, mapErr("stat", key, err)
	}
	return objectInfo(attrs), nil
}

// objectInfo maps full object attributes (Stat, Put, Copy).
func objectInfo(a *storage.ObjectAttrs) providers.ObjectInfo {
	info := providers.ObjectInfo{
		Key:         a.Name,
		Size:        a.Size,
		Version:     strconv.FormatInt(a.Generation, 10),
		ModTime:     a.Created,
		ContentType: a.ContentType,
		ETag:        a.Etag,
		Metadata:    readMetadata(a.Metadata),
		Checksums:   checksums(a.CRC32C, a.MD5),
	}
	if info.ModTime.IsZero() {
		info.ModTime = a.Updated
	}
	return info
}

func checksums(crc uint32, md5 []byte) []providers.Checksum {
	out := []providers.Checksum{providers.CRC32C(crc)}
	if len(md5) == 16 {
		out = append(out, providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: bytes.Clone(md5)})
	}
	return out
}

// readMetadata lower-cases keys and hides gcloud's reserved mtime, turning
// it into "mtime" when that is absent.
func readMetadata(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	var reserved string
	for k, v := range m {
		k = strings.ToLower(k)
		if k == reservedMtime {
			reserved = v
			continue
		}
		out[k] = v
	}
	if _, ok := out[providers.MetaMtime]; !ok && reserved != "" {
		if _, err := strconv.ParseInt(reserved, 10, 64); err == nil {
			out[providers.MetaMtime] = reserved
		}
	}
	return out
}

// writeMetadata lower-cases keys and adds gcloud's reserved mtime (integer
// seconds) next to rclone's "mtime".
func writeMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	if t, ok := providers.ParseMtime(out[providers.MetaMtime]); ok {
		out[reservedMtime] = strconv.FormatInt(t.Unix(), 10)
	}
	return out
}

func parseGeneration(op, key, v string) (int64, error) {
	g, err := strconv.ParseInt(v, 10, 64)
	if err != nil || g <= 0 {
		return 0, providers.NewOpError(op, key, providers.ErrPrecondition, errBadVersion)
	}
	return g, nil
}

// Get implements providers.Store. With IfMatch the read is pinned to that
// generation: a generation that is gone while the key still exists is
// ErrPrecondition. The returned info has no user metadata (a read answers
// with the object's size, generation, type and checksums only).
func (s *Store) Get(ctx context.Context, key string, off, length int64, opts providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	if err := s.checkKey("get", key); err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	if off < 0 || length < -1 {
		return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrInvalidArgument,
			fmt.Errorf("offset %d, length %d", off, length))
	}
	obj := s.object(key)
	if opts.IfMatch != "" {
		g, err := parseGeneration("get", key, opts.IfMatch)
		if err != nil {
			return nil, providers.ObjectInfo{}, s.preconditionOrNotExist(ctx, "get", key, err)
		}
		obj = obj.Generation(g)
	}
	if length == 0 {
		attrs, err := obj.Attrs(ctx)
		if err != nil {
			return nil, providers.ObjectInfo{}, s.readErr(ctx, "get", key, opts.IfMatch, err)
		}
		if off > attrs.Size {
			return nil, providers.ObjectInfo{}, rangeErr(key, off, attrs.Size)
		}
		return io.NopCloser(bytes.NewReader(nil)), objectInfo(attrs), nil
	}
	r, err := obj.NewRangeReader(ctx, off, length)
	if err != nil {
		if statusOf(err) == 416 {
			attrs, aerr := obj.Attrs(ctx)
			if aerr != nil {
				return nil, providers.ObjectInfo{}, s.readErr(ctx, "get", key, opts.IfMatch, aerr)
			}
			if off == attrs.Size {
				return io.NopCloser(bytes.NewReader(nil)), objectInfo(attrs), nil
			}
			return nil, providers.ObjectInfo{}, rangeErr(key, off, attrs.Size)
		}
		return nil, providers.ObjectInfo{}, s.readErr(ctx, "get", key, opts.IfMatch, err)
	}
	ra := r.Attrs
	if off > ra.Size {
		r.Close()
		return nil, providers.ObjectInfo{}, rangeErr(key, off, ra.Size)
	}
	info := providers.ObjectInfo{
		Key:         key,
		Size:        ra.Size,
		Version:     strconv.FormatInt(ra.Generation, 10),
		ModTime:     ra.LastModified,
		ContentType: ra.ContentType,
	}
	if off == 0 && (length < 0 || length >= ra.Size) {
		info.Checksums = checksums(ra.CRC32C, nil)
	}
	return &bodyReader{ctx: ctx, r: r, key: key}, info, nil
}

func rangeErr(key string, off, size int64) error {
	return providers.NewOpError("get", key, providers.ErrInvalidRange, fmt.Errorf("offset %d past size %d", off, size))
}

// readErr maps a failed read. A pinned read's 404 is ErrPrecondition when
// the key still exists (the generation is gone), ErrNotExist otherwise.
func (s *Store) readErr(ctx context.Context, op, key, ifMatch string, err error) error {
	me := mapErr(op, key, err)
	if ifMatch == "" || !errors.Is(me, providers.ErrNotExist) {
		return me
	}
	return s.preconditionOrNotExist(ctx, op, key, me)
}

func (s *Store) preconditionOrNotExist(ctx context.Context, op, key string, cause error) error {
	_, aerr := s.object(key).Attrs(ctx)
	switch {
	case aerr == nil:
		return providers.NewOpError(op, key, providers.ErrPrecondition, cause)
	case errors.Is(aerr, storage.ErrObjectNotExist):
		return mapErr(op, key, aerr)
	}
	return mapErr(op, key, aerr)
}

// bodyReader maps errors of a body cut mid-stream onto the contract. A
// cancelled ctx fails the next Read even when bytes are buffered.
type bodyReader struct {
	ctx context.Context
	r   *storage.Reader
	key string
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, providers.NewOpError("get", b.key, nil, err)
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = mapErr("get", b.key, err)
	}
	return n, err
}

func (b *bodyReader) Close() error { return b.r.Close() }

// Put implements providers.Store. Objects smaller than Options.ChunkSize go
// in one request from a buffer of their size (rounded up to 256 KiB); larger
// ones in chunks of one resumable session. The body is counted: when r yields fewer
// or more than size bytes, the upload's context is cancelled before the
// writer is closed, so the object is never finalized.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	if err := s.checkKey("put", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	return s.put(ctx, "put", key, r, size, opts, nil)
}

// put writes key (user keys and upload parts alike). crc, when set, is
// the CRC32C of the bytes, sent for the server to verify in addition to
// opts.Checksum when that is an MD5.
func (s *Store) put(ctx context.Context, op, key string, r io.Reader, size int64, opts providers.PutOptions, crc *uint32) (providers.ObjectInfo, error) {
	if size < 0 {
		return providers.ObjectInfo{}, providers.NewOpError(op, key, providers.ErrInvalidArgument, fmt.Errorf("negative size %d", size))
	}
	if opts.IfNoneMatch != "" && opts.IfNoneMatch != "*" {
		return providers.ObjectInfo{}, providers.NewOpError(op, key, providers.ErrInvalidArgument, errIfNoneMatch)
	}
	obj := s.object(key)
	switch {
	case opts.IfNoneMatch == "*":
		obj = obj.If(storage.Conditions{DoesNotExist: true})
	case opts.IfMatch != "":
		g, err := parseGeneration(op, key, opts.IfMatch)
		if err != nil {
			return providers.ObjectInfo{}, err
		}
		obj = obj.If(storage.Conditions{GenerationMatch: g})
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := obj.NewWriter(wctx)
	w.ContentType = opts.ContentType
	w.Metadata = writeMetadata(opts.Metadata)
	w.DisableAutoChecksum = true
	// Never ChunkSize 0: the library's unbuffered single request, when the
	// body fails midway, still ends the multipart request properly, and the
	// server stores the truncated object. With a buffer the first chunk is
	// read whole before anything is sent (an object smaller than it goes in
	// one request), and a failed read never finalizes a resumable session.
	w.ChunkSize = s.opts.ChunkSize
	if size < int64(w.ChunkSize) {
		w.ChunkSize = int((size + 1 + chunkAlign - 1) / chunkAlign * chunkAlign)
	}
	if crc != nil {
		w.CRC32C, w.SendCRC32C = *crc, true
	}
	switch opts.Checksum.Algorithm {
	case providers.ChecksumCRC32C:
		if v, ok := opts.Checksum.CRC32CValue(); ok {
			w.CRC32C, w.SendCRC32C = v, true
		}
	case providers.ChecksumMD5:
		if len(opts.Checksum.Sum) == 16 {
			w.MD5 = bytes.Clone(opts.Checksum.Sum)
		}
	}
	n, cerr := io.Copy(w, io.LimitReader(r, size))
	var sizeErr error
	switch {
	case cerr != nil:
	case n < size:
		sizeErr = fmt.Errorf("read %d bytes, want %d", n, size)
	default:
		var one [1]byte
		if m, _ := io.ReadFull(r, one[:]); m > 0 {
			sizeErr = fmt.Errorf("reader holds more than %d bytes", size)
		}
	}
	if sizeErr != nil || cerr != nil {
		// The body's end never reaches the server: the pipe feeding the
		// request fails instead of ending, and the request is cancelled.
		abort := sizeErr
		if abort == nil {
			abort = cerr
		}
		cancel(errAborted)
		// Close would end the body with EOF and could still finalize it.
		//lint:ignore SA1019 the ctx is cancelled too; only this fails the body's reader
		_ = w.CloseWithError(abort)
		if sizeErr != nil {
			return providers.ObjectInfo{}, providers.NewOpError(op, key, providers.ErrSizeMismatch, sizeErr)
		}
		if err := ctx.Err(); err != nil {
			return providers.ObjectInfo{}, providers.NewOpError(op, key, nil, err)
		}
		return providers.ObjectInfo{}, mapErr(op, key, cerr)
	}
	if err := w.Close(); err != nil {
		if ctx.Err() != nil {
			return providers.ObjectInfo{}, providers.NewOpError(op, key, nil, ctx.Err())
		}
		return providers.ObjectInfo{}, mapErr(op, key, err)
	}
	return objectInfo(w.Attrs()), nil
}

var errAborted = errors.New("upload aborted")

// Delete implements providers.Store; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.checkKey("delete", key); err != nil {
		return err
	}
	err := s.object(key).Delete(ctx)
	if err == nil || errors.Is(err, storage.ErrObjectNotExist) {
		return nil
	}
	me := mapErr("delete", key, err)
	if errors.Is(me, providers.ErrNotExist) && !errors.Is(me, providers.ErrBucketNotExist) {
		return nil
	}
	return me
}

// Copy implements providers.Store with the rewrite API (looped until done,
// so large and cross-class copies work). Metadata, when non-nil, replaces
// the user metadata (and ContentType, when set, the content type).
func (s *Store) Copy(ctx context.Context, src, dst string, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	if err := s.checkKey("copy", src); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := s.checkKey("copy", dst); err != nil {
		return providers.ObjectInfo{}, err
	}
	sobj := s.object(src)
	if opts.IfMatch != "" {
		g, err := parseGeneration("copy", src, opts.IfMatch)
		if err != nil {
			return providers.ObjectInfo{}, s.preconditionOrNotExist(ctx, "copy", src, err)
		}
		// Pinned to the generation, like Get: a generation that is gone is
		// a 404, turned into ErrPrecondition while the key exists. (On a
		// bucket with object versioning a noncurrent generation is still
		// copied.)
		sobj = sobj.Generation(g)
	}
	if opts.Metadata != nil && len(opts.Metadata) == 0 {
		return s.copyBare(ctx, src, dst, sobj, opts)
	}
	c := s.object(dst).CopierFrom(sobj)
	var want map[string]string
	if opts.Metadata != nil {
		want = writeMetadata(opts.Metadata)
		c.Metadata = want
		c.ContentType = opts.ContentType
	}
	attrs, err := c.Run(ctx)
	if err != nil {
		return providers.ObjectInfo{}, s.readErr(ctx, "copy", src, opts.IfMatch, err)
	}
	if opts.Metadata != nil && (!maps.Equal(attrs.Metadata, want) || (opts.ContentType != "" && attrs.ContentType != opts.ContentType)) {
		// The rewrite merged some source metadata: set it on the new
		// generation (a PATCH that names every key the source had).
		up := storage.ObjectAttrsToUpdate{Metadata: want}
		if opts.ContentType != "" {
			up.ContentType = opts.ContentType
		}
		attrs, err = s.object(dst).If(storage.Conditions{GenerationMatch: attrs.Generation}).Update(ctx, up)
		if err != nil {
			return providers.ObjectInfo{}, mapErr("copy", dst, err)
		}
	}
	info := objectInfo(attrs)
	info.Key = dst
	return info, nil
}

// copyBare copies src to dst with no user metadata. Neither a rewrite (an
// empty metadata map is not sent, so the source's is kept) nor a PATCH (a
// null map is ignored by emulators) can clear metadata everywhere, so this
// composes the one source into dst, which takes exactly the attributes
// given. A composite object has a CRC32C but no MD5.
func (s *Store) copyBare(ctx context.Context, src, dst string, sobj *storage.ObjectHandle, opts providers.CopyOptions) (providers.ObjectInfo, error) {
	sa, err := sobj.Attrs(ctx)
	if err != nil {
		return providers.ObjectInfo{}, s.readErr(ctx, "copy", src, opts.IfMatch, err)
	}
	ct := opts.ContentType
	if ct == "" {
		ct = sa.ContentType
	}
	c := s.object(dst).ComposerFrom(sobj)
	c.ContentType = ct
	attrs, err := c.Run(ctx)
	if err != nil {
		return providers.ObjectInfo{}, s.readErr(ctx, "copy", src, opts.IfMatch, err)
	}
	info := objectInfo(attrs)
	info.Key = dst
	return info, nil
}
