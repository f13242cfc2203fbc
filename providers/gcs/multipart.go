package gcs

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/byobfs/byob/providers"
)

// TempPrefix is the one bucket-level prefix under which composed (parallel)
// uploads keep their parts while they run: TempPrefix + nonce + "/" + the
// 5-digit part number, and "/c<level>-<i>" for intermediate composites.
// List never shows it and no Store call accepts a key under it. Complete
// and Abort delete an upload's objects; CleanupUploads removes those a
// killed process left behind.
const TempPrefix = ".byob-parts/"

const (
	uploadIDPrefix = "gcs1."
	nonceLen       = 32 // hex digits
	minPartSize    = 5 << 20
	maxParts       = 10000
	composeMax     = 32 // sources per compose request
	composeWorkers = 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// uploadInfo is what an upload ID carries besides its nonce: the content
// type and metadata for the finished object (GCS keeps nothing for an
// upload that has no parts yet), and the CRC32C of the key, so an ID is
// refused for another key.
type uploadInfo struct {
	ContentType string            `json:"ct,omitempty"`
	Metadata    map[string]string `json:"m,omitempty"`
	KeySum      uint32            `json:"k"`
}

type upload struct {
	s       *Store
	key     string
	nonce   string
	info    uploadInfo
	aborted atomic.Bool
}

var _ providers.Upload = (*upload)(nil)

// CreateMultipart implements providers.Multiparter. Nothing is sent: the
// upload exists as the part objects written under TempPrefix + nonce.
func (s *Store) CreateMultipart(ctx context.Context, key string, opts providers.PutOptions) (providers.Upload, error) {
	if err := s.checkKey("create-multipart", key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, providers.NewOpError("create-multipart", key, nil, err)
	}
	if opts.IfNoneMatch != "" && opts.IfNoneMatch != "*" {
		return nil, providers.NewOpError("create-multipart", key, providers.ErrInvalidArgument, errIfNoneMatch)
	}
	var b [nonceLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, providers.NewOpError("create-multipart", key, nil, err)
	}
	return &upload{s: s, key: key, nonce: hex.EncodeToString(b[:]), info: uploadInfo{
		ContentType: opts.ContentType,
		Metadata:    opts.Metadata,
		KeySum:      crc32.Checksum([]byte(key), castagnoli),
	}}, nil
}

// ResumeMultipart implements providers.Multiparter. An ID not made by
// CreateMultipart for this key is ErrUploadNotFound; an ID of ours whose
// parts are gone (completed, aborted or cleaned up) resumes with no parts.
func (s *Store) ResumeMultipart(ctx context.Context, key, uploadID string) (providers.Upload, error) {
	if err := s.checkKey("resume-multipart", key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, providers.NewOpError("resume-multipart", key, nil, err)
	}
	notFound := func(why string) error {
		return providers.NewOpError("resume-multipart", key, providers.ErrUploadNotFound, errors.New(why))
	}
	rest, ok := strings.CutPrefix(uploadID, uploadIDPrefix)
	if !ok {
		return nil, notFound("not a GCS composed-upload ID")
	}
	nonce, enc, _ := strings.Cut(rest, ".")
	if len(nonce) != nonceLen {
		return nil, notFound("malformed upload ID")
	}
	if _, err := hex.DecodeString(nonce); err != nil {
		return nil, notFound("malformed upload ID")
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil, notFound("malformed upload ID")
	}
	var info uploadInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, notFound("malformed upload ID")
	}
	if info.KeySum != crc32.Checksum([]byte(key), castagnoli) {
		return nil, notFound("the upload ID belongs to another key")
	}
	return &upload{s: s, key: key, nonce: nonce, info: info}, nil
}

// ID is "gcs1." + nonce + "." + base64url(JSON of uploadInfo).
func (u *upload) ID() string {
	js, _ := json.Marshal(u.info)
	return uploadIDPrefix + u.nonce + "." + base64.RawURLEncoding.EncodeToString(js)
}

func (u *upload) Key() string { return u.key }

func (u *upload) dir() string { return TempPrefix + u.nonce + "/" }

func (u *upload) partName(n int) string { return fmt.Sprintf("%s%05d", u.dir(), n) }

func (u *upload) gone(op string) error {
	return providers.NewOpError(op, u.key, providers.ErrUploadNotFound, errors.New("the upload was aborted"))
}

