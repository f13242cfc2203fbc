package providers

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
)

// Sentinel errors. Backends wrap one of these together with the SDK's cause
// (see OpError); callers test with errors.Is.
var (
	// ErrNotExist: the object (or bucket, see ErrBucketNotExist) does not exist.
	ErrNotExist = errors.New("object does not exist")
	// ErrBucketNotExist: the bucket or container itself does not exist.
	ErrBucketNotExist = errors.New("bucket does not exist")
	// ErrPrecondition: a conditional request (IfMatch, IfNoneMatch) failed:
	// the object changed, or exists where create-only was asked.
	ErrPrecondition = errors.New("precondition failed")
	// ErrPermission: the credentials were refused or lack a permission.
	ErrPermission = errors.New("permission denied")
	// ErrExpired: a pre-signed URL, SAS or token ran out. The caller refreshes
	// its credentials and retries.
	ErrExpired = errors.New("credentials expired")
	// ErrInvalidAddress: an address could not be parsed or is not allowed.
	ErrInvalidAddress = errors.New("invalid address")
	// ErrInvalidRange: a read started past the end of the object.
	ErrInvalidRange = errors.New("invalid range")
	// ErrInvalidKey: the backend cannot store this key.
	ErrInvalidKey = errors.New("invalid key")
	// ErrInvalidArgument: a call's arguments are outside the contract (a
	// negative size, a part number out of range, IfNoneMatch other than "*").
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnsupported: the backend does not offer this operation; Capabilities
	// says so in advance.
	ErrUnsupported = errors.New("not supported by this backend")
	// ErrThrottled: the server asked to slow down (503 SlowDown, 429). Retryable.
	ErrThrottled = errors.New("throttled by server")
	// ErrServer: the server failed (5xx). Retryable.
	ErrServer = errors.New("server error")
	// ErrUnavailable: the server could not be reached or the connection broke
	// (refused, reset, timed out, body cut). Retryable.
	ErrUnavailable = errors.New("server unreachable")
	// ErrUploadNotFound: a multipart upload ID is unknown (completed, aborted
	// or expired).
	ErrUploadNotFound = errors.New("multipart upload not found")
	// ErrSizeMismatch: the bytes read did not match the size the caller gave.
	ErrSizeMismatch = errors.New("size mismatch")
	// ErrChecksum: the server or the client found a checksum mismatch.
	ErrChecksum = errors.New("checksum mismatch")
)

// OpError records a failed Store operation. It carries the sentinel (Kind),
// the HTTP status and service error code when there was one, and the SDK's
// cause, so callers can use errors.Is for the sentinel and errors.As for the
// cause. Its text never holds a secret: backends pass causes through
// RedactError before wrapping them.
type OpError struct {
	Op     string // "stat", "list", "get", "put", "delete", "copy", "upload-part", ...
	Key    string // the object key, or prefix for list; empty when not about one object
	Kind   error  // one of the sentinels above; may be nil when unclassified
	Status int    // HTTP status, 0 when none
	Code   string // service error code ("NoSuchKey", "SlowDown"), empty when none
	Err    error  // the cause
}

func (e *OpError) Error() string {
	msg := e.Op
	if e.Key != "" {
		msg += fmt.Sprintf(" %q", e.Key)
	}
	switch {
	case e.Kind != nil && e.Err != nil:
		return fmt.Sprintf("%s: %v: %v", msg, e.Kind, e.Err)
	case e.Kind != nil:
		return fmt.Sprintf("%s: %v", msg, e.Kind)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", msg, e.Err)
	}
	return msg
}

// Unwrap returns the sentinel and the cause, so errors.Is and errors.As see both.
func (e *OpError) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// NewOpError builds an OpError, redacting the cause.
func NewOpError(op, key string, kind error, cause error) *OpError {
	return &OpError{Op: op, Key: key, Kind: kind, Err: RedactError(cause)}
}

// StatusKind maps an HTTP status to a sentinel, for backends whose SDK gives
// only a status. It returns nil for statuses it does not classify.
func StatusKind(status int) error {
	switch {
	case status == 404:
		return ErrNotExist
	case status == 401 || status == 403:
		return ErrPermission
	case status == 412 || status == 409:
		return ErrPrecondition
	case status == 416:
		return ErrInvalidRange
	case status == 429 || status == 503:
		return ErrThrottled
	case status >= 500:
		return ErrServer
	}
	return nil
}

// RedactError returns err with every *url.Error's URL reduced to scheme, host
// and path, so query strings (SAS tokens, pre-signed signatures) and userinfo
// never reach a message. The chain below each url.Error is kept for errors.Is/As.
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &redactedError{err: err}
}

type redactedError struct{ err error }

func (r *redactedError) Error() string { return RedactText(r.err.Error()) }
func (r *redactedError) Unwrap() error { return r.err }

// IsNetErr reports a broken or refused connection, a timeout or a body cut
// short: the server could not be reached or the transfer broke. Backends
// map such errors to ErrUnavailable.
func IsNetErr(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	// *net.OpError and *net.DNSError are net.Errors too.
	var ne net.Error
	return errors.As(err, &ne)
}
