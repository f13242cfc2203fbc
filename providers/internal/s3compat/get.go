package s3compat

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/byobfs/byob/providers"
)

// RangeHeader is the Range header of a Get of length bytes (-1: to the end)
// from off, "" for the whole object. length must not be 0: S3 has no empty
// range (see EmptyRead).
func RangeHeader(off, length int64) string {
	switch {
	case off == 0 && length < 0:
		return ""
	case length < 0:
		return fmt.Sprintf("bytes=%d-", off)
	default:
		return fmt.Sprintf("bytes=%d-%d", off, off+length-1)
	}
}

// RangeTotal parses the total of a Content-Range "bytes a-b/total".
func RangeTotal(contentRange string) (int64, bool) {
	_, total, ok := strings.Cut(contentRange, "/")
	if !ok || total == "*" {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil
}

// EmptyRead answers, with a HEAD, the Gets S3 cannot: a length of 0
// (refused nil), and a range the server refused with 416 (refused is that
// mapped error). S3 answers 416 to a range starting at the size, which the
// contract reads as empty. head is a HEAD under the Get's If-Match.
//
// With a length of 0, an off up to the size reads empty and one past it is
// ErrInvalidRange; after a 416, only off == size reads empty, anything else
// returns refused.
func EmptyRead(key string, off int64, head func() (providers.ObjectInfo, error), refused error) (io.ReadCloser, providers.ObjectInfo, error) {
	info, err := head()
	if err != nil {
		return nil, info, err
	}
	switch {
	case off == info.Size || (refused == nil && off < info.Size):
		return io.NopCloser(bytes.NewReader(nil)), info, nil
	case refused != nil:
		return nil, providers.ObjectInfo{}, refused
	}
	return nil, providers.ObjectInfo{}, providers.NewOpError("get", key, providers.ErrInvalidRange,
		fmt.Errorf("offset %d past size %d", off, info.Size))
}

// Version is the providers Version of an S3 ETag: the ETag without quotes.
func Version(etag string) string { return strings.Trim(etag, `"`) }

// QuoteETag turns a Version back into the quoted ETag conditional headers
// take; "", "*" and already quoted or weak ETags stay as they are.
func QuoteETag(v string) string {
	if v == "" || v == "*" || strings.HasPrefix(v, `"`) || strings.HasPrefix(v, `W/"`) {
		return v
	}
	return `"` + v + `"`
}

// Metadata is user metadata as the contract wants it: lower-case keys and,
// unlike providers.CloneMetadata, never nil.
func Metadata(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// WholeCRC32C reports the base64 CRC32C v of a HEAD or GET as the object's
// checksum only when it covers the whole object: a multipart upload's
// composite checksum ("...-N", or one the server calls composite) is a
// checksum of the parts' checksums, not of the bytes.
func WholeCRC32C(v string, composite bool) []providers.Checksum {
	if v == "" || strings.Contains(v, "-") || composite {
		return nil
	}
	c, err := providers.ParseChecksumBase64(providers.ChecksumCRC32C, v)
	if err != nil || len(c.Sum) != 4 {
		return nil
	}
	return []providers.Checksum{c}
}

// ParseCRC32C parses a part's base64 CRC32C as the server reported it.
func ParseCRC32C(v string) (providers.Checksum, bool) {
	if v == "" {
		return providers.Checksum{}, false
	}
	c, err := providers.ParseChecksumBase64(providers.ChecksumCRC32C, v)
	return c, err == nil
}
