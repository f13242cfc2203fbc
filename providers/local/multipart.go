package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/byobfs/byob/providers"
)

// A multipart upload is the folder .byob-local/uploads/<id>: upload.json
// (the key, content type and metadata) and one file per part, named by its
// number. Parts are written as temporary files in that folder and renamed
// into place, so a part file is always whole. Complete concatenates the
// parts into a temporary file, renames it into place like Put and removes
// the folder; Abort removes the folder. Nothing expires: an upload lives
// until it is completed or aborted.

const (
	uploadManifest = "upload.json"
	uploadIDBytes  = 16 // random bytes in an upload ID (32 hex digits)
)

// uploadManifestData is upload.json.
type uploadManifestData struct {
	Key         string            `json:"key"`
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Created     time.Time         `json:"created"`
}

// upload is one multipart upload of a Store.
type upload struct {
	s   *Store
	id  string
	dir string
	m   uploadManifestData
	om  objectMeta
}

var _ providers.Upload = (*upload)(nil)

// CreateMultipart starts an upload of key: a new folder under the reserved
// folder, with a random ID.
func (s *Store) CreateMultipart(ctx context.Context, key string, opts providers.PutOptions) (providers.Upload, error) {
	const op = "create-multipart"
	if err := ctx.Err(); err != nil {
		return nil, opErr(op, key, err)
	}
	if err := checkKey(key); err != nil {
		return nil, kindErr(op, key, providers.ErrInvalidKey, err)
	}
	om, err := parseMeta(op, key, opts.ContentType, opts.Metadata)
	if err != nil {
		return nil, err
	}
	b := make([]byte, uploadIDBytes)
	rand.Read(b)
	u := &upload{s: s, id: hex.EncodeToString(b), om: om, m: uploadManifestData{
		Key:         key,
		ContentType: opts.ContentType,
		Metadata:    providers.CloneMetadata(opts.Metadata),
		Created:     time.Now().UTC(),
	}}
	u.dir = filepath.Join(s.upDir, u.id)
	if err := os.MkdirAll(s.upDir, 0o700); err != nil {
		return nil, opErr(op, key, err)
	}
	if err := os.Mkdir(u.dir, 0o700); err != nil {
		return nil, opErr(op, key, err)
	}
	data, err := json.Marshal(u.m)
	if err == nil {
		err = writeFileAtomic(filepath.Join(u.dir, uploadManifest), data)
	}
	if err != nil {
		os.RemoveAll(u.dir)
		return nil, opErr(op, key, err)
	}
	return u, nil
}

// writeFileAtomic writes a small file through a temporary name beside it.
func writeFileAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// ResumeMultipart reattaches to the upload with this ID, which must have
// been started for key (by this or any other process on the same root).
func (s *Store) ResumeMultipart(ctx context.Context, key, uploadID string) (providers.Upload, error) {
	const op = "resume-multipart"
	if err := ctx.Err(); err != nil {
		return nil, opErr(op, key, err)
	}
	if err := checkKey(key); err != nil {
		return nil, kindErr(op, key, providers.ErrInvalidKey, err)
	}
	if b, err := hex.DecodeString(uploadID); err != nil || len(b) != uploadIDBytes || hex.EncodeToString(b) != uploadID {
		return nil, kindErr(op, key, providers.ErrUploadNotFound, fmt.Errorf("%q is not a local upload ID", uploadID))
	}
	u := &upload{s: s, id: uploadID, dir: filepath.Join(s.upDir, uploadID)}
	data, err := os.ReadFile(filepath.Join(u.dir, uploadManifest))
	if isNotExist(err) {
		return nil, kindErr(op, key, providers.ErrUploadNotFound, fmt.Errorf("no upload %s (completed, aborted, or never started here)", uploadID))
	}
	if err != nil {
		return nil, opErr(op, key, err)
	}
	if err := json.Unmarshal(data, &u.m); err != nil {
		return nil, opErr(op, key, fmt.Errorf("upload %s: %w", uploadID, err))
	}
	if u.m.Key != key {
		return nil, kindErr(op, key, providers.ErrUploadNotFound, fmt.Errorf("upload %s is for key %q", uploadID, u.m.Key))
	}
	if u.om, err = parseMeta(op, key, u.m.ContentType, u.m.Metadata); err != nil {
		return nil, err
	}
	return u, nil
}

// ID returns the upload's ID.
func (u *upload) ID() string { return u.id }

// Key returns the key the upload creates.
func (u *upload) Key() string { return u.m.Key }

