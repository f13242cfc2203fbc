package azure

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/byobfs/byob/providers"
)

// Upload IDs are "azb1." + 16 hex digits of nonce [+ "." + base64url of
// the JSON content type and metadata]; block IDs are base64
// of the nonce and the 5-digit part number (21 bytes, so every block ID of
// every upload has one length, as Azure requires within a blob).
const (
	uploadIDPrefix = "azb1."
	nonceLen       = 16
)

func blockID(nonce string, n int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s%05d", nonce, n))
}

// parseBlockID returns the nonce and part number of a block ID of ours.
func parseBlockID(id string) (string, int, bool) {
	b, err := base64.StdEncoding.DecodeString(id)
	if err != nil || len(b) != nonceLen+5 {
		return "", 0, false
	}
	n, err := strconv.Atoi(string(b[nonceLen:]))
	if err != nil {
		return "", 0, false
	}
	return string(b[:nonceLen]), n, true
}

type upload struct {
	s       *Store
	key     string
	nonce   string
	opts    providers.PutOptions
	meta    map[string]*string
	aborted atomic.Bool
}

var _ providers.Upload = (*upload)(nil)

func (s *Store) newUpload(key string, opts providers.PutOptions) (*upload, error) {
	var b [nonceLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, providers.NewOpError("create-multipart", key, nil, err)
	}
	meta, err := encodeMeta("create-multipart", key, opts.Metadata)
	if err != nil {
		return nil, err
	}
	return &upload{s: s, key: key, nonce: hex.EncodeToString(b[:]), opts: opts, meta: meta}, nil
}

// CreateMultipart implements providers.Multiparter. Nothing is sent: the
// upload exists only as blocks staged under its nonce.
func (s *Store) CreateMultipart(ctx context.Context, key string, opts providers.PutOptions) (providers.Upload, error) {
	if err := s.checkKey("create-multipart", key); err != nil {
		return nil, err
	}
	if err := checkIfNoneMatch("create-multipart", key, opts.IfNoneMatch); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, providers.NewOpError("create-multipart", key, nil, err)
	}
	return s.newUpload(key, opts)
}

// ResumeMultipart implements providers.Multiparter. The ID is parsed, not
// looked up (Azure keeps no upload): it carries the nonce and the content
// type and metadata given to CreateMultipart, which Azure cannot hold for
// an uncommitted blob.
func (s *Store) ResumeMultipart(ctx context.Context, key, uploadID string) (providers.Upload, error) {
	if err := s.checkKey("resume-multipart", key); err != nil {
		return nil, err
	}
	bad := providers.NewOpError("resume-multipart", key, providers.ErrUploadNotFound, errors.New("not an upload ID of this backend"))
	rest, ok := strings.CutPrefix(uploadID, uploadIDPrefix)
	if !ok {
		return nil, bad
	}
	nonce, enc, _ := strings.Cut(rest, ".")
	if len(nonce) != nonceLen {
		return nil, bad
	}
	if _, err := hex.DecodeString(nonce); err != nil {
		return nil, bad
	}
	var st idState
	if enc != "" {
		b, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil || json.Unmarshal(b, &st) != nil {
			return nil, bad
		}
	}
	opts := providers.PutOptions{ContentType: st.ContentType, Metadata: st.Metadata}
	meta, err := encodeMeta("resume-multipart", key, opts.Metadata)
	if err != nil {
		return nil, err
	}
	return &upload{s: s, key: key, nonce: nonce, opts: opts, meta: meta}, nil
}

// idState is what an upload ID carries besides the nonce.
type idState struct {
	ContentType string            `json:"t,omitempty"`
	Metadata    map[string]string `json:"m,omitempty"`
}

func (u *upload) ID() string {
	id := uploadIDPrefix + u.nonce
	if u.opts.ContentType != "" || len(u.opts.Metadata) > 0 {
		b, _ := json.Marshal(idState{ContentType: u.opts.ContentType, Metadata: providers.CloneMetadata(u.opts.Metadata)})
		id += "." + base64.RawURLEncoding.EncodeToString(b)
	}
	return id
}

func (u *upload) Key() string { return u.key }

// UploadPart stages block n (Put Block). A part MD5 is sent as Content-MD5
// for the service to verify; other checksums are not sent.
func (u *upload) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (providers.Part, error) {
	if n < 1 || n > maxParts {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, providers.ErrInvalidArgument, fmt.Errorf("part number %d outside 1..%d", n, maxParts))
	}
	if size < 0 || size > maxPartSize {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, providers.ErrInvalidArgument, fmt.Errorf("part size %d", size))
	}
	if u.aborted.Load() {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, providers.ErrUploadNotFound, errAborted)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, nil, err)
	}
	// Verify the reader holds size bytes before sending: the request's
	// Content-Length is size.
	end, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, nil, err)
	}
	if end < size {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, providers.ErrSizeMismatch, fmt.Errorf("the reader holds %d bytes, not %d", end, size))
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return providers.Part{}, providers.NewOpError("upload-part", u.key, nil, err)
	}
	id := blockID(u.nonce, n)
	so := &blockblob.StageBlockOptions{}
	if opts.Checksum.Algorithm == providers.ChecksumMD5 && !opts.Checksum.IsZero() {
		so.TransactionalValidation = blob.TransferValidationTypeMD5(opts.Checksum.Sum)
	}
	if _, err := u.s.blob(u.key).StageBlock(ctx, id, &limitedSeeker{r: r, size: size}, so); err != nil {
		return providers.Part{}, mapErr("upload-part", u.key, err)
	}
	return providers.Part{Number: n, Size: size, ETag: id, Checksum: opts.Checksum}, nil
}

