package local

import (
	"errors"
	"fmt"
	"strings"
)

const (
	// reservedDir is the store's own folder at the root: temporary files of
	// writes in progress (tmp/) and multipart uploads (uploads/). It is hidden
	// from every listing and refused as the first segment of a key.
	reservedDir = ".byob-local"
	// maxSegment is the longest file name Linux file systems accept (NAME_MAX).
	maxSegment = 255
	// maxKeyLength is Capabilities.MaxKeyLength: S3's limit, well under PATH_MAX.
	maxKeyLength = 1024
)

// checkKey reports why key cannot name a file under the root, or nil. It
// checks the key's text only; whether a file or directory is in the way is
// found when the key is written.
func checkKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	if len(key) > maxKeyLength {
		return fmt.Errorf("key is %d bytes, over the %d-byte limit", len(key), maxKeyLength)
	}
	if strings.IndexByte(key, 0) >= 0 {
		return errors.New("a file name cannot hold a NUL byte")
	}
	first := true
	for seg := range strings.SplitSeq(key, "/") {
		if err := checkSegment(seg); err != nil {
			return err
		}
		if first && seg == reservedDir {
			return fmt.Errorf("%q is the local backend's reserved folder", reservedDir)
		}
		first = false
	}
	return nil
}

// checkSegment reports why seg cannot be a file name, or nil.
func checkSegment(seg string) error {
	switch {
	case seg == "":
		return errors.New(`empty path segment ("//", or a leading or trailing "/")`)
	case seg == "." || seg == "..":
		return fmt.Errorf("%q segment", seg)
	case len(seg) > maxSegment:
		return fmt.Errorf("path segment of %d bytes, over the %d-byte file-name limit", len(seg), maxSegment)
	}
	return nil
}

// splitPrefix splits a listing prefix into the directory the walk starts in
// (a key prefix that is "" or ends in "/") and the start of the names to
// match there. ok is false when no storable key can start with prefix, so the
// listing is empty.
func splitPrefix(prefix string) (dir, name string, ok bool) {
	if strings.IndexByte(prefix, 0) >= 0 {
		return "", "", false
	}
	i := strings.LastIndexByte(prefix, '/')
	dir, name = prefix[:i+1], prefix[i+1:]
	if len(name) > maxSegment {
		return "", "", false
	}
	if dir == "" {
		return dir, name, true
	}
	first := true
	for seg := range strings.SplitSeq(dir[:len(dir)-1], "/") {
		if checkSegment(seg) != nil || first && seg == reservedDir {
			return "", "", false
		}
		first = false
	}
	return dir, name, true
}
