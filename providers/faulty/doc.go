// Package faulty owns the fault-injection tools the tests of every other
// package use: a providers.Store decorator for unit tests and a loopback HTTP
// proxy for tests against real servers (MinIO, fake-gcs-server, Azurite).
// It is test-only in spirit but a normal package, so any package's tests may
// import it. It imports only providers.
//
// # The Store decorator
//
// Wrap returns a *Store that forwards every call to the inner store after
// applying StoreRules: fail the Nth call of an op, fail calls at a seeded
// rate, cut a Get body or a List after a number of bytes or entries, add
// latency. Ops are named by the Op constants (OpStat, OpList, ...). The made-up
// error defaults to providers.NewOpError(op, key, providers.ErrServer,
// ErrInjected), so callers' retry logic sees a retryable server error and
// tests can still tell it from a real one with errors.Is(err, ErrInjected).
//
// Go cannot implement an interface conditionally, so *Store always implements
// providers.Multiparter (and providers.Closer). When the inner store is not a
// Multiparter, CreateMultipart and ResumeMultipart fail with an error wrapping
// providers.ErrUnsupported; the inner store's Capabilities (forwarded
// unchanged, MultipartNone) say so in advance, as the contract asks. The
// Uploads it returns are wrapped too: their calls count and obey rules under
// the ops OpUploadPart, OpListParts, OpComplete and OpAbort.
//
// # The HTTP proxy
//
// NewProxy listens on 127.0.0.1 (never another address) and forwards every
// request unchanged, Host header included, to a loopback http:// target, so
// AWS SigV4, GCS and Azure SharedKey signatures made for the proxy's address
// still verify. Bodies stream both ways; nothing buffers a whole body. Rules
// pick requests (by kind, predicate, Nth or seeded rate) and answer them with
// the dialect's throttling or internal error, a connection reset, a body cut
// after N bytes, added latency or any status and body. The proxy counts
// requests by kind (Kind constants; see Classify), body bytes each way and
// faults injected, so tests can assert request counts, which are
// deterministic where timings are not.
//
// # Determinism
//
// Rate rules draw from a math/rand source seeded from the options, one draw
// per matching call, under a mutex; the same seed and the same sequence of
// calls inject the same faults. Concurrent callers make the sequence itself
// vary, so tests that need exact faults use Nth rules or predicates.
package faulty
