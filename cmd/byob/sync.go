package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/wrap"
	bsync "github.com/byobfs/byob/sync"
	"github.com/byobfs/byob/transfer"
)

type syncFlags struct {
	checksum, sizeOnly, update         bool
	del, deleteExcluded, dryRun        bool
	allowEmptySource                   bool
	maxDelete                          int
	backupDir                          string
	includes, excludes, excludeFrom    []string
	transfers, checkers                int
	partSize, bwlimit                  string
	copyLinks, createEmptyDirs, events bool
	shard                              string
	cacheDir                           string
	progress                           bool
}

func (a *app) syncCommand() *cobra.Command {
	var f syncFlags
	cmd := &cobra.Command{
		Use:   "sync SRC DST",
		Short: "Make DST like SRC: local <-> bucket, bucket <-> bucket (rsync-style)",
		Long: `Copy what is new or changed from SRC to DST; with --delete also remove from
DST what SRC does not have. Each side is a local directory, a store address
with an optional prefix, or NAME:PATH from the config file.

Files are compared by size and modification time (kept in rclone-compatible
"mtime" metadata and set on downloaded files); --checksum compares CRC32C/MD5
(never an ETag that is not an MD5), --size-only sizes alone, --update skips
files newer on DST. A no-op re-sync costs one listing per side: what listings
do not carry is remembered in the sync index (--cache-dir).

Deletes run after every transfer, and only when no listing and no transfer
failed. Filters: --include/--exclude/--exclude-from take doublestar globs; a
pattern starting with "/" is anchored at the sync root, others match at any
directory level; a trailing "/" matches directories; first match wins.
Excluded destination files are kept unless --delete-excluded.

A source that does not exist (a missing directory, a prefix with no object
and no marker under it) is an error: nothing is changed. A source that
exists but holds nothing at all (before filters and --shard) empties the
destination with --delete only when --allow-empty-source is given. A
--shard whose part of a non-empty source is empty deletes its part of the
destination, as the source lacks it.

Exit codes: 0 done, 1 failed (nothing deleted), 3 some items failed.`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.sync(cmd.Context(), args[0], args[1], f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&f.checksum, "checksum", "c", false, "compare checksums, not size and mtime")
	fl.BoolVar(&f.sizeOnly, "size-only", false, "compare sizes only")
	fl.BoolVarP(&f.update, "update", "u", false, "skip files that are newer on the destination")
	fl.BoolVar(&f.del, "delete", false, "delete destination files the source does not have")
	fl.BoolVar(&f.deleteExcluded, "delete-excluded", false, "with --delete, also delete excluded destination files")
	fl.IntVar(&f.maxDelete, "max-delete", -1, "refuse to delete more than N files (-1: no limit)")
	fl.BoolVar(&f.allowEmptySource, "allow-empty-source", false, "with --delete, let a source that holds nothing empty the destination")
	fl.StringVar(&f.backupDir, "backup-dir", "", "move replaced and deleted destination files under this prefix (or directory)")
	fl.BoolVarP(&f.dryRun, "dry-run", "n", false, "print the plan, change nothing")
	fl.StringArrayVar(&f.includes, "include", nil, "include paths matching this glob (repeatable)")
	fl.StringArrayVar(&f.excludes, "exclude", nil, "exclude paths matching this glob (repeatable)")
	fl.StringArrayVar(&f.excludeFrom, "exclude-from", nil, "read filter rules from a file ('+ glob', '- glob', '# comment')")
	fl.IntVar(&f.transfers, "transfers", 32, "files transferred at once (large files: their parts in flight, 4 each, count against this too)")
	fl.IntVar(&f.checkers, "checkers", 16, "comparisons and deletes at once")
	fl.StringVar(&f.partSize, "part-size", "", "multipart part size (e.g. 16MiB; default chosen from the size)")
	fl.StringVar(&f.bwlimit, "bwlimit", "", "bandwidth limit in bytes/s (e.g. 100MiB)")
	fl.BoolVarP(&f.copyLinks, "copy-links", "L", false, "follow local symlinks (default: skip them with a warning)")
	fl.BoolVar(&f.createEmptyDirs, "create-empty-dirs", false, "carry empty directories (marker objects dir/)")
	fl.BoolVar(&f.events, "events", false, "with --json, also write one JSON line per file")
	fl.StringVar(&f.shard, "shard", "", "sync only shard K of N (K/N, 0 <= K < N) of the keys, by hash")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "cache directory (default $BYOB_CACHE_DIR or ~/.cache/byob)")
	fl.BoolVar(&f.progress, "progress", true, "show progress on a terminal")
	return cmd
}