// notFound is ErrUploadNotFound for this upload.
func (u *upload) notFound(op string, cause error) error {
	return kindErr(op, u.m.Key, providers.ErrUploadNotFound, fmt.Errorf("upload %s: %w", u.id, cause))
}

// UploadPart writes part n to a temporary file in the upload's folder and
// renames it to n, replacing an earlier part n. The part's checksum (the one
// given, verified, else CRC32C) is kept in an xattr for ListParts.
func (u *upload) UploadPart(ctx context.Context, n int, r io.ReadSeeker, size int64, opts providers.PartOptions) (providers.Part, error) {
	const op = "upload-part"
	key := u.m.Key
	if err := ctx.Err(); err != nil {
		return providers.Part{}, opErr(op, key, err)
	}
	if n < 1 || n > maxParts || size < 0 || size > maxPartSize {
		return providers.Part{}, kindErr(op, key, providers.ErrInvalidArgument, fmt.Errorf("part %d of %d bytes: parts are 1..%d of at most %d bytes", n, size, maxParts, int64(maxPartSize)))
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return providers.Part{}, opErr(op, key, err)
	}
	t, err := u.s.createTemp(op, key, u.dir, strconv.Itoa(n)+".tmp-*")
	if isNotExist(err) {
		return providers.Part{}, u.notFound(op, err)
	}
	if err != nil {
		return providers.Part{}, err
	}
	defer t.discard()
	sum, err := u.s.receive(ctx, op, key, t.f, r, size, opts.Checksum, providers.ChecksumCRC32C)
	if err != nil {
		return providers.Part{}, err
	}
	if b, err := json.Marshal(sum); err == nil && !u.s.noXattr {
		_ = setxattr(t.f, xattrSum, b) // without xattrs ListParts reports no checksum
	}
	if !u.s.opts.NoSync {
		if err := t.f.Sync(); err != nil {
			return providers.Part{}, opErr(op, key, err)
		}
	}
	if err := os.Rename(t.path, filepath.Join(u.dir, strconv.Itoa(n))); err != nil {
		if isNotExist(err) {
			return providers.Part{}, u.notFound(op, err)
		}
		return providers.Part{}, opErr(op, key, err)
	}
	t.path = ""
	fi, err := t.f.Stat()
	if err != nil {
		return providers.Part{}, opErr(op, key, err)
	}
	return providers.Part{Number: n, Size: fi.Size(), ETag: baseInfo(key, fi).Version, Checksum: sum}, nil
}

// ListParts returns the parts in the upload's folder, by number.
func (u *upload) ListParts(ctx context.Context) ([]providers.Part, error) {
	const op = "list-parts"
	if err := ctx.Err(); err != nil {
		return nil, opErr(op, u.m.Key, err)
	}
	des, err := os.ReadDir(u.dir)
	if isNotExist(err) {
		return nil, u.notFound(op, err)
	}
	if err != nil {
		return nil, opErr(op, u.m.Key, err)
	}
	var parts []providers.Part
	for _, de := range des {
		n, err := strconv.Atoi(de.Name())
		if err != nil || n < 1 || strconv.Itoa(n) != de.Name() {
			continue // the manifest, a part being written
		}
		p, err := u.part(n)
		if isNotExist(err) {
			continue // replaced or aborted since the folder was read
		}
		if err != nil {
			return nil, opErr(op, u.m.Key, err)
		}
		parts = append(parts, p)
	}
	slices.SortFunc(parts, func(a, b providers.Part) int { return a.Number - b.Number })
	return parts, nil
}

