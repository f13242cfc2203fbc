package cache

import "errors"

// Sentinel errors. Callers test with errors.Is; returned errors wrap them
// with context (paths, PIDs, keys).
var (
	// ErrLocked: another process holds the cache index. The error text names
	// its PID when known.
	ErrLocked = errors.New("cache index locked by another process")
	// ErrNoSpace: dirty (not yet uploaded) data alone reached MaxSize.
	// Callers map it to ENOSPC.
	ErrNoSpace = errors.New("cache full of dirty data")
	// ErrCorrupt: a record or block failed to decode or verify.
	ErrCorrupt = errors.New("cache corrupt")
	// ErrSchema: the index was written by a newer byob (or an unknown schema).
	ErrSchema = errors.New("unsupported cache schema version")
	// ErrDirty: Clear was refused because dirty data or write-back entries exist.
	ErrDirty = errors.New("cache holds data not yet uploaded")
	// ErrClosed: the Cache was closed.
	ErrClosed = errors.New("cache closed")
	// ErrNotCached: the block is not in the cache.
	ErrNotCached = errors.New("block not cached")
	// ErrUntrusted: a directory byob would keep state in is not private to
	// the calling user (another owner, group or other write access).
	ErrUntrusted = errors.New("directory not private to this user")
	// ErrInvalid: an argument is outside the contract (negative index,
	// block larger than BlockSize, empty ID).
	ErrInvalid = errors.New("invalid argument")
)