func (a *app) sync(ctx context.Context, srcRef, dstRef string, f syncFlags) error {
	defer a.startProfiles()()
	opts := bsync.DefaultOptions()
	switch {
	case f.checksum && f.sizeOnly:
		return usageError{errors.New("--checksum and --size-only exclude each other")}
	case f.checksum:
		opts.Compare = bsync.CompareChecksum
	case f.sizeOnly:
		opts.Compare = bsync.CompareSizeOnly
	}
	opts.Update, opts.Delete, opts.DeleteExcluded, opts.DryRun = f.update, f.del, f.deleteExcluded, f.dryRun
	opts.MaxDelete, opts.BackupDir, opts.AllowEmptySource = f.maxDelete, f.backupDir, f.allowEmptySource
	opts.Transfers, opts.Checkers = f.transfers, f.checkers
	opts.CopyLinks, opts.CreateEmptyDirs = f.copyLinks, f.createEmptyDirs
	opts.Logger = a.log
	var err error
	var partSize int64
	if f.partSize != "" {
		if partSize, err = parseSize(f.partSize); err != nil {
			return usageError{fmt.Errorf("--part-size: %v", err)}
		}
	}
	if f.bwlimit != "" {
		if opts.BwLimit, err = parseSize(f.bwlimit); err != nil {
			return usageError{fmt.Errorf("--bwlimit: %v", err)}
		}
	}
	if f.shard != "" {
		if opts.Shard, err = bsync.ParseShard(f.shard); err != nil {
			return usageError{fmt.Errorf("--shard: %v", err)}
		}
	}
	for _, p := range f.includes {
		opts.Filters = append(opts.Filters, bsync.Include(p))
	}
	for _, p := range f.excludes {
		opts.Filters = append(opts.Filters, bsync.Exclude(p))
	}
	for _, path := range f.excludeFrom {
		r, err := os.Open(path)
		if err != nil {
			return usageError{fmt.Errorf("--exclude-from: %v", unwrapPathErr(err))}
		}
		rules, err := bsync.ParseFilterFile(r)
		r.Close()
		if err != nil {
			return usageError{fmt.Errorf("--exclude-from %s: %v", path, err)}
		}
		opts.Filters = append(opts.Filters, rules...)
	}

	src, err := a.syncSide(ctx, srcRef)
	if err != nil {
		return err
	}
	defer src.close()
	dst, err := a.syncSide(ctx, dstRef)
	if err != nil {
		return err
	}
	defer dst.close()

	if err := checkLocalOverlap(src, dst); err != nil {
		return err
	}
	// The sync index: remembered remote mtimes, local hashes, upload journal.
	ids := map[providers.Store]string{}
	for _, s := range []*syncSideT{src, dst} {
		if s.side.Store != nil {
			ids[s.side.Store] = s.side.Name
		}
	}
	mo := bsync.TransferMoverOptions{PartSize: partSize, Concurrency: 4, Retry: wrap.DefaultRetryPolicy(),
		StoreID: func(st providers.Store) string { return ids[st] }, Streams: max(opts.Transfers, 1)}
	base, err := a.cacheBase(f.cacheDir)
	if err != nil {
		return err
	}
	dir := filepath.Join(base, "sync")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cache directory %s: %w", dir, unwrapPathErr(err))
	}
	c, err := cache.Open(cache.DefaultOptions(dir))
	switch {
	case err == nil:
		defer c.Close()
		for _, s := range []*syncSideT{src, dst} {
			if s.side.Store == nil {
				continue
			}
			if n, err := c.AdoptStore(ctx, s.former, s.side.Name); err != nil {
				return fmt.Errorf("sync index: %w", err)
			} else if n > 0 {
				a.log.Info("adopted upload journals recorded under the store's former ID", "journals", n, "id", s.side.Name)
			}
		}
		idx := bsync.NewCacheIndex(c)
		defer idx.Close() // before c.Close: commits what is pending
		opts.Index = idx
		mo.Journal = c
		mo.SpillDir = dir
	case errors.Is(err, cache.ErrLocked):
		a.log.Warn("the sync index is in use by another byob; this run will not remember what it learns (give --cache-dir to use another)", "error", err)
		opts.Index = bsync.NewMemIndex()
	default:
		return fmt.Errorf("sync index: %w", err)
	}
	opts.Mover = bsync.NewTransferMover(mo)
	opts.TempDir = dir
	// Journaled uploads nobody resumed for transfer.DefaultStaleAge are
	// aborted (no orphaned parts) and reported.
	if mo.Journal != nil && dst.side.Store != nil {
		stale, err := transfer.AbortStale(ctx, dst.side.Store, mo.Journal, dst.side.Name, transfer.DefaultStaleAge)
		if err != nil {
			a.log.Warn("could not abort stale uploads", "error", err)
		}
		for _, j := range stale {
			a.log.Warn("aborted an upload nobody resumed", "key", j.Key, "started", j.Started, "parts", len(j.Parts))
		}
	}

	prog := a.newSyncProgress(f.progress && !a.jsonOut && !f.dryRun)
	opts.OnEvent = func(e bsync.Event) {
		switch {
		case f.dryRun && e.Planned && e.Op != bsync.OpSkip:
			fmt.Fprintln(a.stdout, bsync.Action{Op: e.Op, Key: e.Key, Reason: e.Reason, Size: e.Size})
		case a.jsonOut && f.events && (e.Done || f.dryRun && e.Planned):
			jsonLine(a.stdout, e)
		}
		prog.event(e)
	}
	rep, err := bsync.Run(ctx, src.side, dst.side, opts)
	prog.done()
	if a.jsonOut {
		out := struct {
			bsync.Report
			Source      string  `json:"source"`
			Destination string  `json:"destination"`
			Seconds     float64 `json:"seconds"`
			Error       string  `json:"error,omitempty"`
		}{Report: rep, Source: src.display, Destination: dst.display, Seconds: rep.Duration.Seconds()}
		if err != nil {
			out.Error = providers.RedactText(err.Error())
		}
		jsonLine(a.stdout, out)
	} else if !f.dryRun {
		a.printSyncSummary(a.stderr, rep)
	}
	var pe *bsync.PartialError
	if errors.As(err, &pe) {
		return partialError{failed: int(rep.Failed), total: int(rep.Copied + rep.Updated + rep.Deleted + rep.Failed), first: err}
	}
	return err
}

