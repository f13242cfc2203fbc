package s3compat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/byobfs/byob/providers"
)

// MapErrFunc is a backend's error mapping: an SDK error of op on key to an
// *providers.OpError (built with MapError).
type MapErrFunc func(op, key string, err error) error

// CheckKey refuses, before any request, the empty key, keys over
// MaxKeyLength, keys that are not UTF-8 (the signer and the server disagree
// on anything else; minio-go refuses them itself, untyped) and, unless
// oddKeys, keys the server would refuse or silently rewrite (MinIO strips a
// leading "/", so "/a" would reach "a").
func CheckKey(op, key string, oddKeys bool) error {
	switch {
	case key == "":
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errEmptyKey)
	case len(key) > MaxKeyLength:
		return providers.NewOpError(op, "", providers.ErrInvalidKey, fmt.Errorf("key of %d bytes is over %d", len(key), MaxKeyLength))
	case !utf8.ValidString(key):
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errNotUTF8)
	case !oddKeys && HasOddSegment(key):
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errOddKey)
	}
	return nil
}

// HasOddSegment reports an empty segment ("//", a leading "/") or a "." or
// ".." segment. A trailing "/" is not odd here: MinIO stores it faithfully.
func HasOddSegment(key string) bool {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		if (seg == "" && i != len(segs)-1) || seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// CheckIfNoneMatch refuses an IfNoneMatch other than "" and "*", the only
// values S3 takes.
func CheckIfNoneMatch(op, key, v string) error {
	if v != "" && v != "*" {
		return providers.NewOpError(op, key, providers.ErrInvalidArgument, errIfNoneMatch)
	}
	return nil
}

// CheckRange refuses a Get's negative offset or a length below -1.
func CheckRange(key string, off, length int64) error {
	if off < 0 || length < -1 {
		return providers.NewOpError("get", key, providers.ErrInvalidArgument, fmt.Errorf("offset %d, length %d", off, length))
	}
	return nil
}

// CheckSize refuses a Put's negative size.
func CheckSize(key string, size int64) error {
	if size < 0 {
		return providers.NewOpError("put", key, providers.ErrInvalidArgument, fmt.Errorf("negative size %d", size))
	}
	return nil
}

// CheckExpiry refuses a pre-signed URL's expiry outside (0, MaxPresignExpiry].
func CheckExpiry(key string, exp time.Duration) error {
	if exp <= 0 || exp > MaxPresignExpiry {
		return providers.NewOpError("presign", key, providers.ErrInvalidArgument,
			fmt.Errorf("expiry %v outside (0, %v]", exp, MaxPresignExpiry))
	}
	return nil
}

// CheckPresignPart refuses a pre-signed part upload's number outside
// [1, MaxParts].
func CheckPresignPart(key string, n int) error {
	if n < 1 || n > MaxParts {
		return providers.NewOpError("presign", key, providers.ErrInvalidArgument, fmt.Errorf("part number %d", n))
	}
	return nil
}

// ConflictProbe is what CheckPrefixConflict asks the server. Both calls
// return the SDK's errors unmapped.
type ConflictProbe struct {
	// Head is a HEAD of key: nil when it is an object.
	Head func(ctx context.Context, key string) error
	// AnyBelow lists at most one key starting with prefix and reports
	// whether there was one.
	AnyBelow func(ctx context.Context, prefix string) (bool, error)
}

// CheckPrefixConflict, where caps say objects and prefixes cannot coexist
// and conflicts are refused, refuses a write of key when an ancestor ("a"
// for "a/b") is an object or key has descendants ("a/..." for "a"). MinIO
// accepts both but then lists nothing under "a/", so the contract's listing
// order could not hold. It costs one HEAD per ancestor and one LIST per
// write, and is not atomic against a concurrent writer of the conflicting
// key. The probe's errors are mapped with mapErr, for op on key.
func CheckPrefixConflict(ctx context.Context, op, key string, caps providers.Capabilities, p ConflictProbe, mapErr MapErrFunc) error {
	if caps.ObjectPrefixCoexist || !caps.ConflictsRefused {
		return nil
	}
	for i := 1; i < len(key); i++ {
		if key[i] != '/' {
			continue
		}
		err := p.Head(ctx, key[:i])
		if err == nil {
			return providers.NewOpError(op, key, providers.ErrInvalidKey, fmt.Errorf("%q is an object: this server cannot hold keys below it", key[:i]))
		}
		if me := mapErr(op, key, err); !errors.Is(me, providers.ErrNotExist) {
			return me
		}
	}
	if strings.HasSuffix(key, "/") || len(key) >= MaxKeyLength {
		return nil // no key can be below it
	}
	below, err := p.AnyBelow(ctx, key+"/")
	if err != nil {
		return mapErr(op, key, err)
	}
	if below {
		return providers.NewOpError(op, key, providers.ErrInvalidKey, fmt.Errorf("keys below %q exist: this server cannot hold an object beside them", key+"/"))
	}
	return nil
}
