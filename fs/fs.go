package fs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

// Options configure an FS. Zero fields take the defaults of DefaultOptions
// (except Store, StoreID and Cache, which are required).
type Options struct {
	// Store is the bucket the file system shows, as providers/wrap.Stack
	// makes it: confined to a team's sub-path when needed, and retrying
	// every call (the FS tries each call once on top of it).
	Store providers.Store
	// StoreID names the store in the cache index (providers.Address.StoreID:
	// scheme, endpoint, bucket and sub-path; never credentials).
	StoreID string
	// FormerStoreIDs are IDs the same store had in the cache before (see
	// providers.Address.FormerStoreID): New adopts the write-back entries
	// and upload journals recorded under them, so they are uploaded (or
	// aborted) as this store's.
	FormerStoreIDs []string
	// Cache holds blocks, attributes, listings and write-back entries; its
	// directory also holds the staging files of writes in progress.
	Cache *cache.Cache
	// ReadOnly refuses every change with EROFS.
	ReadOnly bool
	// UID and GID own every file and directory.
	UID, GID uint32
	// FileMode and DirMode are the permission bits shown (0644, 0755).
	FileMode, DirMode os.FileMode
	// AttrTTL is how long attributes are trusted (1 s); NegativeTTL how long
	// an absent name is (1 s); DirTTL how long a listing is (5 s).
	AttrTTL, DirTTL, NegativeTTL time.Duration
	// PartSize is the multipart part size of uploads (0: transfer's default).
	PartSize int64
	// UploadConcurrency is the number of parts of one upload in flight (4),
	// streamed or not.
	UploadConcurrency int
	// LiveMemory bounds the write tails of files being streamed; give file
	// systems of one process the same one (nil: one of
	// transfer.DefaultLiveMemory for this FS).
	LiveMemory *transfer.Memory
	// MaxInflight bounds the blocks being prefetched at once across all
	// handles (8), and so the memory readahead holds.
	MaxInflight int
	// MaxReadahead is the largest readahead window of one handle in bytes
	// (64 MiB).
	MaxReadahead int64
	// WriteBack makes close return once the data is staged in the cache and
	// journaled; the upload runs in the background (see doc.go).
	WriteBack bool
	// WriteBackConcurrency is the number of write-back uploads at once (32).
	WriteBackConcurrency int
	// SyncInterval is how often write-back entries are made durable on the
	// cache's disk (1 s): what a crash of the machine may lose.
	SyncInterval time.Duration
	// RenameDirLimit is the largest number of objects a directory rename
	// copies; a larger directory is refused with EXDEV (1000).
	RenameDirLimit int
	// Logger receives the reasons of errors reported to applications.
	Logger *slog.Logger
}

// DefaultOptions returns the defaults of the optional fields.
func DefaultOptions() Options {
	return Options{
		FileMode:          0o644,
		DirMode:           0o755,
		AttrTTL:           time.Second,
		DirTTL:            5 * time.Second,
		NegativeTTL:       time.Second,
		MaxInflight:       8,
		MaxReadahead:      64 << 20,
		RenameDirLimit:    1000,
		UploadConcurrency: 4,

		WriteBackConcurrency: 32,
		SyncInterval:         time.Second,
	}
}

// FS is the file system core: a tree of nodes over one Store, with reads
// through the block cache and writes through staging files. It knows nothing
// of FUSE; fs/fusefs binds it to go-fuse. Safe for concurrent use.
type FS struct {
	opts    Options
	store   providers.Store // Options.Store
	cache   *cache.Cache
	up      *transfer.Uploader
	log     *slog.Logger
	bsize   int64
	staging string // directory of staging files
	// stagingNoDirect: the staging directory's file system refused an
	// O_DIRECT write; later tails go through the page cache at once.
	stagingNoDirect atomic.Bool
	caps            providers.Capabilities
	started         time.Time // mount start: the mtime of directories with no newer object seen

	// prefetch tokens: a buffered channel of MaxInflight slots.
	prefetch chan struct{}

	ctx    context.Context // component lifetime: cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu guards the node table, directory listings in memory, virtual
	// directories and dirty byte accounting. It is a leaf lock: never held
	// across a store or cache call. Lock order: wfile.mu -> Node.mu -> FS.mu.
	mu       sync.Mutex
	nodes    map[string]*Node       // GUARDED_BY(mu) key ("" root, "d/" dirs, "f" files)
	nextIno  uint64                 // GUARDED_BY(mu)
	listings map[string]*dirListing // GUARDED_BY(mu) by dir key
	lflights map[string]*listFlight // GUARDED_BY(mu) Lists in progress by dir key
	listGen  map[string]uint64      // GUARDED_BY(mu) changes made here per dir key (invalidate)
	vdirs    map[string]bool        // GUARDED_BY(mu) mkdir'd dirs on stores without markers
	negs     map[string]time.Time   // GUARDED_BY(mu) negative entries by key
	dirty    int64                  // GUARDED_BY(mu) bytes in staging files
	seq      uint64                 // GUARDED_BY(mu) staging file names
	open     map[*Handle]struct{}   // GUARDED_BY(mu) handles not yet released

	wb *writeBack
}

