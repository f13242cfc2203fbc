package mem

import (
	"context"
	"crypto/md5"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strconv"

	"github.com/byobfs/byob/providers"
)

// upload is a multipart upload in progress. Its fields are GUARDED_BY the
// owning Store.mu; parts' data is immutable once stored.
type upload struct {
	id    string
	key   string
	opts  providers.PutOptions // metadata and content type of the object
	parts map[int]memPart
}

// memPart is an uploaded part: its bytes and what UploadPart returned.
type memPart struct {
	data []byte
	part providers.Part
}

// handle is a providers.Upload: a reference to an upload by ID. Any number
// of handles (from CreateMultipart and ResumeMultipart) may share one.
type handle struct {
	s   *Store
	id  string
	key string
}

var _ providers.Upload = (*handle)(nil)

// CreateMultipart starts an upload of key. opts' metadata and content type
// apply to the finished object; its conditions are given again at Complete.
func (s *Store) CreateMultipart(ctx context.Context, key string, opts providers.PutOptions) (providers.Upload, error) {
	if err := ctxErr(ctx, "create-multipart", key); err != nil {
		return nil, err
	}
	if err := s.checkKey("create-multipart", key); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "mem-upload-" + strconv.FormatUint(s.nextLocked(), 10)
	s.uploads[id] = &upload{
		id:    id,
		key:   key,
		opts:  providers.PutOptions{ContentType: opts.ContentType, Metadata: providers.CloneMetadata(opts.Metadata)},
		parts: map[int]memPart{},
	}
	return &handle{s: s, id: id, key: key}, nil
}

// ResumeMultipart returns a handle on an upload of key still in progress in
// this store; an unknown ID (or one for another key) is ErrUploadNotFound.
func (s *Store) ResumeMultipart(ctx context.Context, key, uploadID string) (providers.Upload, error) {
	if err := ctxErr(ctx, "resume-multipart", key); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.uploads[uploadID]; !ok || u.key != key {
		return nil, providers.NewOpError("resume-multipart", key, providers.ErrUploadNotFound, fmt.Errorf("upload %q", uploadID))
	}
	return &handle{s: s, id: uploadID, key: key}, nil
}

// ID identifies the upload for ResumeMultipart.
func (h *handle) ID() string { return h.id }

// Key is the object key the upload creates.
func (h *handle) Key() string { return h.key }

// lookupLocked returns the upload or an ErrUploadNotFound OpError.
// REQUIRES: h.s.mu held.
func (h *handle) lookupLocked(op string) (*upload, error) {
	u, ok := h.s.uploads[h.id]
	if !ok {
		return nil, providers.NewOpError(op, h.key, providers.ErrUploadNotFound, fmt.Errorf("upload %q", h.id))
	}
	return u, nil
}

// UploadPart stores part n (1..MaxParts) of size bytes (at most
// MaxPartSize) read from the start of r, replacing an earlier part n.
func (h *handle) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (providers.Part, error) {
	const op = "upload-part"
	if err := ctxErr(ctx, op, h.key); err != nil {
		return providers.Part{}, err
	}
	if n < 1 || n > h.s.opts.MaxParts {
		return providers.Part{}, providers.NewOpError(op, h.key, providers.ErrInvalidArgument,
			fmt.Errorf("part number %d outside [1, %d]", n, h.s.opts.MaxParts))
	}
	if size < 0 || size > h.s.opts.MaxPartSize {
		return providers.Part{}, providers.NewOpError(op, h.key, providers.ErrInvalidArgument,
			fmt.Errorf("part size %d outside [0, %d]", size, h.s.opts.MaxPartSize))
	}
	h.s.mu.Lock()
	_, err := h.lookupLocked(op)
	h.s.mu.Unlock()
	if err != nil {
		return providers.Part{}, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return providers.Part{}, providers.NewOpError(op, h.key, nil, err)
	}
	data, err := readExactly(ctx, op, h.key, r, size)
	if err != nil {
		return providers.Part{}, err
	}
	sums, err := verifyChecksum(op, h.key, data, opts.Checksum)
	if err != nil {
		return providers.Part{}, err
	}
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	u, err := h.lookupLocked(op)
	if err != nil {
		return providers.Part{}, err
	}
	sum := sums[0]
	if !opts.Checksum.IsZero() {
		sum = opts.Checksum
	}
	p := providers.Part{
		Number:   n,
		Size:     size,
		ETag:     `"mem-part-` + strconv.FormatUint(h.s.nextLocked(), 10) + `"`,
		Checksum: sum,
	}
	u.parts[n] = memPart{data: data, part: p}
	return p, nil
}

