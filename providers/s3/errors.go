package s3

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/byobfs/byob/providers"
)

// codeKinds maps S3 error codes to sentinels. Codes win over the HTTP
// status; a status alone goes through providers.StatusKind.
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
	"Throttling":                    providers.ErrThrottled,
	"ThrottlingException":           providers.ErrThrottled,
	"RequestLimitExceeded":          providers.ErrThrottled,
	"TooManyRequestsException":      providers.ErrThrottled,
	"XMinioServerNotInitialized":    providers.ErrUnavailable,
	"ServiceUnavailable":            providers.ErrThrottled,
	"InternalError":                 providers.ErrServer,
	"NoSuchUpload":                  providers.ErrUploadNotFound,
	"BadDigest":                     providers.ErrChecksum,
	"InvalidDigest":                 providers.ErrChecksum,
	"XAmzContentChecksumMismatch":   providers.ErrChecksum,
	"XAmzContentSHA256Mismatch":     providers.ErrChecksum,
	"XMinioInvalidObjectName":       providers.ErrInvalidKey,
	"KeyTooLongError":               providers.ErrInvalidKey,
	"XMinioInvalidResourceName":     providers.ErrInvalidKey,
	"InvalidArgument":               providers.ErrInvalidArgument,
	"InvalidPart":                   providers.ErrInvalidArgument,
	"InvalidPartOrder":              providers.ErrInvalidArgument,
	"EntityTooSmall":                providers.ErrInvalidArgument,
	"EntityTooLarge":                providers.ErrInvalidArgument,
	"IncompleteBody":                providers.ErrSizeMismatch,
	"XMinioObjectExistsAsDirectory": providers.ErrInvalidKey,
	"XMinioParentIsObject":          providers.ErrInvalidKey,
}

// mapErr turns an SDK error into an *providers.OpError carrying the
// sentinel, the HTTP status, the service error code and the redacted cause.
// A cancelled or expired ctx keeps no sentinel: the cause wraps ctx.Err().
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
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	if k, ok := codeKinds[code]; ok {
		return status, code, k
	}
	if status == 404 && code == "" {
		return status, code, providers.ErrNotExist
	}
	if status != 0 {
		return status, code, providers.StatusKind(status)
	}
	if isNetErr(err) {
		return 0, code, providers.ErrUnavailable
	}
	return 0, code, nil
}

// isNetErr reports a broken or refused connection, a timeout or a body cut
// short: the server could not be reached or the transfer broke.
func isNetErr(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	var de *net.DNSError
	return errors.As(err, &de)
}

// status returns the HTTP status of an SDK error, 0 when none.
func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

var errIfNoneMatch = errors.New(`IfNoneMatch takes only "*"`)

var (
	errEmptyKey = errors.New("empty key")
	errOddKey   = errors.New(`this server does not store keys with empty, "." or ".." segments faithfully`)
)
