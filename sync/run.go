package sync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"
)

// Run syncs src to dst: it makes dst's files under its root equal to src's
// (and, with Delete, removes what src lacks) and reports what it did.
//
// The error is nil when every item succeeded; a *PartialError when the run
// finished but some items failed (the CLI's exit code 3); any other error
// when the run could not be carried out: invalid options (ErrInvalidOptions),
// overlapping sides (ErrOverlap), a failed or unordered listing
// (ErrListing, ErrUnordered: the plan stopped, nothing was deleted), too many
// deletes (ErrMaxDelete), or a cancelled ctx. The Report is filled in every case.
func Run(ctx context.Context, src, dst Side, opts Options) (Report, error) {
	start := time.Now()
	if err := opts.validate(); err != nil {
		return Report{}, err
	}
	if err := checkSides(src, dst, opts.BackupDir); err != nil {
		return Report{}, err
	}
	f, err := newFilter(opts.Filters)
	if err != nil {
		return Report{}, err
	}
	rec := &recorder{onEvent: opts.OnEvent}
	index := opts.Index
	if index == nil {
		index = noIndex{}
	}
	s, d := makeSide(src, dst, &opts, index, rec), makeSide(dst, src, &opts, index, rec)
	if src.Store == nil {
		// A missing local source fails before anything is listed; a
		// store's prefix is asked only if it lists nothing (execute).
		if ok, err := s.exists(ctx); err != nil || !ok {
			return Report{}, noSource(src, err)
		}
	}
	x := &executor{src: s, dst: d, srcSide: src, sameStore: src.Store != nil && dst.Store != nil && sameStore(src, dst),
		opts: &opts, index: index, lim: newLimiter(opts.BwLimit), rec: rec}
	err = execute(ctx, s, d, x, f, &opts, rec)
	r := rec.report()
	r.DryRun = opts.DryRun
	r.Duration = time.Since(start)
	return r, err
}

// makeSide builds side s of a run whose other side is other.
func makeSide(s, other Side, opts *Options, index Index, rec *recorder) side {
	if s.Store != nil {
		return &storeSide{store: s.Store, name: s.Name, prefix: normPrefix(s.Prefix), dirs: opts.CreateEmptyDirs,
			markers: other.Store == nil, index: index}
	}
	root, _ := filepath.Abs(s.LocalDir)
	return &localSide{root: root, namer: opts.Namer, copyLinks: opts.CopyLinks, dirs: opts.CreateEmptyDirs,
		index: index, log: opts.Logger, rec: rec}
}

// execute plans and runs: transfers while the plan streams, deletes after.
func execute(ctx context.Context, s, d side, x *executor, f *filter, opts *Options, rec *recorder) error {
	p := &planner{src: s, dst: d, filter: f, shard: opts.Shard, delete: opts.Delete, delExcl: opts.DeleteExcluded,
		checkers: opts.Checkers, rec: rec,
		cmp: &comparer{src: s, dst: d, mode: opts.Compare, update: opts.Update, window: opts.ModifyWindow}}
	sp := &spool{dir: opts.TempDir}
	defer sp.close()
	var pending int64
	var wg gosync.WaitGroup
	sem := make(chan struct{}, opts.Transfers)
	planErr := p.run(ctx, func(a Action) error {
		rec.event(Event{Op: a.Op, Key: a.Key, Reason: a.Reason, Size: a.Size, Planned: true})
		switch {
		case a.Op == OpSkip:
			rec.done(a, 0, nil)
		case a.Op == OpDelete:
			pending++
			if !opts.DryRun {
				return sp.add(a.Key, a.dst.dir)
			}
		case opts.DryRun:
			rec.update(func(r *Report) {
				switch a.Op {
				case OpCopy:
					r.Copied++
				case OpUpdate:
					r.Updated++
				case OpMkdir:
					r.Mkdirs++
				}
				r.Bytes += a.Size
			})
		default:
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			wg.Go(func() {
				defer func() { <-sem }()
				n, err := x.transfer(ctx, a)
				rec.done(a, n, err)
			})
		}
		return nil
	})
	wg.Wait()
	rec.update(func(r *Report) { r.PendingDeletes = pending })
	skipDeletes := func(why string) {
		if pending > 0 {
			rec.update(func(r *Report) { r.DeletesSkipped = why })
		}
	}
	if planErr != nil {
		skipDeletes("listing failed")
		return fmt.Errorf("sync: %w", planErr)
	}
	if p.srcSeen == 0 {
		// Nothing to copy: a source that is not there must not read as
		// an empty one, and an empty one empties the destination only
		// when asked to.
		if ok, err := s.exists(ctx); err != nil || !ok {
			skipDeletes("the source does not exist")
			return noSource(x.srcSide, err)
		}
		if pending > 0 && !opts.AllowEmptySource {
			skipDeletes("the source is empty")
			return fmt.Errorf("sync: %w: %s lists nothing, and --delete would delete all %d file(s) of the destination: nothing deleted (give --allow-empty-source to empty it)", ErrEmptySource, x.srcSide, pending)
		}
	}
	if failed := rec.failed(); failed > 0 {
		skipDeletes(fmt.Sprintf("%d item(s) failed", failed))
		return partial(rec, pending > 0)
	}
	if opts.MaxDelete >= 0 && pending > int64(opts.MaxDelete) {
		skipDeletes(fmt.Sprintf("%d deletes exceed --max-delete %d", pending, opts.MaxDelete))
		return fmt.Errorf("sync: %w: %d planned, at most %d allowed; nothing deleted", ErrMaxDelete, pending, opts.MaxDelete)
	}
	if pending > 0 {
		if opts.DryRun {
			rec.update(func(r *Report) { r.Deleted = pending })
		} else if err := x.runDeletes(ctx, sp, opts.Checkers); err != nil {
			return fmt.Errorf("sync: deletes: %w", err)
		}
	}
	if rec.failed() > 0 {
		return partial(rec, false)
	}
	return ctx.Err()
}

