package minio

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/minio/minio-go/v7"

	"github.com/byobfs/byob/providers"
)

// codeKinds maps S3 error codes to sentinels; codes win over the status.
var codeKinds = map[string]error{
	"NoSuchKey":                     providers.ErrNotExist,
	"NotFound":                      providers.ErrNotExist,
	"NoSuchBucket":                  providers.ErrBucketNotExist,
	"AccessDenied":                  providers.ErrPermission,
	"Forbidden":                     providers.ErrPermission,
	"InvalidAccessKeyId":            providers.ErrPermission,
	"SignatureDoesNotMatch":         providers.ErrPermission,
	"AllAccessDisabled":             providers.ErrPermission,
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
	"RequestLimitExceeded":          providers.ErrThrottled,
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

// mapErr turns a minio-go error into an *providers.OpError with the
// sentinel, status, code and the redacted cause. A cancelled ctx keeps no
// sentinel: the cause wraps ctx.Err().
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
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		status, code = er.StatusCode, er.Code
	}
	if k, ok := codeKinds[code]; ok {
		return status, code, k
	}
	if status != 0 {
		return status, code, providers.StatusKind(status)
	}
	if isNetErr(err) {
		return 0, code, providers.ErrUnavailable
	}
	return 0, code, nil
}

func isNetErr(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

func statusOf(err error) int {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.StatusCode
	}
	return 0
}

var (
	errIfNoneMatch = errors.New(`IfNoneMatch takes only "*"`)
	errEmptyKey    = errors.New("empty key")
	errNotUTF8     = errors.New("minio-go cannot send a key that is not UTF-8")
	errOddKey      = errors.New(`this server does not store keys with empty, "." or ".." segments faithfully`)
)