func (a *app) printSyncSummary(w io.Writer, r bsync.Report) {
	fmt.Fprintf(w, "copied %d, updated %d, deleted %d, skipped %d, failed %d; %s in %v\n",
		r.Copied, r.Updated, r.Deleted, r.Skipped, r.Failed, humanSize(r.Bytes), r.Duration.Round(time.Millisecond))
	if r.DeletesSkipped != "" {
		fmt.Fprintf(w, "deletes skipped: %s\n", r.DeletesSkipped)
	}
}

type syncSideT struct {
	side    bsync.Side
	target  *target
	display string
	former  string // the store's former ID in the sync cache (FormerStoreID)
}

func (s *syncSideT) close() {
	if s.target != nil {
		s.target.close()
	}
}

// syncSide resolves one side: a local directory, or a store prefix wrapped
// in the one retry policy.
func (a *app) syncSide(ctx context.Context, ref string) (*syncSideT, error) {
	t, err := a.open(ctx, ref)
	if err != nil {
		return nil, err
	}
	if t.isLocal() {
		abs, err := filepath.Abs(t.loc.Local)
		if err != nil {
			return nil, err
		}
		return &syncSideT{side: bsync.Side{LocalDir: abs}, display: abs}, nil
	}
	root := t.loc.Address
	root.Path = ""
	return &syncSideT{
		side:    bsync.Side{Store: t.store, Prefix: strings.TrimSuffix(t.prefix, "/"), Name: root.StoreID()},
		target:  t,
		display: t.display(),
		former:  root.FormerStoreID(),
	}, nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// checkLocalOverlap refuses a sync between a local directory and a file://
// bucket inside it (or around it): sync checks overlaps of its own sides,
// but only the CLI knows where a file:// store lives.
func checkLocalOverlap(a, b *syncSideT) error {
	dirOf := func(s *syncSideT) string {
		if s.side.LocalDir != "" {
			return filepath.Clean(s.side.LocalDir)
		}
		if s.target != nil && s.target.loc.Address.Scheme == "file" {
			addr := s.target.loc.Address
			return filepath.Join(addr.Bucket, filepath.FromSlash(addr.Path))
		}
		return ""
	}
	p, q := dirOf(a), dirOf(b)
	if p == "" || q == "" {
		return nil
	}
	inside := func(x, y string) bool { return x == y || strings.HasPrefix(x, strings.TrimSuffix(y, "/")+"/") }
	if inside(p, q) || inside(q, p) {
		return usageError{fmt.Errorf("%s and %s overlap: a sync's destination may not be inside its source, or the reverse: %w", a.display, b.display, bsync.ErrOverlap)}
	}
	return nil
}
