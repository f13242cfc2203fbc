package wrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/byobfs/byob/providers"
)

// permanentError marks an error Do must not retry whatever it wraps (an
// error returned by a caller's callback, for instance).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Retryable reports whether an operation that failed with err may succeed
// when tried again unchanged. It is the only place in byob that decides it.
// providers.ErrExpired is not retryable here: Do retries it only after its
// policy's Refresh hook ran.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var pe *permanentError
	if errors.As(err, &pe) {
		return false
	}
	// The caller's context ending is final; checked first because
	// context.DeadlineExceeded is also a net.Error timeout.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	for _, perm := range []error{
		providers.ErrNotExist, providers.ErrBucketNotExist, providers.ErrPermission,
		providers.ErrPrecondition, providers.ErrExpired, providers.ErrInvalidAddress,
		providers.ErrInvalidRange, providers.ErrInvalidKey, providers.ErrInvalidArgument,
		providers.ErrUnsupported, providers.ErrUploadNotFound, providers.ErrSizeMismatch,
		providers.ErrChecksum,
	} {
		if errors.Is(err, perm) {
			return false
		}
	}
	for _, tmp := range []error{
		providers.ErrThrottled, providers.ErrServer, providers.ErrUnavailable,
		io.ErrUnexpectedEOF, syscall.ECONNRESET, syscall.ECONNREFUSED,
		syscall.ECONNABORTED, syscall.EPIPE, syscall.ETIMEDOUT,
	} {
		if errors.Is(err, tmp) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// RetryPolicy says how often and how patiently an operation is retried.
// The zero value tries once.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts, the first included (<= 1: one).
	MaxAttempts int
	// Initial is the backoff ceiling before the second attempt; it doubles
	// per attempt up to Max. The actual wait is uniform in [0, ceiling).
	Initial, Max time.Duration
	// Refresh, when set, renews credentials after an attempt failed with
	// providers.ErrExpired; the operation is then retried. Nil makes
	// ErrExpired permanent.
	Refresh func(ctx context.Context) error
	// Sleep waits d or until ctx ends (a test hook); nil uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetryPolicy returns 10 attempts with backoff from 100 ms to 10 s,
// full jitter, no Refresh.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 10, Initial: 100 * time.Millisecond, Max: 10 * time.Second}
}

func (p RetryPolicy) attempts() int { return max(p.MaxAttempts, 1) }

// backoff returns the wait after failed attempt k (1-based): full jitter
// under min(Max, Initial*2^(k-1)).
func (p RetryPolicy) backoff(k int) time.Duration {
	if p.Initial <= 0 {
		return 0
	}
	ceil := p.Initial
	for i := 1; i < k && (p.Max <= 0 || ceil < p.Max); i++ {
		ceil *= 2
	}
	if p.Max > 0 && ceil > p.Max {
		ceil = p.Max
	}
	return rand.N(ceil)
}

func (p RetryPolicy) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retry decides, after attempt k failed with err, whether to try again; it
// refreshes credentials and sleeps the backoff. A non-nil result is the
// error to return.
func (p RetryPolicy) retry(ctx context.Context, k int, err error) error {
	if k >= p.attempts() {
		if k > 1 {
			return fmt.Errorf("after %d attempts: %w", k, err)
		}
		return err
	}
	switch {
	case errors.Is(err, providers.ErrExpired) && p.Refresh != nil && ctx.Err() == nil:
		if rerr := p.Refresh(ctx); rerr != nil {
			return errors.Join(err, fmt.Errorf("refreshing credentials: %w", rerr))
		}
		return nil // fresh credentials: retry at once
	case !Retryable(err) || ctx.Err() != nil:
		return err
	}
	if serr := p.sleep(ctx, p.backoff(k)); serr != nil {
		return err
	}
	return nil
}

// Do calls fn until it succeeds, fails with an error that is not retryable,
// ctx ends, or p.MaxAttempts attempts were made. It returns fn's last error,
// wrapped with the attempt count when there were several.
func Do(ctx context.Context, p RetryPolicy, fn func(ctx context.Context) error) error {
	for k := 1; ; k++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if rerr := p.retry(ctx, k, err); rerr != nil {
			return rerr
		}
	}
}

// doProgress is Do for operations that can fail after partial progress (a
// listing cut after some entries): fn reports whether it made progress, and
// the attempt count restarts after an attempt that did.
func doProgress(ctx context.Context, p RetryPolicy, fn func(ctx context.Context) (bool, error)) error {
	for k := 1; ; k++ {
		progress, err := fn(ctx)
		if err == nil {
			return nil
		}
		if progress {
			k = 1
		}
		if rerr := p.retry(ctx, k, err); rerr != nil {
			return rerr
		}
	}
}