// noSource is the error of a source that does not exist (or could not be
// checked: err).
func noSource(src Side, err error) error {
	if err != nil {
		return fmt.Errorf("sync: checking that the source %s exists: %w", src, err)
	}
	return fmt.Errorf("sync: %w: %s (nothing was changed)", ErrNoSource, src)
}

func partial(rec *recorder, deletesSkipped bool) error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return &PartialError{Failed: int(rec.r.Failed), First: append([]error(nil), rec.first...), DeletesSkipped: deletesSkipped}
}

// sameStore reports whether two store Sides are the same store.
func sameStore(a, b Side) (same bool) {
	defer func() {
		if recover() != nil { // an incomparable Store value
			same = false
		}
	}()
	return a.Store == b.Store || (a.Name != "" && a.Name == b.Name)
}

// checkSides validates the two Sides and refuses overlaps: a destination
// inside the source, a source inside the destination, or a backup
// directory inside either.
func checkSides(src, dst Side, backupDir string) error {
	for _, s := range []Side{src, dst} {
		if (s.Store == nil) == (s.LocalDir == "") {
			return fmt.Errorf("%w: a side needs exactly one of Store and LocalDir", ErrInvalidOptions)
		}
	}
	if overlaps(src, dst) {
		return fmt.Errorf("%w: %s and %s", ErrOverlap, src, dst)
	}
	if backupDir != "" {
		b := Side{LocalDir: backupDir}
		if dst.Store != nil {
			b = Side{Store: dst.Store, Name: dst.Name, Prefix: backupDir}
		}
		if overlaps(b, dst) || overlaps(b, src) {
			return fmt.Errorf("%w: backup directory %s overlaps a side", ErrOverlap, backupDir)
		}
	}
	return nil
}

// rooted is implemented by stores that are a local directory (providers/local).
type rooted interface{ Root() string }

func overlaps(a, b Side) bool {
	pa, oka := localPath(a)
	pb, okb := localPath(b)
	if oka && okb {
		return pathOverlap(pa, pb)
	}
	if a.Store != nil && b.Store != nil && sameStore(a, b) {
		x, y := normPrefix(a.Prefix), normPrefix(b.Prefix)
		return strings.HasPrefix(x, y) || strings.HasPrefix(y, x)
	}
	return false
}

// localPath returns the directory a Side occupies on this machine, if any.
func localPath(s Side) (string, bool) {
	if s.Store == nil {
		return realPath(s.LocalDir), true
	}
	if r, ok := s.Store.(rooted); ok {
		return realPath(filepath.Join(r.Root(), strings.TrimSuffix(s.Prefix, "/"))), true
	}
	return "", false
}

// realPath resolves symlinks in the longest existing leading part of p.
func realPath(p string) string {
	p, _ = filepath.Abs(p)
	rest := ""
	for cur := p; ; cur = filepath.Dir(cur) {
		if _, err := os.Lstat(cur); err == nil || !errors.Is(err, fs.ErrNotExist) {
			if r, err := filepath.EvalSymlinks(cur); err == nil {
				return filepath.Join(r, rest)
			}
			return p
		}
		if cur == filepath.Dir(cur) {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}

func pathOverlap(a, b string) bool {
	if a == b || a == "/" || b == "/" {
		return true
	}
	return strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}
