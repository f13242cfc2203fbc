package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/byobfs/byob/providers"
)

// codeKinds maps Azure error codes to sentinels; codes win over the status.
var codeKinds = map[bloberror.Code]error{
	bloberror.BlobNotFound:                       providers.ErrNotExist,
	bloberror.ResourceNotFound:                   providers.ErrNotExist,
	bloberror.ContainerNotFound:                  providers.ErrBucketNotExist,
	bloberror.ContainerBeingDeleted:              providers.ErrBucketNotExist,
	bloberror.AuthenticationFailed:               providers.ErrPermission,
	bloberror.AuthorizationFailure:               providers.ErrPermission,
	bloberror.AuthorizationPermissionMismatch:    providers.ErrPermission,
	bloberror.AuthorizationResourceTypeMismatch:  providers.ErrPermission,
	bloberror.AuthorizationServiceMismatch:       providers.ErrPermission,
	bloberror.AuthorizationProtocolMismatch:      providers.ErrPermission,
	bloberror.AuthorizationSourceIPMismatch:      providers.ErrPermission,
	bloberror.InsufficientAccountPermissions:     providers.ErrPermission,
	bloberror.CannotVerifyCopySource:             providers.ErrPermission,
	bloberror.ConditionNotMet:                    providers.ErrPrecondition,
	bloberror.BlobAlreadyExists:                  providers.ErrPrecondition,
	bloberror.TargetConditionNotMet:              providers.ErrPrecondition,
	bloberror.SourceConditionNotMet:              providers.ErrPrecondition,
	bloberror.InvalidRange:                       providers.ErrInvalidRange,
	bloberror.ServerBusy:                         providers.ErrThrottled,
	bloberror.OperationTimedOut:                  providers.ErrServer,
	bloberror.InternalError:                      providers.ErrServer,
	bloberror.MD5Mismatch:                        providers.ErrChecksum,
	bloberror.CRC64Mismatch:                      providers.ErrChecksum,
	bloberror.InvalidMD5:                         providers.ErrChecksum,
	bloberror.InvalidBlockList:                   providers.ErrInvalidArgument,
	bloberror.InvalidBlockID:                     providers.ErrInvalidArgument,
	bloberror.InvalidHeaderValue:                 providers.ErrInvalidArgument,
	bloberror.InvalidMetadata:                    providers.ErrInvalidArgument,
	bloberror.MetadataTooLarge:                   providers.ErrInvalidArgument,
	bloberror.RequestBodyTooLarge:                providers.ErrInvalidArgument,
	bloberror.InvalidResourceName:                providers.ErrInvalidKey,
	bloberror.OutOfRangeInput:                    providers.ErrInvalidKey,
	bloberror.BlobTierInadequateForContentLength: providers.ErrInvalidArgument,
	bloberror.BlobOverwritten:                    providers.ErrPrecondition,
	bloberror.UnsupportedHeader:                  providers.ErrUnsupported,
	bloberror.FeatureVersionMismatch:             providers.ErrUnsupported,
	bloberror.InvalidBlobOrBlock:                 providers.ErrInvalidArgument,
	bloberror.InvalidBlobType:                    providers.ErrInvalidArgument,
	bloberror.NoAuthenticationInformation:        providers.ErrPermission,
	bloberror.PendingCopyOperation:               providers.ErrPrecondition,
}

// sdkError is the cause an OpError carries for a service answer: status
// and code only. The wrapped azcore.ResponseError (reachable with
// errors.As) prints the request URL and the whole response body, which
// may quote request details; its text is never shown.
type sdkError struct {
	status int
	code   string
	msg    string // first line of the service message, redacted
	err    error
}

func (e *sdkError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.status)
	if e.code != "" {
		s += " " + e.code
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	return s
}

func (e *sdkError) Unwrap() error { return e.err }

