package gcs

import (
	"context"
	"errors"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/byobfs/byob/providers"
)

// mapErr turns a storage/googleapi error into a *providers.OpError with the
// sentinel, the HTTP status, the reason code and the redacted cause. A
// cancelled ctx keeps no sentinel: the cause wraps ctx.Err().
func mapErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var oe *providers.OpError
	if errors.As(err, &oe) {
		return err
	}
	status, code, kind := classify(err)
	e := providers.NewOpError(op, key, kind, err)
	e.Status, e.Code = status, code
	return e
}

func classify(err error) (status int, code string, kind error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, "", nil
	}
	switch {
	case errors.Is(err, storage.ErrObjectNotExist):
		return 404, "notFound", providers.ErrNotExist
	case errors.Is(err, storage.ErrBucketNotExist):
		return 404, "notFound", providers.ErrBucketNotExist
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		status = ge.Code
		if len(ge.Errors) > 0 {
			code = ge.Errors[0].Reason
		}
		msg := strings.ToLower(ge.Message)
		for _, it := range ge.Errors {
			msg += " " + strings.ToLower(it.Message)
		}
		switch {
		case status == 400 && (strings.Contains(msg, "crc32c") || strings.Contains(msg, "md5") ||
			strings.Contains(msg, "checksum") || strings.Contains(msg, "hash")):
			return status, code, providers.ErrChecksum
		case status == 400 && (strings.Contains(msg, "object name") || code == "invalid" && strings.Contains(msg, "name")):
			return status, code, providers.ErrInvalidKey
		case status == 404 && strings.Contains(msg, "bucket"):
			return status, code, providers.ErrBucketNotExist
		case status == 401 && strings.Contains(msg, "expired"):
			return status, code, providers.ErrExpired
		case status == 409:
			// conditionNotMet on some paths; GCS also says 409 for an
			// existing bucket, which no Store call makes.
			return status, code, providers.ErrPrecondition
		case status == 400:
			return status, code, providers.ErrInvalidArgument
		}
		if k := providers.StatusKind(status); k != nil {
			return status, code, k
		}
		return status, code, nil
	}
	if providers.IsNetErr(err) {
		return 0, "", providers.ErrUnavailable
	}
	return 0, "", nil
}

func statusOf(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

var (
	errIfNoneMatch = errors.New(`IfNoneMatch takes only "*"`)
	errEmptyKey    = errors.New("empty key")
	errNotUTF8     = errors.New("GCS object names must be valid UTF-8")
	errOddKey      = errors.New(`this store is configured not to hold keys with empty, "." or ".." segments`)
	errBadVersion  = errors.New("version is not a GCS generation")
	errTempPrefix  = errors.New("keys under " + TempPrefix + " hold the parts of uploads in progress and are reserved")
)