// New builds an FS and, in write-back mode, starts uploading the entries a
// previous run left pending.
func New(opts Options) (*FS, error) {
	if opts.Store == nil || opts.Cache == nil {
		return nil, fmt.Errorf("fs: Options.Store and Options.Cache are required")
	}
	d := DefaultOptions()
	if opts.FileMode == 0 {
		opts.FileMode = d.FileMode
	}
	if opts.DirMode == 0 {
		opts.DirMode = d.DirMode
	}
	if opts.AttrTTL == 0 {
		opts.AttrTTL = d.AttrTTL
	}
	if opts.DirTTL == 0 {
		opts.DirTTL = d.DirTTL
	}
	if opts.NegativeTTL == 0 {
		opts.NegativeTTL = d.NegativeTTL
	}
	if opts.MaxInflight <= 0 {
		opts.MaxInflight = d.MaxInflight
	}
	if opts.MaxReadahead <= 0 {
		opts.MaxReadahead = d.MaxReadahead
	}
	if opts.UploadConcurrency <= 0 {
		opts.UploadConcurrency = d.UploadConcurrency
	}
	if opts.RenameDirLimit <= 0 {
		opts.RenameDirLimit = d.RenameDirLimit
	}
	if opts.WriteBackConcurrency <= 0 {
		opts.WriteBackConcurrency = d.WriteBackConcurrency
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = d.SyncInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	f := &FS{
		opts:     opts,
		store:    opts.Store,
		cache:    opts.Cache,
		log:      opts.Logger,
		bsize:    opts.Cache.Options().BlockSize,
		caps:     opts.Store.Capabilities(),
		prefetch: make(chan struct{}, opts.MaxInflight),
		nodes:    map[string]*Node{},
		listings: map[string]*dirListing{},
		lflights: map[string]*listFlight{},
		listGen:  map[string]uint64{},
		vdirs:    map[string]bool{},
		negs:     map[string]time.Time{},
		open:     map[*Handle]struct{}{},
		nextIno:  1,
		started:  time.Now(),
	}
	// The one uploader of this FS: whole staging files, and live uploads
	// of files being written (journaled in the cache, so a killed mount's
	// are aborted by the next New).
	f.up = transfer.NewUploader(opts.Store, transfer.Options{
		PartSize: opts.PartSize, StoreID: opts.StoreID, Concurrency: opts.UploadConcurrency,
		SpillDir: filepath.Join(opts.Cache.Dir(), "staging"), Journal: opts.Cache,
		LiveMemory: opts.LiveMemory, Logger: opts.Logger,
	})
	f.staging = filepath.Join(opts.Cache.Dir(), "staging", stagingName(opts.StoreID))
	if err := os.MkdirAll(f.staging, 0o700); err != nil {
		return nil, fmt.Errorf("fs: staging dir: %w", err)
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	for _, old := range opts.FormerStoreIDs {
		n, err := f.cache.AdoptStore(f.ctx, old, opts.StoreID)
		if err != nil {
			f.cancel()
			return nil, fmt.Errorf("fs: adopting the cache entries of %s: %w", old, err)
		}
		if n > 0 {
			f.log.Info("adopted cache entries recorded under the store's former ID", "entries", n, "former", old, "id", opts.StoreID)
		}
	}
	root := f.nodeFor("", true)
	root.attr = Attr{Ino: root.ino, Mode: os.ModeDir | f.opts.DirMode}
	f.wb = newWriteBack(f)
	if !opts.ReadOnly {
		f.abortOrphans(f.ctx)
	}
	if opts.WriteBack && !opts.ReadOnly {
		if err := f.wb.recover(f.ctx); err != nil {
			f.cancel()
			return nil, err
		}
		f.wb.start()
	}
	return f, nil
}

// Options returns the options in effect (defaults filled in).
func (f *FS) Options() Options { return f.opts }

// Root returns the root directory.
func (f *FS) Root() *Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[""]
}

// Close stops background work. Write-back entries not yet uploaded stay
// journaled and are uploaded by the next New on the same cache. Call Drain
// first to wait for them.
func (f *FS) Close() error {
	f.cancel()
	f.wg.Wait()
	f.up.Wait()
	return nil
}

// StatFS is what statfs(2) reports: an object store has no fixed size, so
// the numbers are large constants, as other object-store mounts report.
type StatFS struct {
	Blocks, Bfree, Bavail uint64
	Files, Ffree          uint64
	Bsize                 uint32
	NameLen               uint32
}

// Statfs returns the file system statistics.
func (f *FS) Statfs() StatFS {
	const big = 1 << 40
	return StatFS{Blocks: big, Bfree: big, Bavail: big, Files: big, Ffree: big, Bsize: 4096, NameLen: 255}
}

// stagingName names the staging directory of a store: readable, and
// unique per StoreID (a hash of the whole ID follows the readable part), so
// file systems sharing one cache (MountTeams) never share staging files.
func stagingName(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) > 48 {
		b = b[:48]
	}
	sum := sha256.Sum256([]byte(id))
	return string(b) + "-" + hex.EncodeToString(sum[:6])
}

func (f *FS) readOnly() error {
	if f.opts.ReadOnly {
		return ErrReadOnly
	}
	return nil
}

var errStop = errors.New("stop listing")
