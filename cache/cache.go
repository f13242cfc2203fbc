package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sys/unix"

	"github.com/byobfs/byob/transfer"
)

// File names inside Options.Dir.
const (
	indexFile  = "index.db"
	pidFile    = "index.pid"
	cleanFile  = "clean"
	blocksDir  = "blocks"
	dirPerm    = 0o700
	filePerm   = 0o600
	tmpPattern = ".tmp-*"
)

// Cache is one cache directory: its bbolt index and block store. It is safe
// for concurrent use. Close it when done.
type Cache struct {
	opts Options
	db   *bolt.DB
	dir  string

	// Fixed at Open.
	epoch   uint64 // this session's epoch
	trusted uint64 // blocks with an older epoch are verified on first read
	unclean bool   // the previous session did not Close

	bufs         *transfer.Buffers   // fetch buffers (BlockBuffer), recycled
	fetchMem     *semaphore.Weighted // bytes of fetched data in memory: in flight, or in the recent tier
	fetchWaiting atomic.Int64        // fetches waiting for fetchMem
	noDirect     atomic.Bool         // Dir's file system refused O_DIRECT (directio.go)

	// storeErrors counts fetched blocks that could not be stored (served
	// from memory, fetched again next time); flightsWG the flights running.
	storeErrors atomic.Int64
	flightsWG   sync.WaitGroup

	// filesChanged: this session wrote or removed block files, which are
	// not fsynced one by one, so Close must sync the file system before it
	// writes the clean marker. A session that only used the index (sync's
	// remembered metadata, upload journals: synced commits) skips that
	// syncfs, which would also flush every other dirty file there (a sync's
	// downloads).
	filesChanged atomic.Bool

	// wbMu guards wb, the write-back log (wblog.go); wbSyncMu orders its
	// syncs. Lock order: wbSyncMu -> wbMu -> bbolt write transaction.
	wbMu     sync.Mutex
	wbSyncMu sync.Mutex
	wb       wbLog

	// evictMu serialises room-making (reservation + eviction).
	evictMu sync.Mutex
	// sweepMu: writers of block files hold it shared from before a file
	// appears until its record is committed; the orphan sweeper holds it
	// exclusively while it re-checks and removes candidates.
	sweepMu sync.RWMutex

	// listMu serialises listing writes per (store, prefix).
	listMu keyedMutex

	mu sync.Mutex // leaf lock: guards the fields below
	// INVARIANT: bytes/dirty/blocks/dirtyBlocks equal the meta counters as of
	// the last committed transaction.
	bytes, dirty, blocks, dirtyBlocks int64                   // GUARDED_BY(mu)
	reserved, reservedDirty           int64                   // GUARDED_BY(mu): room promised to writers in progress
	pins                              map[string]int          // GUARDED_BY(mu): open handles per block key
	flights                           map[string]*flight      // GUARDED_BY(mu): fetches in progress per block key
	access                            map[string]accessUpdate // GUARDED_BY(mu): pending access times and verifications per block key
	listReaders                       map[string]int          // GUARDED_BY(mu): readers per listing generation key
	closed                            bool                    // GUARDED_BY(mu)
	// The recent tier (recent.go), GUARDED_BY(mu).
	recent      map[string]*flight // stored blocks whose bytes stay in memory
	recentQ     []recentEntry      // oldest first; entries whose block left are skipped
	recentBytes int64
	recentTimer *time.Timer   // the one expiry timer (armRecentLocked)
	recentArmed bool          // recentTimer will fire
	recentTTL   time.Duration // set at Open

	stop context.CancelFunc // ends background work
	bg   sync.WaitGroup
}