// UploadPart writes part n as a temporary object. The part's CRC32C is
// computed first (one pass over r, hardware-accelerated) and sent, so the
// server verifies the bytes it stores; with a caller's MD5 that is sent
// too. The stored object's CRC32C is checked against it.
func (u *upload) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (providers.Part, error) {
	const op = "upload-part"
	if u.aborted.Load() {
		return providers.Part{}, u.gone(op)
	}
	if n < 1 || n > maxParts {
		return providers.Part{}, providers.NewOpError(op, u.key, providers.ErrInvalidArgument, fmt.Errorf("part number %d outside 1..%d", n, maxParts))
	}
	if size < 0 || size > maxObjectSize {
		return providers.Part{}, providers.NewOpError(op, u.key, providers.ErrInvalidArgument, fmt.Errorf("part size %d", size))
	}
	if err := ctx.Err(); err != nil {
		return providers.Part{}, providers.NewOpError(op, u.key, nil, err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return providers.Part{}, providers.NewOpError(op, u.key, providers.ErrInvalidArgument, err)
	}
	h := crc32.New(castagnoli)
	got, err := io.Copy(h, io.LimitReader(r, size))
	if err != nil {
		return providers.Part{}, providers.NewOpError(op, u.key, nil, err)
	}
	if got != size {
		return providers.Part{}, providers.NewOpError(op, u.key, providers.ErrSizeMismatch, fmt.Errorf("read %d bytes, want %d", got, size))
	}
	crc := h.Sum32()
	if opts.Checksum.Algorithm == providers.ChecksumCRC32C {
		if v, ok := opts.Checksum.CRC32CValue(); ok && v != crc {
			// Sent as given: the server refuses the mismatch itself.
			crc = v
		}
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return providers.Part{}, providers.NewOpError(op, u.key, providers.ErrInvalidArgument, err)
	}
	popts := providers.PutOptions{ContentType: "application/octet-stream"}
	if opts.Checksum.Algorithm == providers.ChecksumMD5 {
		popts.Checksum = opts.Checksum
	}
	info, err := u.s.put(ctx, op, u.partName(n), r, size, popts, &crc)
	if err != nil {
		var oe *providers.OpError
		if errors.As(err, &oe) {
			oe.Key = u.key
		}
		return providers.Part{}, err
	}
	if stored, ok := crcOf(info.Checksums); ok && stored != crc {
		return providers.Part{}, providers.NewOpError(op, u.key, providers.ErrChecksum,
			fmt.Errorf("part %d stored with CRC32C %08x, sent %08x", n, stored, crc))
	}
	return providers.Part{Number: n, Size: size, ETag: info.Version, Checksum: providers.CRC32C(crc)}, nil
}

func crcOf(cs []providers.Checksum) (uint32, bool) {
	for _, c := range cs {
		if c.Algorithm == providers.ChecksumCRC32C {
			return c.CRC32CValue()
		}
	}
	return 0, false
}

// ListParts lists the part objects under the upload's prefix.
func (u *upload) ListParts(ctx context.Context) ([]providers.Part, error) {
	if u.aborted.Load() {
		return nil, u.gone("list-parts")
	}
	objs, err := u.s.listTemp(ctx, u.dir())
	if err != nil {
		return nil, mapErr("list-parts", u.key, err)
	}
	var parts []providers.Part
	for _, a := range objs {
		rest := strings.TrimPrefix(a.Name, u.dir())
		if len(rest) != 5 {
			continue // an intermediate composite
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 {
			continue
		}
		parts = append(parts, providers.Part{Number: n, Size: a.Size, ETag: strconv.FormatInt(a.Generation, 10), Checksum: providers.CRC32C(a.CRC32C)})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Number < parts[j].Number })
	return parts, nil
}

// listTemp lists every object under prefix (which lies under TempPrefix).
func (s *Store) listTemp(ctx context.Context, prefix string) ([]*storage.ObjectAttrs, error) {
	q := &storage.Query{Prefix: prefix, Projection: storage.ProjectionNoACL}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Generation", "CRC32C", "Created"}); err != nil {
		return nil, err
	}
	it := s.bucket.Retryer(storage.WithPolicy(storage.RetryNever)).Objects(ctx, q)
	var out []*storage.ObjectAttrs
	for {
		a, err := it.Next()
		if err == iterator.Done {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
}

// Complete composes the parts into the key. It lists the upload's parts
// first: every part asked for must be there with its size (and
// generation, when the Part carries one), and all but the last at least
// MinPartSize. Up to 32 sources go into one compose; more are composed in
// levels of intermediate objects. The last compose writes the key with
// the conditions (GCS enforces them there; they are also checked just
// before, since emulators ignore preconditions on compose). The result's
// size and CRC32C are checked against the parts' (combined), then every
// temporary object is deleted.
func (u *upload) Complete(ctx context.Context, parts []providers.Part, opts providers.CompleteOptions) (providers.ObjectInfo, error) {
	const op = "complete-multipart"
	s := u.s
	fail := func(kind error, format string, args ...any) (providers.ObjectInfo, error) {
		return providers.ObjectInfo{}, providers.NewOpError(op, u.key, kind, fmt.Errorf(format, args...))
	}
	if u.aborted.Load() {
		return providers.ObjectInfo{}, u.gone(op)
	}
	if opts.IfNoneMatch != "" && opts.IfNoneMatch != "*" {
		return providers.ObjectInfo{}, providers.NewOpError(op, u.key, providers.ErrInvalidArgument, errIfNoneMatch)
	}
	if len(parts) == 0 {
		return fail(providers.ErrInvalidArgument, "no parts")
	}
	have, err := u.ListParts(ctx)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	byNum := make(map[int]providers.Part, len(have))
	for _, p := range have {
		byNum[p.Number] = p
	}
	var (
		total   int64
		wantCRC uint32
		srcs    = make([]*storage.ObjectHandle, 0, len(parts))
	)
	for i, p := range parts {
		if i > 0 && p.Number <= parts[i-1].Number {
			return fail(providers.ErrInvalidArgument, "part numbers must ascend (%d after %d)", p.Number, parts[i-1].Number)
		}
		h, ok := byNum[p.Number]
		if !ok {
			return fail(providers.ErrInvalidArgument, "part %d was not uploaded", p.Number)
		}
		if p.Size != h.Size {
			return fail(providers.ErrInvalidArgument, "part %d holds %d bytes, not %d", p.Number, h.Size, p.Size)
		}
		if p.ETag != "" && p.ETag != h.ETag {
			return fail(providers.ErrInvalidArgument, "part %d was replaced since it was uploaded", p.Number)
		}
		if i < len(parts)-1 && h.Size < s.minPartSize() {
			return fail(providers.ErrInvalidArgument, "part %d holds %d bytes, under the minimum %d", p.Number, h.Size, s.minPartSize())
		}
		crc, _ := h.Checksum.CRC32CValue()
		if pc, ok := p.Checksum.CRC32CValue(); ok && p.Checksum.Algorithm == providers.ChecksumCRC32C && pc != crc {
			return fail(providers.ErrChecksum, "part %d has CRC32C %08x, not %08x", p.Number, crc, pc)
		}
		wantCRC = providers.CombineCRC32C(wantCRC, crc, h.Size)
		total += h.Size
		g, _ := strconv.ParseInt(h.ETag, 10, 64)
		srcs = append(srcs, s.object(u.partName(p.Number)).Generation(g))
	}
	if total > maxObjectSize {
		return fail(providers.ErrInvalidArgument, "%d bytes is over the maximum object size", total)
	}
	if c, ok := opts.Checksum.CRC32CValue(); ok && opts.Checksum.Algorithm == providers.ChecksumCRC32C && c != wantCRC {
		return fail(providers.ErrChecksum, "the parts' CRC32C is %08x, not %08x", wantCRC, c)
	}

	// Intermediate levels.
	for level := 0; len(srcs) > composeMax; level++ {
		srcs, err = u.composeLevel(ctx, level, srcs)
		if err != nil {
			return providers.ObjectInfo{}, err
		}
	}

	dst := s.object(u.key)
	switch {
	case opts.IfNoneMatch == "*":
		if _, err := s.object(u.key).Attrs(ctx); err == nil {
			return fail(providers.ErrPrecondition, "the key exists (IfNoneMatch *)")
		} else if !errors.Is(err, storage.ErrObjectNotExist) {
			return providers.ObjectInfo{}, mapErr(op, u.key, err)
		}
		dst = dst.If(storage.Conditions{DoesNotExist: true})
	case opts.IfMatch != "":
		g, err := parseGeneration(op, u.key, opts.IfMatch)
		if err != nil {
			return providers.ObjectInfo{}, err
		}
		a, err := s.object(u.key).Attrs(ctx)
		switch {
		case errors.Is(err, storage.ErrObjectNotExist):
			return fail(providers.ErrPrecondition, "the key does not exist (IfMatch)")
		case err != nil:
			return providers.ObjectInfo{}, mapErr(op, u.key, err)
		case a.Generation != g:
			return fail(providers.ErrPrecondition, "the key changed (IfMatch)")
		}
		dst = dst.If(storage.Conditions{GenerationMatch: g})
	}
	c := dst.ComposerFrom(srcs...)
	c.ContentType = u.info.ContentType
	c.Metadata = writeMetadata(u.info.Metadata)
	attrs, err := c.Run(ctx)
	if err != nil {
		return providers.ObjectInfo{}, mapErr(op, u.key, err)
	}
	if attrs.Size != total || (attrs.CRC32C != 0 && attrs.CRC32C != wantCRC) {
		// Never leave a wrong object behind (only this generation).
		_ = s.object(u.key).If(storage.Conditions{GenerationMatch: attrs.Generation}).Delete(context.WithoutCancel(ctx))
		return fail(providers.ErrChecksum, "composed object has %d bytes, CRC32C %08x; the parts make %d bytes, CRC32C %08x",
			attrs.Size, attrs.CRC32C, total, wantCRC)
	}
	u.cleanup(context.WithoutCancel(ctx))
	info := objectInfo(attrs)
	info.Key = u.key
	return info, nil
}

// composeLevel composes srcs in groups of 32 into intermediate objects,
// a few requests at a time, and returns those (in order).
func (u *upload) composeLevel(ctx context.Context, level int, srcs []*storage.ObjectHandle) ([]*storage.ObjectHandle, error) {
	n := (len(srcs) + composeMax - 1) / composeMax
	out := make([]*storage.ObjectHandle, n)
	errs := make([]error, n)
	sem := make(chan struct{}, composeWorkers)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		group := srcs[i*composeMax : min((i+1)*composeMax, len(srcs))]
		name := fmt.Sprintf("%sc%d-%05d", u.dir(), level, i)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c := u.s.object(name).ComposerFrom(group...)
			c.ContentType = "application/octet-stream"
			a, err := c.Run(ctx)
			if err != nil {
				errs[i] = mapErr("complete-multipart", u.key, err)
				return
			}
			out[i] = u.s.object(name).Generation(a.Generation)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// cleanup deletes the upload's temporary objects, best effort: what is left
// is removed by CleanupUploads.
func (u *upload) cleanup(ctx context.Context) int {
	objs, err := u.s.listTemp(ctx, u.dir())
	if err != nil {
		return 0
	}
	return u.s.deleteAll(ctx, objs)
}

func (s *Store) deleteAll(ctx context.Context, objs []*storage.ObjectAttrs) int {
	var deleted atomic.Int64
	sem := make(chan struct{}, composeWorkers)
	var wg sync.WaitGroup
	for _, a := range objs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := s.object(a.Name).Delete(ctx)
			if err == nil || errors.Is(err, storage.ErrObjectNotExist) {
				deleted.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(deleted.Load())
}

// Abort deletes the upload's part objects and makes this handle refuse
// further calls. Aborting twice is not an error.
func (u *upload) Abort(ctx context.Context) error {
	u.aborted.Store(true)
	objs, err := u.s.listTemp(ctx, u.dir())
	if err != nil {
		return mapErr("abort-multipart", u.key, err)
	}
	if n := u.s.deleteAll(ctx, objs); n != len(objs) {
		return providers.NewOpError("abort-multipart", u.key, nil, fmt.Errorf("%d of %d part objects could not be deleted", len(objs)-n, len(objs)))
	}
	return nil
}

// CleanupUploads deletes the temporary objects of composed uploads (under
// TempPrefix) created more than olderThan ago, left behind by processes
// that died before Complete or Abort, and returns how many it deleted.
// Uploads still running must be younger than olderThan (a day is safe).
func (s *Store) CleanupUploads(ctx context.Context, olderThan time.Duration) (int, error) {
	objs, err := s.listTemp(ctx, TempPrefix)
	if err != nil {
		return 0, mapErr("cleanup-uploads", TempPrefix, err)
	}
	cutoff := time.Now().Add(-olderThan)
	old := objs[:0]
	for _, a := range objs {
		if a.Created.Before(cutoff) {
			old = append(old, a)
		}
	}
	return s.deleteAll(ctx, old), nil
}
