// Package wrap holds the decorators every command puts around a backend's
// store, and Stack, the one place they are stacked:
//
//	backend -> Confine(root) -> Count(observer) -> Retrying(policy)
//
// Confine keeps a team's keys below its sub-path, Count tells an Observer
// (the mount's metrics) of every attempt, Retrying retries every call under
// one policy. So `byob ls`, `cat`, `stat`, `du`, `cp`, `sync` and `mount`
// all retry and count the same way. Fault injection for tests
// (providers/faulty) wraps the backend before Stack.
//
// # Retries
//
// Retryable vs permanent is decided in exactly one place, Retryable, from
// typed errors only (errors.Is / errors.As, never strings). Retryable are
// providers.ErrThrottled, ErrServer and ErrUnavailable, io.ErrUnexpectedEOF,
// connection resets, refusals and broken pipes, and net.Error timeouts.
// Permanent are the caller's context ending, ErrNotExist, ErrPermission,
// ErrPrecondition, ErrInvalid*, ErrUploadNotFound, ErrSizeMismatch,
// ErrChecksum, and every error nothing classifies. providers.ErrExpired is
// retried only when the policy has a Refresh hook, which runs before the next
// attempt. Every SDK's own retry loop is switched off by its backend, so the
// number of attempts is exactly RetryPolicy.MaxAttempts.
//
// Do runs a function under a RetryPolicy with exponential backoff and full
// jitter: the wait before attempt k+1 is uniform in [0, min(Max, Initial*2^k)).
//
// Retrying decorates a Store so that every call is retried under one
// policy:
//
//   - Stat, Delete, Copy are retried as they are.
//   - Put is retried only when its reader is an io.Seeker: it is rewound to
//     where it stood when Put was called. Other readers get one attempt.
//   - Get retries opening; a body that breaks mid-stream (a retryable read
//     error, or an early EOF before the announced length) is resumed with a
//     ranged Get from the first byte not yet delivered, with IfMatch pinned to
//     the Version the first response described, so bytes of two versions
//     never mix: a changed object ends the read with ErrPrecondition. A body
//     keeps the Get's ctx for its life, as backend bodies do.
//   - List is retried resuming after the last key delivered (StartAfter), and
//     entries at or before that key are dropped, so fn never sees an entry
//     twice. An error returned by fn is never retried.
//   - Multiparter is forwarded when the inner store has it; CreateMultipart,
//     ResumeMultipart and every Upload method are retried (UploadPart rereads
//     its io.ReadSeeker from the start, as the contract says). A Complete
//     whose first attempt failed ambiguously (the server may have finished
//     it) and whose retry finds no upload is confirmed with a Stat: the object
//     must have the parts' total size (and their CRC32C when the server
//     reports a whole-object one). A retried CreateMultipart whose first
//     response was lost can leave an upload ID nobody knows; bucket lifecycle
//     rules (AbortIncompleteMultipartUpload) and AbortStale cover that.
package wrap
