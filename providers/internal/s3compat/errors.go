package s3compat

import (
	"context"
	"errors"

	"github.com/byobfs/byob/providers"
)

// codeKinds maps S3 error codes (AWS's and MinIO's) to sentinels. Codes win
// over the HTTP status; a status alone goes through providers.StatusKind.
var codeKinds = map[string]error{
	"NoSuchKey":                     providers.ErrNotExist,
	"NotFound":                      providers.ErrNotExist,
	"NoSuchBucket":                  providers.ErrBucketNotExist,
	"AccessDenied":                  providers.ErrPermission,
	"Forbidden":                     providers.ErrPermission,
	"InvalidAccessKeyId":            providers.ErrPermission,
	"SignatureDoesNotMatch":         providers.ErrPermission,
	"AllAccessDisabled":             providers.ErrPermission,
	"AccountProblem":                providers.ErrPermission,
	"ExpiredToken":                  providers.ErrExpired,
	"TokenRefreshRequired":          providers.ErrExpired,
	"RequestExpired":                providers.ErrExpired,
	"PreconditionFailed":            providers.ErrPrecondition,
	"ConditionalRequestConflict":    providers.ErrPrecondition,
	"InvalidRange":                  providers.ErrInvalidRange,
	"SlowDown":                      providers.ErrThrottled,
	"SlowDownRead":                  providers.ErrThrottled,
	"SlowDownWrite":                 providers.ErrThrottled,
	"Throttling":                    providers.ErrThrottled,
	"ThrottlingException":           providers.ErrThrottled,
	"RequestLimitExceeded":          providers.ErrThrottled,
	"TooManyRequestsException":      providers.ErrThrottled,
	"ServiceUnavailable":            providers.ErrThrottled,
	"XMinioServerNotInitialized":    providers.ErrUnavailable,
	"InternalError":                 providers.ErrServer,
	"NoSuchUpload":                  providers.ErrUploadNotFound,
	"BadDigest":                     providers.ErrChecksum,
	"InvalidDigest":                 providers.ErrChecksum,
	"XAmzContentChecksumMismatch":   providers.ErrChecksum,
	"XAmzContentSHA256Mismatch":     providers.ErrChecksum,
	"XMinioInvalidObjectName":       providers.ErrInvalidKey,
	"KeyTooLongError":               providers.ErrInvalidKey,
	"XMinioInvalidResourceName":     providers.ErrInvalidKey,
	"XMinioObjectExistsAsDirectory": providers.ErrInvalidKey,
	"XMinioParentIsObject":          providers.ErrInvalidKey,
	"InvalidArgument":               providers.ErrInvalidArgument,
	"InvalidPart":                   providers.ErrInvalidArgument,
	"InvalidPartOrder":              providers.ErrInvalidArgument,
	"EntityTooSmall":                providers.ErrInvalidArgument,
	"EntityTooLarge":                providers.ErrInvalidArgument,
	"IncompleteBody":                providers.ErrSizeMismatch,
}

// Kind is the sentinel of an SDK error whose HTTP status and S3 error code
// (0 and "" when the SDK saw no response) the backend extracted: the code's
// sentinel, else the status's, else ErrUnavailable for a network failure,
// else nil. A cancelled or expired ctx has no sentinel.
func Kind(status int, code string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	if k, ok := codeKinds[code]; ok {
		return k
	}
	if status != 0 {
		return providers.StatusKind(status)
	}
	if providers.IsNetErr(err) {
		return providers.ErrUnavailable
	}
	return nil
}

// MapError turns an SDK error, with the HTTP status and S3 error code the
// backend extracted from it, into an *providers.OpError carrying the
// sentinel (see Kind), the status, the code and the redacted cause. An
// *providers.OpError is returned as it is. A cancelled or expired ctx keeps
// no sentinel, status or code: the cause wraps ctx.Err().
func MapError(op, key string, err error, status int, code string) error {
	if err == nil {
		return nil
	}
	var oe *providers.OpError
	if errors.As(err, &oe) {
		return err
	}
	kind := Kind(status, code, err)
	e := providers.NewOpError(op, key, kind, err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return e
	}
	e.Status, e.Code = status, code
	return e
}

// UploadError turns a mapped error of a call naming an upload ID: a 404
// there means the upload, not the object, is unknown.
func UploadError(mapped error) error {
	var oe *providers.OpError
	if errors.As(mapped, &oe) && oe.Kind == providers.ErrNotExist {
		oe.Kind = providers.ErrUploadNotFound
	}
	return mapped
}

var (
	errIfNoneMatch = errors.New(`IfNoneMatch takes only "*"`)
	errEmptyKey    = errors.New("empty key")
	errNotUTF8     = errors.New("key is not valid UTF-8")
	errOddKey      = errors.New(`this server does not store keys with empty, "." or ".." segments faithfully`)
	errNoParts     = errors.New("no parts")
	errPartOrder   = errors.New("part numbers must ascend")
	errPartCRC     = errors.New("the upload was created with CRC32C: every part needs its CRC32C")
)
