package azure

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/byobfs/byob/providers"
)

const metaPrefix = "byobx_"

func isIdent(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// encodeMeta turns user metadata into Azure metadata (see doc.go).
func encodeMeta(op, key string, m map[string]string) (map[string]*string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]*string, len(m))
	for k, v := range m {
		k = strings.ToLower(k)
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] >= 0x7f {
				return nil, providers.NewOpError(op, key, providers.ErrInvalidArgument, fmt.Errorf("metadata %q: Azure metadata values must be printable ASCII", k))
			}
		}
		name := k
		if !isIdent(k) || strings.HasPrefix(k, metaPrefix) {
			name = metaPrefix + hex.EncodeToString([]byte(k))
		}
		out[name] = &v
	}
	return out, nil
}

// decodeMeta is the inverse of encodeMeta; keys come back lower-case.
func decodeMeta(m map[string]*string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		k = strings.ToLower(k)
		if rest, ok := strings.CutPrefix(k, metaPrefix); ok {
			if b, err := hex.DecodeString(rest); err == nil {
				k = string(b)
			}
		}
		if v != nil {
			out[k] = *v
		} else {
			out[k] = ""
		}
	}
	return out
}

func etagOf(e *azcore.ETag) string {
	if e == nil || *e == "" {
		return ""
	}
	// Get Blob Properties quotes the ETag, List Blobs does not: Versions
	// are always the quoted form, which If-Match takes.
	v := string(*e)
	if !strings.HasPrefix(v, `"`) && !strings.HasPrefix(v, `W/`) {
		v = `"` + v + `"`
	}
	return v
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

func md5Sums(b []byte) []providers.Checksum {
	if len(b) != 16 {
		return nil
	}
	return []providers.Checksum{{Algorithm: providers.ChecksumMD5, Sum: bytes.Clone(b)}}
}

// Stat implements providers.Store.
func (s *Store) Stat(ctx context.Context, key string) (providers.ObjectInfo, error) {
	if err := s.checkKey("stat", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	return s.stat(ctx, "stat", key, "")
}

func (s *Store) stat(ctx context.Context, op, key, ifMatch string) (providers.ObjectInfo, error) {
	r, err := s.blob(key).GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: accessConditions(ifMatch, "")})
	if err != nil {
		return providers.ObjectInfo{}, mapErr(op, key, err)
	}
	return providers.ObjectInfo{
		Key:         key,
		Size:        deref(r.ContentLength),
		Version:     etagOf(r.ETag),
		ETag:        etagOf(r.ETag),
		ModTime:     deref(r.LastModified),
		ContentType: deref(r.ContentType),
		Metadata:    decodeMeta(r.Metadata),
		Checksums:   md5Sums(r.ContentMD5),
	}, nil
}

// Get implements providers.Store. Reads are one Get Blob request, with
// x-ms-range when a range is asked and If-Match when opts.IfMatch is set.
func (s *Store) Get(ctx context.Context, key string, off, length int64, opts providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	if err := s.checkKey("get", key); err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	if off < 0 || length < -1 {
		return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrInvalidArgument, fmt.Errorf("offset %d, length %d", off, length))
	}
	if err := ctx.Err(); err != nil {
		return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, nil, err)
	}
	if length == 0 {
		info, err := s.stat(ctx, "get", key, opts.IfMatch)
		if err != nil {
			return nil, providers.ObjectInfo{}, err
		}
		if off > info.Size {
			return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrInvalidRange, fmt.Errorf("offset %d past the end (%d bytes)", off, info.Size))
		}
		return io.NopCloser(strings.NewReader("")), info, nil
	}
	o := &blob.DownloadStreamOptions{AccessConditions: accessConditions(opts.IfMatch, "")}
	ranged := off > 0 || length > 0
	if ranged {
		o.Range = blob.HTTPRange{Offset: off}
		if length > 0 {
			o.Range.Count = length
		}
	}
	r, err := s.blob(key).DownloadStream(ctx, o)
	if err != nil {
		if statusOf(err) == 416 {
			// A range starting at the end (or any range of an empty
			// object): empty at off == size, ErrInvalidRange past it.
			info, serr := s.stat(ctx, "get", key, opts.IfMatch)
			if serr != nil {
				return nil, providers.ObjectInfo{}, serr
			}
			if off == info.Size {
				return io.NopCloser(strings.NewReader("")), info, nil
			}
			return nil, providers.ObjectInfo{}, mapErr("get", key, err)
		}
		return nil, providers.ObjectInfo{}, mapErr("get", key, err)
	}
	size := deref(r.ContentLength)
	if ranged {
		if cr := deref(r.ContentRange); cr != "" {
			if i := strings.LastIndexByte(cr, '/'); i >= 0 {
				if n, perr := strconv.ParseInt(cr[i+1:], 10, 64); perr == nil {
					size = n
				}
			}
		}
	}
	info := providers.ObjectInfo{
		Key:         key,
		Size:        size,
		Version:     etagOf(r.ETag),
		ETag:        etagOf(r.ETag),
		ModTime:     deref(r.LastModified),
		ContentType: deref(r.ContentType),
		Metadata:    decodeMeta(r.Metadata),
	}
	if !ranged {
		info.Checksums = md5Sums(r.ContentMD5)
	} else {
		info.Checksums = md5Sums(r.BlobContentMD5)
	}
	return &body{rc: r.Body, op: "get", key: key}, info, nil
}

