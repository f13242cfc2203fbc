package sync

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/byobfs/byob/providers"
)

// Side is one end of a sync: a key prefix of a store, or a local directory.
// Exactly one of Store and LocalDir is set.
type Side struct {
	// Store and Prefix name a "directory" of a bucket: the keys under
	// Prefix + "/" (Prefix "" is the whole bucket; a trailing "/" is
	// ignored). Keys are compared relative to it.
	Store  providers.Store
	Prefix string
	// Name identifies the store in the Index and in messages (the redacted
	// address is a good choice). Two Sides with the same non-empty Name are
	// the same store; so are two Sides with the same Store value.
	Name string

	// LocalDir is a local directory (made when it is a missing destination).
	LocalDir string
}

func (s Side) String() string {
	if s.Store == nil {
		return "local:" + s.LocalDir
	}
	n := s.Name
	if n == "" {
		n = "store"
	}
	return n + ":" + s.Prefix
}

// CompareMode says how a file present on both sides is found up to date.
type CompareMode uint8

const (
	// CompareSizeMtime (default): same size and same modification time.
	CompareSizeMtime CompareMode = iota
	// CompareChecksum: same size and same CRC32C or MD5 (never an ETag).
	CompareChecksum
	// CompareSizeOnly: same size.
	CompareSizeOnly
)

func (m CompareMode) String() string {
	switch m {
	case CompareChecksum:
		return "checksum"
	case CompareSizeOnly:
		return "size-only"
	}
	return "size-mtime"
}

// Shard selects the keys of one worker of N: those whose ShardOf is K.
// The zero value (N == 0) selects every key.
type Shard struct {
	K, N int
}

// Options configure Run. Get them from DefaultOptions and change fields.
type Options struct {
	// Compare is the up-to-date test; see doc.go.
	Compare CompareMode
	// Update skips a file whose destination is newer than the source (--update).
	Update bool
	// ModifyWindow is the largest mtime difference still counted as equal
	// (0: equal to the nanosecond).
	ModifyWindow time.Duration

	// Delete removes destination files missing from the source, after every
	// transfer, and only when no listing and no transfer failed.
	Delete bool
	// DeleteExcluded also removes excluded destination files (with Delete).
	DeleteExcluded bool
	// AllowEmptySource lets Delete empty the destination when the source
	// exists but lists nothing at all (before filters and Shard); without
	// it such a run deletes nothing and fails with ErrEmptySource. A
	// source that does not exist always fails (ErrNoSource).
	AllowEmptySource bool
	// MaxDelete caps the deletes of one run: more planned deletes than this
	// and none happens (an error is reported). Negative: no cap.
	MaxDelete int
	// BackupDir, when set, receives the destination files that a run would
	// delete or overwrite, at BackupDir/<relative key>: a key prefix of the
	// destination store, or a directory when the destination is local. It
	// must not overlap either side.
	BackupDir string
	// DryRun plans and reports every action (events with Planned set) and
	// executes none.
	DryRun bool

	// Filters are include/exclude rules, first match wins; see filter.go.
	Filters []FilterRule

	// Transfers is how many files move at once.
	Transfers int
	// Checkers is how many comparisons (HEADs, local hashing) run at once,
	// and how many deletes.
	Checkers int
	// BwLimit caps the bytes per second of all transfers together (0: none).
	BwLimit int64

	// CopyLinks follows local symlinks; by default they are skipped with a warning.
	CopyLinks bool
	// CreateEmptyDirs carries empty directories: as zero-byte marker
	// objects "dir/" in a store, as directories on disk.
	CreateEmptyDirs bool
	// Shard limits the run to one shard of the key space (--shard K/N).
	Shard Shard
	// ChangedRetries is how often an upload whose local source changed while
	// it was read is retried before the file is reported failed.
	ChangedRetries int

	// Namer maps key segments to local file names and back. nil: LayoutNamer.
	Namer Namer
	// Index remembers remote mtimes and checksums by key + Version, and
	// local hashes by fingerprint. nil: nothing is remembered (one HEAD per
	// compared object).
	Index Index
	// Mover moves the bytes. nil: StoreMover (plain Put/Get/Copy).
	Mover Mover
	// OnEvent, when set, receives one Event per planned action and one per
	// finished one, serially (never two calls at once).
	OnEvent func(Event)
	// Logger receives warnings (skipped symlinks, unreadable entries). nil: slog.Default().
	Logger *slog.Logger
	// TempDir holds the spool of pending deletes ("" : os.TempDir()).
	TempDir string
}

// DefaultOptions returns the defaults of `byob sync`: size + mtime, 4
// transfers, 8 checkers, no deletes, no cap on deletes.
func DefaultOptions() Options {
	return Options{
		Compare:        CompareSizeMtime,
		MaxDelete:      -1,
		Transfers:      4,
		Checkers:       8,
		ChangedRetries: 2,
	}
}

// validate checks opts and fills defaults for zero fields.
func (o *Options) validate() error {
	if o.Transfers <= 0 {
		o.Transfers = 4
	}
	if o.Checkers <= 0 {
		o.Checkers = 8
	}
	if o.ChangedRetries < 0 {
		o.ChangedRetries = 0
	}
	if o.BwLimit < 0 {
		return fmt.Errorf("%w: negative bandwidth limit", ErrInvalidOptions)
	}
	if o.Shard.N < 0 || (o.Shard.N > 0 && (o.Shard.K < 0 || o.Shard.K >= o.Shard.N)) {
		return fmt.Errorf("%w: shard %d/%d: need 0 <= K < N", ErrInvalidOptions, o.Shard.K, o.Shard.N)
	}
	if o.DeleteExcluded && !o.Delete {
		o.Delete = true // --delete-excluded implies --delete, as in rclone and rsync
	}
	if o.Namer == nil {
		o.Namer = LayoutNamer{}
	}
	if o.Mover == nil {
		o.Mover = StoreMover{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}