// Open opens (creating if needed) the cache in opts.Dir. Another process
// holding the index makes Open fail within opts.LockTimeout with ErrLocked.
func Open(opts Options) (*Cache, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("%w: empty cache directory", ErrInvalid)
	}
	opts = opts.withDefaults()
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := PrivateDir(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, blocksDir), dirPerm); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	dbPath := filepath.Join(dir, indexFile)
	_, statErr := os.Stat(dbPath)
	fresh := errors.Is(statErr, os.ErrNotExist)

	db, err := bolt.Open(dbPath, filePerm, &bolt.Options{
		Timeout:      opts.LockTimeout,
		NoSync:       opts.NoSync,
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, lockedError(dir)
		}
		return nil, fmt.Errorf("cache: opening index %s: %w", dbPath, err)
	}
	c := &Cache{
		opts:        opts,
		db:          db,
		dir:         dir,
		fetchMem:    semaphore.NewWeighted(opts.FetchMemory),
		bufs:        transfer.NewBuffers(int(opts.FetchMemory/opts.BlockSize), 2*time.Second),
		pins:        map[string]int{},
		flights:     map[string]*flight{},
		recent:      map[string]*flight{},
		recentTTL:   defaultRecentTTL,
		access:      map[string]accessUpdate{},
		listReaders: map[string]int{},
		wb:          wbLog{pending: map[string]*WriteBack{}},
	}
	if err := c.open(fresh); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cache) open(fresh bool) error {
	if err := writePrivateFile(c.dir, pidFile, []byte(strconv.Itoa(os.Getpid())+"\n")); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	cleanPath := filepath.Join(c.dir, cleanFile)
	wasClean := os.Remove(cleanPath) == nil
	if wasClean && !c.opts.NoSync {
		if err := syncDir(c.dir); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
	}
	c.unclean = !wasClean && !fresh
	err := c.db.Update(func(tx *bolt.Tx) error {
		if _, err := initSchema(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bktMeta)
		c.epoch = getU64(meta, metaEpoch) + 1
		if err := putU64(meta, metaEpoch, c.epoch); err != nil {
			return err
		}
		if c.unclean || fresh {
			if err := putU64(meta, metaTrusted, c.epoch); err != nil {
				return err
			}
		}
		c.trusted = getU64(meta, metaTrusted)
		c.bytes = int64(getU64(meta, metaBytes))
		c.dirty = int64(getU64(meta, metaDirty))
		c.blocks = int64(getU64(meta, metaBlocks))
		c.dirtyBlocks = int64(getU64(meta, metaDirtyBlocks))
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	if err := c.replayWriteBackLogs(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		c.flushLoop(ctx)
	}()
	if c.unclean {
		c.bg.Add(1)
		go func() {
			defer c.bg.Done()
			_, _ = c.sweep(ctx) // best effort; Verify reports what remains
		}()
	}
	return nil
}

// lockedError names the PID holding dir's index, when it can be read.
func lockedError(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, pidFile))
	if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
		return fmt.Errorf("%w: %s is in use by pid %d", ErrLocked, dir, pid)
	}
	return fmt.Errorf("%w: %s is in use", ErrLocked, dir)
}

// Close flushes access times, closes the index and marks the cache clean.
// Handles still open stay readable; calls after Close fail with ErrClosed.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closed = true
	for _, f := range c.flights {
		f.cancel() // a fetch or a store in progress ends; its block is fetched again next time
	}
	c.clearRecentLocked()
	c.mu.Unlock()
	c.flightsWG.Wait()
	c.stop()
	c.bg.Wait()
	errs := []error{c.flushAccess(), c.closeWriteBackLog()}
	// The marker vouches for the data files too: sync them first.
	if !c.opts.NoSync && c.filesChanged.Load() {
		errs = append(errs, syncFS(c.dir))
	}
	if err := c.db.Close(); err != nil {
		errs = append(errs, err)
	} else if err := errors.Join(errs...); err == nil {
		errs = append(errs, writeClean(filepath.Join(c.dir, cleanFile), !c.opts.NoSync))
	}
	_ = os.Remove(filepath.Join(c.dir, pidFile))
	return errors.Join(errs...)
}

// Dir is the cache directory (absolute).
func (c *Cache) Dir() string { return c.dir }

// Options returns the options in effect (defaults filled in).
func (c *Cache) Options() Options { return c.opts }

// Unclean reports whether the previous session ended without Close.
func (c *Cache) Unclean() bool { return c.unclean }

func (c *Cache) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// update runs fn in a write transaction after checking ctx and Close.
func (c *Cache) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.isClosed() {
		return ErrClosed
	}
	return c.db.Update(fn)
}

// batch is update for small, idempotent writes from many goroutines (sync's
// remembered remote metadata and fingerprints): bbolt's Batch merges
// concurrent calls into one commit, so N concurrent writers cost one
// fdatasync, not N. fn may run more than once.
func (c *Cache) batch(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.isClosed() {
		return ErrClosed
	}
	return c.db.Batch(fn)
}

// view runs fn in a read transaction after checking ctx and Close.
func (c *Cache) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.isClosed() {
		return ErrClosed
	}
	return c.db.View(fn)
}

func writeClean(path string, sync bool) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, filePerm)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(time.Now().UTC().Format(time.RFC3339) + "\n"); err != nil {
		f.Close()
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if sync {
		return syncDir(filepath.Dir(path))
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// syncFS flushes the whole file system holding dir (unsynced block files).
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// keyedMutex is a set of mutexes by name, created on demand.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry // GUARDED_BY(mu)
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int // GUARDED_BY(keyedMutex.mu)
}

func (k *keyedMutex) lock(name string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[name]
	if e == nil {
		e = &keyedEntry{}
		k.m[name] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, name)
		}
		k.mu.Unlock()
	}
}