// ListParts reads the blob's uncommitted block list and keeps this
// upload's blocks.
func (u *upload) ListParts(ctx context.Context) ([]providers.Part, error) {
	if u.aborted.Load() {
		return nil, providers.NewOpError("list-parts", u.key, providers.ErrUploadNotFound, errAborted)
	}
	resp, err := u.s.blob(u.key).GetBlockList(ctx, blockblob.BlockListTypeUncommitted, nil)
	if err != nil {
		me := mapErr("list-parts", u.key, err)
		if errors.Is(me, providers.ErrNotExist) {
			return []providers.Part{}, nil // no block staged yet (or all expired)
		}
		return nil, me
	}
	parts := []providers.Part{}
	for _, b := range resp.UncommittedBlocks {
		nonce, n, ok := parseBlockID(deref(b.Name))
		if !ok || nonce != u.nonce {
			continue
		}
		parts = append(parts, providers.Part{Number: n, Size: deref(b.Size), ETag: deref(b.Name)})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Number < parts[j].Number })
	return parts, nil
}

// Complete commits the block list (Put Block List) with the upload's
// metadata and content type and the conditions. A whole-object MD5 is
// stored as the blob's Content-MD5 (x-ms-blob-content-md5); the service
// does not verify it against the blocks.
func (u *upload) Complete(ctx context.Context, parts []providers.Part, opts providers.CompleteOptions) (providers.ObjectInfo, error) {
	if err := checkIfNoneMatch("complete", u.key, opts.IfNoneMatch); err != nil {
		return providers.ObjectInfo{}, err
	}
	if u.aborted.Load() {
		return providers.ObjectInfo{}, providers.NewOpError("complete", u.key, providers.ErrUploadNotFound, errAborted)
	}
	ids := make([]string, 0, len(parts))
	var size int64
	for i, p := range parts {
		if p.Number < 1 || p.Number > maxParts || (i > 0 && p.Number <= parts[i-1].Number) {
			return providers.ObjectInfo{}, providers.NewOpError("complete", u.key, providers.ErrInvalidArgument, errors.New("parts must have ascending numbers in 1..50000"))
		}
		id := blockID(u.nonce, p.Number)
		if p.ETag != "" && p.ETag != id {
			return providers.ObjectInfo{}, providers.NewOpError("complete", u.key, providers.ErrInvalidArgument, fmt.Errorf("part %d is not a block of this upload", p.Number))
		}
		ids = append(ids, id)
		size += p.Size
	}
	co := &blockblob.CommitBlockListOptions{
		Metadata:         u.meta,
		AccessConditions: accessConditions(opts.IfMatch, opts.IfNoneMatch),
		HTTPHeaders:      &blob.HTTPHeaders{},
	}
	if u.opts.ContentType != "" {
		co.HTTPHeaders.BlobContentType = &u.opts.ContentType
	}
	if opts.Checksum.Algorithm == providers.ChecksumMD5 && !opts.Checksum.IsZero() {
		co.HTTPHeaders.BlobContentMD5 = opts.Checksum.Sum
	}
	resp, err := u.s.blob(u.key).CommitBlockList(ctx, ids, co)
	if err != nil {
		return providers.ObjectInfo{}, mapErr("complete", u.key, err)
	}
	info := providers.ObjectInfo{
		Key:         u.key,
		Size:        size,
		Version:     etagOf(resp.ETag),
		ETag:        etagOf(resp.ETag),
		ModTime:     deref(resp.LastModified),
		ContentType: u.opts.ContentType,
		Metadata:    providers.CloneMetadata(u.opts.Metadata),
	}
	if co.HTTPHeaders.BlobContentMD5 != nil {
		info.Checksums = md5Sums(co.HTTPHeaders.BlobContentMD5)
	}
	return info, nil
}

// Abort forgets the upload in this handle (its UploadPart, ListParts and
// Complete then fail with ErrUploadNotFound) and deletes nothing: Azure
// has no call to discard uncommitted blocks short of committing or
// deleting the blob, and they expire after 7 days. Another handle resumed
// from the same ID could still commit them.
func (u *upload) Abort(ctx context.Context) error {
	u.aborted.Store(true)
	return nil
}

// limitedSeeker exposes the first size bytes of r as a ReadSeekCloser.
type limitedSeeker struct {
	r    io.ReadSeeker
	size int64
	pos  int64
}

func (l *limitedSeeker) Read(p []byte) (int, error) {
	if l.pos >= l.size {
		return 0, io.EOF
	}
	if int64(len(p)) > l.size-l.pos {
		p = p[:l.size-l.pos]
	}
	n, err := l.r.Read(p)
	l.pos += int64(n)
	if err == io.EOF && l.pos < l.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (l *limitedSeeker) Seek(off int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = off
	case io.SeekCurrent:
		abs = l.pos + off
	case io.SeekEnd:
		abs = l.size + off
	}
	if abs < 0 || abs > l.size {
		return 0, errors.New("seek out of range")
	}
	if _, err := l.r.Seek(abs, io.SeekStart); err != nil {
		return 0, err
	}
	l.pos = abs
	return abs, nil
}

func (l *limitedSeeker) Close() error { return nil }

var errAborted = errors.New("the upload was aborted")
