package sync

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/byobfs/byob/providers"
)

// entry is one listed item of a side. Keys are relative to the side's root;
// a key ending in "/" is a directory marker (dir set).
type entry struct {
	key     string
	size    int64
	modTime time.Time // local: the file's mtime; store: the server's ModTime
	// mtimeKnown: modTime is the file modification time (local sides); a
	// store entry's mtime needs the index or a HEAD.
	mtimeKnown bool
	dir        bool

	version string               // store only
	sums    []providers.Checksum // store only: content checksums the listing carried

	path  string // local only: the file's path
	inode uint64 // local only
}

// side is one end of a sync as the planner and the checkers see it.
type side interface {
	// list calls fn once per entry; keys should increase strictly in byte
	// order (the caller checks). An error from fn ends the walk and is returned.
	list(ctx context.Context, fn func(entry) error) error
	// mtime returns e's file modification time (may cost one HEAD).
	mtime(ctx context.Context, e *entry) (time.Time, error)
	// sums returns the content checksums known for e without reading it
	// (may cost one HEAD), and whether the side can compute any algorithm
	// by reading the bytes (local files).
	sums(ctx context.Context, e *entry) (have []providers.Checksum, computable bool, err error)
	// compute reads e and returns its checksum of algorithm alg.
	compute(ctx context.Context, e *entry, alg providers.ChecksumAlgorithm) (providers.Checksum, error)
	// exists reports whether the side's root exists: a local directory,
	// a store's root, or a key prefix with an object or marker under it.
	exists(ctx context.Context) (bool, error)
}

// storeSide is a key prefix of a store.
type storeSide struct {
	store  providers.Store
	name   string // index namespace
	prefix string // "" or ending in "/"
	dirs   bool   // zero-byte keys ending in "/" are directory markers
	// markers: the other side is a local directory, where a key ending
	// in "/" names a directory, never a file: an empty one is a marker
	// (made with dirs, skipped without), one holding data fails its item.
	markers bool
	index   Index
}

var _ side = (*storeSide)(nil)

// normPrefix turns a Side prefix into a listing prefix: "" or "p/".
func normPrefix(p string) string {
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

func (s *storeSide) full(rel string) string { return s.prefix + rel }

func (s *storeSide) exists(ctx context.Context) (bool, error) {
	if s.prefix == "" {
		return true, nil // the store opened: its root exists
	}
	found := false
	err := s.store.List(ctx, providers.ListOptions{Prefix: s.prefix}, func(providers.Entry) error {
		found = true
		return errFound
	})
	if err != nil && !errors.Is(err, errFound) {
		return false, err
	}
	return found, nil
}

var errFound = errors.New("found")

func (s *storeSide) list(ctx context.Context, fn func(entry) error) error {
	return s.store.List(ctx, providers.ListOptions{Prefix: s.prefix}, func(pe providers.Entry) error {
		if pe.IsPrefix || len(pe.Key) < len(s.prefix) || pe.Key[:len(s.prefix)] != s.prefix {
			return nil
		}
		rel := pe.Key[len(s.prefix):]
		if rel == "" {
			return nil // the marker of the root itself
		}
		e := entry{key: rel, size: pe.Size, modTime: pe.ModTime, version: pe.Version}
		if len(pe.Checksums) > 0 {
			e.sums = contentSums(pe.ObjectInfo)
		}
		if pe.Size == 0 && strings.HasSuffix(rel, "/") {
			if s.markers && !s.dirs {
				return nil
			}
			e.dir = s.dirs
		}
		return fn(e)
	})
}

// attrs returns the remote attributes of e: remembered by key + Version, or
// from one HEAD (then remembered).
func (s *storeSide) attrs(ctx context.Context, e *entry) (RemoteAttrs, error) {
	key := s.full(e.key)
	if a, ok := s.index.LookupRemote(s.name, key, e.version); ok {
		return a, nil
	}
	info, err := s.store.Stat(ctx, key)
	if err != nil {
		return RemoteAttrs{}, err
	}
	a := RemoteAttrs{Mtime: info.Mtime(), Checksums: contentSums(info)}
	s.index.RememberRemote(s.name, key, info.Version, a)
	return a, nil
}

func (s *storeSide) mtime(ctx context.Context, e *entry) (time.Time, error) {
	if e.mtimeKnown {
		return e.modTime, nil
	}
	a, err := s.attrs(ctx, e)
	return a.Mtime, err
}

func (s *storeSide) sums(ctx context.Context, e *entry) ([]providers.Checksum, bool, error) {
	if len(e.sums) > 0 {
		return e.sums, false, nil
	}
	a, err := s.attrs(ctx, e)
	return a.Checksums, false, err
}

func (s *storeSide) compute(context.Context, *entry, providers.ChecksumAlgorithm) (providers.Checksum, error) {
	return providers.Checksum{}, errors.New("store side cannot compute checksums")
}