// ListParts returns the upload's parts by ascending number.
func (h *handle) ListParts(ctx context.Context) ([]providers.Part, error) {
	if err := ctxErr(ctx, "list-parts", h.key); err != nil {
		return nil, err
	}
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	u, err := h.lookupLocked("list-parts")
	if err != nil {
		return nil, err
	}
	out := make([]providers.Part, 0, len(u.parts))
	for _, p := range u.parts {
		out = append(out, p.part)
	}
	slices.SortFunc(out, func(a, b providers.Part) int { return a.Number - b.Number })
	return out, nil
}

// Complete assembles parts (strictly ascending numbers, each with the ETag
// UploadPart returned, all but the last at least MinPartSize) into the
// object, checking opts' conditions and checksum at commit. The upload
// stays open when Complete fails, so it can be retried.
func (h *handle) Complete(ctx context.Context, parts []providers.Part, opts providers.CompleteOptions) (providers.ObjectInfo, error) {
	const op = "complete-multipart"
	if err := ctxErr(ctx, op, h.key); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := checkIfNoneMatch(op, h.key, opts.IfNoneMatch); err != nil {
		return providers.ObjectInfo{}, err
	}
	h.s.mu.Lock()
	u, err := h.lookupLocked(op)
	if err != nil {
		h.s.mu.Unlock()
		return providers.ObjectInfo{}, err
	}
	chosen, total, err := h.s.chooseLocked(u, parts)
	h.s.mu.Unlock()
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	// Assemble outside the lock: part data is immutable.
	data := make([]byte, 0, total)
	for _, p := range chosen {
		data = append(data, p.data...)
	}
	sums, err := verifyChecksum(op, h.key, data, opts.Checksum)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	u, err = h.lookupLocked(op)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	for _, p := range chosen {
		if cur, ok := u.parts[p.part.Number]; !ok || cur.part.ETag != p.part.ETag {
			return providers.ObjectInfo{}, providers.NewOpError(op, h.key, providers.ErrPrecondition,
				fmt.Errorf("part %d replaced while completing", p.part.Number))
		}
	}
	if err := h.s.checkConditionsLocked(op, h.key, opts.IfMatch, opts.IfNoneMatch); err != nil {
		return providers.ObjectInfo{}, err
	}
	if opts.Checksum.Algorithm == providers.ChecksumMD5 {
		m := md5.Sum(data)
		sums = []providers.Checksum{providers.CRC32C(crc32.Checksum(data, providers.CRC32CTable)), {Algorithm: providers.ChecksumMD5, Sum: m[:]}}
	}
	o := h.s.newObjectLocked(h.key, data, u.opts.ContentType, u.opts.Metadata, sums)
	h.s.setLocked(h.key, o)
	delete(h.s.uploads, h.id)
	return infoOf(o), nil
}

// chooseLocked validates the parts list against the upload and returns the
// stored parts in order with their total size. REQUIRES: s.mu held.
func (s *Store) chooseLocked(u *upload, parts []providers.Part) ([]memPart, int64, error) {
	const op = "complete-multipart"
	if len(parts) == 0 {
		return nil, 0, providers.NewOpError(op, u.key, providers.ErrInvalidArgument, fmt.Errorf("no parts"))
	}
	chosen := make([]memPart, 0, len(parts))
	var total int64
	for i, p := range parts {
		if i > 0 && p.Number <= parts[i-1].Number {
			return nil, 0, providers.NewOpError(op, u.key, providers.ErrInvalidArgument,
				fmt.Errorf("part numbers not ascending: %d after %d", p.Number, parts[i-1].Number))
		}
		mp, ok := u.parts[p.Number]
		if !ok || (p.ETag != "" && p.ETag != mp.part.ETag) {
			return nil, 0, providers.NewOpError(op, u.key, providers.ErrInvalidArgument,
				fmt.Errorf("part %d (ETag %s) not uploaded", p.Number, p.ETag))
		}
		if i < len(parts)-1 && mp.part.Size < s.opts.MinPartSize {
			return nil, 0, providers.NewOpError(op, u.key, providers.ErrInvalidArgument,
				fmt.Errorf("part %d is %d bytes, under the minimum %d", p.Number, mp.part.Size, s.opts.MinPartSize))
		}
		total += mp.part.Size
		chosen = append(chosen, mp)
	}
	if total > s.opts.MaxObjectSize {
		return nil, 0, providers.NewOpError(op, u.key, providers.ErrInvalidArgument,
			fmt.Errorf("object of %d bytes over the maximum %d", total, s.opts.MaxObjectSize))
	}
	return chosen, total, nil
}

// Abort discards the upload and its parts; aborting an unknown, aborted or
// completed upload is not an error.
func (h *handle) Abort(ctx context.Context) error {
	if err := ctxErr(ctx, "abort-multipart", h.key); err != nil {
		return err
	}
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	delete(h.s.uploads, h.id)
	return nil
}