// mapErr turns an azblob error into a *providers.OpError with the
// sentinel, status, code and a cause that holds no secret. A cancelled ctx
// keeps no sentinel: the cause wraps ctx.Err().
func mapErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var oe *providers.OpError
	if errors.As(err, &oe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return providers.NewOpError(op, key, nil, err)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		kind := codeKinds[bloberror.Code(re.ErrorCode)]
		if kind == nil {
			kind = providers.StatusKind(re.StatusCode)
			if re.StatusCode == 409 {
				kind = nil // 409 Conflict with an unknown code is not a precondition
			}
		}
		body := bodyText(re)
		msg := serviceMessage(body)
		if kind == nil && re.StatusCode == 400 && strings.Contains(strings.ToLower(msg), "md5") {
			// Azurite: 400 InvalidOperation "Provided contentMD5 doesn't match."
			kind = providers.ErrChecksum
		}
		if kind == providers.ErrPermission && (sasExpired(re) || credentialsExpired(body)) {
			kind = providers.ErrExpired
		}
		if len(msg) > 200 {
			msg = msg[:200]
		}
		e := providers.NewOpError(op, key, kind, &sdkError{status: re.StatusCode, code: re.ErrorCode, msg: providers.RedactText(msg), err: err})
		e.Status, e.Code = re.StatusCode, re.ErrorCode
		return e
	}
	if providers.IsNetErr(err) {
		return providers.NewOpError(op, key, providers.ErrUnavailable, err)
	}
	return providers.NewOpError(op, key, nil, err)
}

// serviceMessage extracts the <Message> of the error body's first line
// (without the AuthenticationErrorDetail, which may quote signed values).
func serviceMessage(s string) string {
	i := strings.Index(s, "<Message>")
	if i < 0 {
		return ""
	}
	s = s[i+len("<Message>"):]
	if j := strings.Index(s, "</Message>"); j >= 0 {
		s = s[:j]
	}
	if j := strings.IndexAny(s, "\r\n"); j >= 0 {
		s = s[:j]
	}
	return strings.TrimSpace(s)
}

// credentialsExpired reports whether a 403/401 body says the SAS or the
// Azure AD token is out of its validity window. Azure says so in
// AuthenticationErrorDetail: "Signed expiry time [...] must be after
// signed start time [...]", "Signature not valid in the specified time
// frame: Start [...] - Expiry [...] - Current [...]", "Lifetime validation
// failed. The token is expired."
func credentialsExpired(body string) bool {
	for _, s := range []string{"Signed expiry time", "Signature not valid in the specified time frame", "The token is expired"} {
		if strings.Contains(body, s) {
			return true
		}
	}
	return false
}

// sasExpired reports whether the request carried a SAS whose expiry (se=)
// has passed: Azure says so only in AuthenticationErrorDetail, Azurite not
// at all (403 AuthorizationFailure).
func sasExpired(re *azcore.ResponseError) bool {
	if re.RawResponse == nil || re.RawResponse.Request == nil || re.RawResponse.Request.URL == nil {
		return false
	}
	se := re.RawResponse.Request.URL.Query().Get("se")
	if se == "" {
		return false
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z", "2006-01-02"} {
		if t, err := time.Parse(layout, se); err == nil {
			return time.Now().After(t)
		}
	}
	return false
}

// bodyText is the start of the error response body (never printed
// whole). azcore has read it and left a rewindable copy; it is read once.
func bodyText(re *azcore.ResponseError) string {
	if re.RawResponse == nil || re.RawResponse.Body == nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(re.RawResponse.Body, 8<<10))
	if sk, ok := re.RawResponse.Body.(io.Seeker); ok {
		_, _ = sk.Seek(0, io.SeekStart)
	}
	return string(b)
}

func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

var (
	errIfNoneMatch = errors.New(`IfNoneMatch takes only "*"`)
	errEmptyKey    = errors.New("empty key")
	errNotUTF8     = errors.New("blob names must be valid UTF-8 on Azure")
	errOddKey      = errors.New(`the Azure service resolves empty, "." and ".." segments and trailing "/" or "." in blob names: not stored faithfully`)
)

func getenv(k string) string { return os.Getenv(k) }

var errDelimiter = errors.New(`the delimiter must be "" or "/"`)
