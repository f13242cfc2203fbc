package s3compat

import (
	"fmt"
	"time"

	"github.com/byobfs/byob/providers"
)

// UploadState is what a multipart upload of either backend knows. It is
// set at creation and never changes, so an upload is safe for concurrent
// part uploads. A backend's upload type embeds it.
type UploadState struct {
	ObjectKey string
	UploadID  string
	// CRC: the upload was created with checksum algorithm CRC32C, so the
	// server requires and verifies every part's CRC32C, and the Complete
	// call carries them.
	CRC         bool
	ContentType string
	Metadata    map[string]string
	Resumed     bool // metadata and content type unknown
}

// ID implements providers.Upload.
func (u *UploadState) ID() string { return u.UploadID }

// Key implements providers.Upload.
func (u *UploadState) Key() string { return u.ObjectKey }

// CheckPart refuses, before any request, a part number outside
// [1, MaxParts], a size outside [0, MaxPartSize] and, where the upload was
// created with CRC32C, a part without its CRC32C.
func (u *UploadState) CheckPart(n int, size int64, opts providers.PartOptions) error {
	if n < 1 || n > MaxParts || size < 0 || size > MaxPartSize {
		return providers.NewOpError("upload-part", u.ObjectKey, providers.ErrInvalidArgument, fmt.Errorf("part %d of %d bytes", n, size))
	}
	if u.CRC && opts.Checksum.Algorithm != providers.ChecksumCRC32C {
		return providers.NewOpError("upload-part", u.ObjectKey, providers.ErrInvalidArgument, errPartCRC)
	}
	return nil
}

// Uploaded is the Part an UploadPart of n answered with etag: with the
// caller's CRC32C, or the one the server reported (base64, "" for none).
func Uploaded(n int, size int64, etag string, opts providers.PartOptions, serverCRC string) providers.Part {
	p := providers.Part{Number: n, Size: size, ETag: etag}
	if opts.Checksum.Algorithm == providers.ChecksumCRC32C {
		p.Checksum = opts.Checksum
		if c, ok := ParseCRC32C(serverCRC); ok {
			p.Checksum = c
		}
	}
	return p
}

// CheckComplete refuses, before any request, an IfNoneMatch S3 does not
// take, no parts, and part numbers that do not ascend. It returns the
// parts' total size and whether every size is known (each but the last is
// above 0).
func (u *UploadState) CheckComplete(parts []providers.Part, opts providers.CompleteOptions) (total int64, known bool, err error) {
	if err := CheckIfNoneMatch("complete-multipart", u.ObjectKey, opts.IfNoneMatch); err != nil {
		return 0, false, err
	}
	if len(parts) == 0 {
		return 0, false, providers.NewOpError("complete-multipart", u.ObjectKey, providers.ErrInvalidArgument, errNoParts)
	}
	known = true
	for i, p := range parts {
		if i > 0 && p.Number <= parts[i-1].Number {
			return 0, false, providers.NewOpError("complete-multipart", u.ObjectKey, providers.ErrInvalidArgument, errPartOrder)
		}
		if p.Size <= 0 && i < len(parts)-1 {
			known = false
		}
		total += p.Size
	}
	return total, known, nil
}

// PartCRC is the CRC32C a Complete call sends for p, "" for none.
func (u *UploadState) PartCRC(p providers.Part) string {
	if u.CRC && p.Checksum.Algorithm == providers.ChecksumCRC32C && !p.Checksum.IsZero() {
		return p.Checksum.Base64()
	}
	return ""
}

// Completed is what Complete reports after the server answered with etag
// and mod (zero: now). When a size was unknown or the upload was resumed
// (metadata unknown) it reports what head (a HEAD under that version) says
// instead, if it can.
func (u *UploadState) Completed(total int64, known bool, version, etag string, mod time.Time,
	head func(version string) (providers.ObjectInfo, error)) providers.ObjectInfo {
	if !known || u.Resumed {
		if info, err := head(version); err == nil {
			return info
		}
	}
	if mod.IsZero() {
		mod = time.Now().UTC()
	}
	return providers.ObjectInfo{
		Key:         u.ObjectKey,
		Size:        total,
		Version:     version,
		ETag:        etag,
		ModTime:     mod,
		ContentType: u.ContentType,
		Metadata:    u.Metadata,
	}
}