// part describes part n as stored.
func (u *upload) part(n int) (providers.Part, error) {
	f, err := os.Open(filepath.Join(u.dir, strconv.Itoa(n)))
	if err != nil {
		return providers.Part{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return providers.Part{}, err
	}
	p := providers.Part{Number: n, Size: fi.Size(), ETag: baseInfo(u.m.Key, fi).Version}
	if b := getxattr(f, xattrSum); b != nil {
		_ = json.Unmarshal(b, &p.Checksum)
	}
	return p, nil
}

// Complete concatenates the given parts, in order, into a temporary file
// and renames it into place as Put does (honouring the conditions), then
// removes the upload's folder. Every part but the last must be at least
// MinPartSize; a part whose ETag or size differs from the stored part is
// ErrInvalidArgument. opts.Checksum, when CRC32C or MD5, is verified against
// the whole object's bytes.
func (u *upload) Complete(ctx context.Context, parts []providers.Part, opts providers.CompleteOptions) (providers.ObjectInfo, error) {
	const op = "complete-multipart"
	s, key := u.s, u.m.Key
	if err := ctx.Err(); err != nil {
		return providers.ObjectInfo{}, opErr(op, key, err)
	}
	c := cond{ifMatch: opts.IfMatch, ifNoneMatch: opts.IfNoneMatch}
	if err := c.check(op, key); err != nil {
		return providers.ObjectInfo{}, err
	}
	if _, err := os.Stat(filepath.Join(u.dir, uploadManifest)); isNotExist(err) {
		return providers.ObjectInfo{}, u.notFound(op, err)
	}
	if len(parts) == 0 {
		return providers.ObjectInfo{}, kindErr(op, key, providers.ErrInvalidArgument, errors.New("no parts"))
	}
	for i, p := range parts {
		if i > 0 && p.Number <= parts[i-1].Number {
			return providers.ObjectInfo{}, kindErr(op, key, providers.ErrInvalidArgument, fmt.Errorf("part %d after part %d: numbers must ascend", p.Number, parts[i-1].Number))
		}
		if n := p.Number; n < 1 || n > maxParts {
			return providers.ObjectInfo{}, kindErr(op, key, providers.ErrInvalidArgument, fmt.Errorf("part number %d is outside 1..%d", n, maxParts))
		}
	}
	if err := s.precheck(op, key, c); err != nil {
		return providers.ObjectInfo{}, err
	}
	t, err := s.createTemp(op, key, s.tmpDir, "complete-*")
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	defer t.discard()
	var w io.Writer = t.f
	h := hasher(opts.Checksum.Algorithm)
	if h != nil && !opts.Checksum.IsZero() {
		w = io.MultiWriter(t.f, h) // costs the kernel-side copy: only when asked
	}
	for i, p := range parts {
		if err := u.appendPart(ctx, op, w, p, i == len(parts)-1); err != nil {
			return providers.ObjectInfo{}, err
		}
	}
	var sum providers.Checksum
	if h != nil && !opts.Checksum.IsZero() {
		sum = providers.Checksum{Algorithm: opts.Checksum.Algorithm, Sum: h.Sum(nil)}
		if !sum.Equal(opts.Checksum) {
			return providers.ObjectInfo{}, kindErr(op, key, providers.ErrChecksum, fmt.Errorf("got %v, want %v", sum, opts.Checksum))
		}
	}
	if err := u.om.apply(s, op, key, t); err != nil {
		return providers.ObjectInfo{}, err
	}
	info, err := s.commit(op, key, t, c)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	os.RemoveAll(u.dir) // the object is in place; a leftover folder only costs space
	if !sum.IsZero() {
		info.Checksums = []providers.Checksum{sum}
	}
	return info, nil
}

// appendPart copies stored part p to w after checking it matches p.
func (u *upload) appendPart(ctx context.Context, op string, w io.Writer, p providers.Part, last bool) error {
	key := u.m.Key
	f, err := os.Open(filepath.Join(u.dir, strconv.Itoa(p.Number)))
	if isNotExist(err) {
		if _, serr := os.Stat(u.dir); isNotExist(serr) {
			return u.notFound(op, err)
		}
		return kindErr(op, key, providers.ErrInvalidArgument, fmt.Errorf("part %d was not uploaded", p.Number))
	}
	if err != nil {
		return opErr(op, key, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return opErr(op, key, err)
	}
	if etag := baseInfo(key, fi).Version; p.ETag != "" && p.ETag != etag {
		return kindErr(op, key, providers.ErrInvalidArgument, fmt.Errorf("part %d: ETag %s, the stored part has %s", p.Number, p.ETag, etag))
	}
	if p.Size != 0 && p.Size != fi.Size() {
		return kindErr(op, key, providers.ErrInvalidArgument, fmt.Errorf("part %d: size %d, the stored part has %d", p.Number, p.Size, fi.Size()))
	}
	if !last && fi.Size() < u.s.opts.MinPartSize {
		return kindErr(op, key, providers.ErrInvalidArgument, fmt.Errorf("part %d is %d bytes, under the %d-byte minimum for all but the last part", p.Number, fi.Size(), u.s.opts.MinPartSize))
	}
	n, err := copyFile(ctx, w, f)
	if err != nil {
		return opErr(op, key, err)
	}
	if n != fi.Size() {
		return kindErr(op, key, providers.ErrSizeMismatch, fmt.Errorf("part %d changed while read", p.Number))
	}
	return nil
}

// Abort removes the upload's folder. Aborting twice is not an error.
func (u *upload) Abort(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return opErr("abort-multipart", u.m.Key, err)
	}
	if err := os.RemoveAll(u.dir); err != nil && !errors.Is(err, syscall.ENOENT) {
		return opErr("abort-multipart", u.m.Key, err)
	}
	return nil
}