// body maps read errors of a download onto OpErrors.
type body struct {
	rc      io.ReadCloser
	op, key string
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = mapErr(b.op, b.key, err)
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }

func (s *Store) singlePutSize() int64 {
	if s.opts.SinglePutSize > 0 {
		return s.opts.SinglePutSize
	}
	return 32 << 20
}

// Put implements providers.Store. Up to SinglePutSize it buffers the body
// (exactly size bytes, checked before anything is sent) and sends one Put
// Blob; larger objects are staged as blocks and committed, which is just
// as atomic for readers.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	if err := s.checkKey("put", key); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := checkIfNoneMatch("put", key, opts.IfNoneMatch); err != nil {
		return providers.ObjectInfo{}, err
	}
	if size < 0 || size > maxObjectSize {
		return providers.ObjectInfo{}, providers.NewOpError("put", key, providers.ErrInvalidArgument, fmt.Errorf("size %d", size))
	}
	meta, err := encodeMeta("put", key, opts.Metadata)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return providers.ObjectInfo{}, providers.NewOpError("put", key, nil, err)
	}
	if size > s.singlePutSize() {
		return s.putBlocks(ctx, key, r, size, opts)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return providers.ObjectInfo{}, providers.NewOpError("put", key, providers.ErrSizeMismatch, fmt.Errorf("the reader ended before %d bytes", size))
		}
		return providers.ObjectInfo{}, mapErr("put", key, err)
	}
	if err := checkEOF(r); err != nil {
		return providers.ObjectInfo{}, providers.NewOpError("put", key, providers.ErrSizeMismatch, err)
	}
	if err := ctx.Err(); err != nil {
		return providers.ObjectInfo{}, providers.NewOpError("put", key, nil, err)
	}
	uo := &blockblob.UploadOptions{
		Metadata:         meta,
		AccessConditions: accessConditions(opts.IfMatch, opts.IfNoneMatch),
		HTTPHeaders:      &blob.HTTPHeaders{},
	}
	if opts.ContentType != "" {
		uo.HTTPHeaders.BlobContentType = &opts.ContentType
	}
	if opts.Checksum.Algorithm == providers.ChecksumMD5 && !opts.Checksum.IsZero() {
		// Content-MD5 on Put Blob: the service verifies it and stores it as
		// the blob's Content-MD5.
		uo.TransactionalValidation = blob.TransferValidationTypeMD5(opts.Checksum.Sum)
	}
	resp, err := s.blob(key).Upload(ctx, streaming.NopCloser(bytes.NewReader(buf)), uo)
	if err != nil {
		return providers.ObjectInfo{}, mapErr("put", key, err)
	}
	return providers.ObjectInfo{
		Key:         key,
		Size:        size,
		Version:     etagOf(resp.ETag),
		ETag:        etagOf(resp.ETag),
		ModTime:     deref(resp.LastModified),
		ContentType: opts.ContentType,
		Metadata:    providers.CloneMetadata(opts.Metadata),
		Checksums:   md5Sums(resp.ContentMD5),
	}, nil
}

// checkEOF reports an error when r has more bytes.
func checkEOF(r io.Reader) error {
	var one [1]byte
	for {
		n, err := r.Read(one[:])
		if n > 0 {
			return errors.New("the reader has more bytes than the size given")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// putBlocks stores a large Put as staged blocks and one commit.
func (s *Store) putBlocks(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	u, err := s.newUpload(key, opts)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	ps := s.singlePutSize()
	var parts []providers.Part
	buf := make([]byte, ps)
	for n, left := 1, size; left > 0; n++ {
		m := min(ps, left)
		if _, err := io.ReadFull(r, buf[:m]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return providers.ObjectInfo{}, providers.NewOpError("put", key, providers.ErrSizeMismatch, fmt.Errorf("the reader ended before %d bytes", size))
			}
			return providers.ObjectInfo{}, mapErr("put", key, err)
		}
		p, err := u.UploadPart(ctx, n, bytes.NewReader(buf[:m]), m, providers.PartOptions{})
		if err != nil {
			return providers.ObjectInfo{}, err
		}
		parts = append(parts, p)
		left -= m
	}
	if err := checkEOF(r); err != nil {
		return providers.ObjectInfo{}, providers.NewOpError("put", key, providers.ErrSizeMismatch, err)
	}
	return u.Complete(ctx, parts, providers.CompleteOptions{IfMatch: opts.IfMatch, IfNoneMatch: opts.IfNoneMatch})
}

// Delete implements providers.Store; a missing blob is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.checkKey("delete", key); err != nil {
		return err
	}
	_, err := s.blob(key).Delete(ctx, nil)
	if err != nil {
		me := mapErr("delete", key, err)
		if errors.Is(me, providers.ErrNotExist) {
			return nil
		}
		return me
	}
	return nil
}
