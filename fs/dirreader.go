package fs

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/byobfs/byob/layout"
)

// DirEntry is one entry of ReadDir.
type DirEntry struct {
	Name  string
	Ino   uint64
	IsDir bool
}

// localEntry is an entry only this mount knows.
type localEntry struct {
	de DirEntry
	c  *Node
}

// DirReader returns a directory's entries one at a time, sorted by name
// (without "." and ".."): the server's, as layout.DirEntries names them,
// merged with files and directories only this mount knows yet. It reads
// the listing in place: a directory of 100,000 entries is not copied to
// be read.
type DirReader struct {
	dir   *Node
	l     *dirListing
	i     int          // next listing entry
	local []localEntry // local-only entries, sorted by name
	j     int          // next local entry
	fromL bool         // the entry Next returned last came from the listing
}

// OpenDir lists directory n (from its listing while fresh) for reading.
func (n *Node) OpenDir(ctx context.Context) (*DirReader, error) {
	if !n.isDir {
		return nil, ErrNotDir
	}
	l, err := n.listing(ctx)
	if err != nil {
		return nil, err
	}
	return &DirReader{dir: n, l: l, local: n.localEntries(l)}, nil
}

// Next returns the next entry and its node, or ok false at the end.
func (r *DirReader) Next() (de DirEntry, c *Node, ok bool) {
	f := r.dir.fs
	if r.i >= len(r.l.entries) && r.j >= len(r.local) {
		return DirEntry{}, nil, false
	}
	if r.j < len(r.local) && (r.i >= len(r.l.entries) || r.local[r.j].de.Name < r.l.entries[r.i].name) {
		de, c = r.local[r.j].de, r.local[r.j].c
		r.j++
		r.fromL = false
		return de, c, true
	}
	e := &r.l.entries[r.i]
	r.i++
	c = f.nodeFromListing(e, r.l.fetched)
	r.fromL = true
	return DirEntry{Name: e.name, Ino: c.ino, IsDir: e.isDir}, c, true
}

// CacheTTL is how long the entry Next returned last, and the attributes
// it carries, may be cached by the kernel when it came from the listing:
// what is left of max(AttrTTL, DirTTL), which is how long Lookup and Attr
// answer from that listing themselves. 0 for an entry only this mount
// knows (the default timeouts apply).
func (r *DirReader) CacheTTL() time.Duration {
	if !r.fromL {
		return 0
	}
	f := r.dir.fs
	return max(0, max(f.opts.AttrTTL, f.opts.DirTTL)-time.Since(r.l.fetched))
}

// Generation identifies what a reader of the directory returns, for a
// kernel that keeps its own copy of the directory's entries (FUSE's
// readdir cache): the same gen means the same names, as long as ok holds.
// ok is false while the directory has entries only this mount knows
// (files being written, entries added since the listing began): those
// come and go without a new listing. It is false for an empty directory
// too: the kernel answers from an empty copy without looking at its pages,
// so that copy could not be dropped, and with DirTTL 0 (every open lists
// again: a copy would never be read). A new listing, fresh from the store
// or after a change made here, has a new gen.
func (r *DirReader) Generation() (gen uint64, ok bool) {
	return r.l.seq, len(r.local) == 0 && len(r.l.entries) > 0 && r.dir.fs.opts.DirTTL > 0
}

// Rewind starts the reader over the same entries (a reader whose entries
// the kernel keeps must not return another listing's).
func (r *DirReader) Rewind() { r.i, r.j, r.fromL = 0, 0, false }

// localEntries returns the directory's entries only this mount knows
// (files being written or waiting for write-back, directories made here
// on stores without markers) that listing l does not show, sorted by name.
func (n *Node) localEntries(l *dirListing) []localEntry {
	f := n.fs
	dirKey := n.Key()
	f.mu.Lock()
	var cands []*Node
	var candKeys []string
	for k, c := range f.nodes {
		if k != dirKey && strings.HasPrefix(k, dirKey) && !strings.Contains(strings.TrimSuffix(k[len(dirKey):], "/"), "/") {
			cands = append(cands, c)
			candKeys = append(candKeys, k)
		}
	}
	vd := make(map[string]bool, len(f.vdirs))
	for k := range f.vdirs {
		vd[k] = true
		if k != dirKey && strings.HasPrefix(k, dirKey) && !strings.Contains(strings.TrimSuffix(k[len(dirKey):], "/"), "/") {
			if _, ok := f.nodes[k]; !ok {
				cands = append(cands, f.nodeForLocked(k, true))
				candKeys = append(candKeys, k)
			}
		}
	}
	f.mu.Unlock()
	var out []localEntry
	for i, c := range cands {
		k := candKeys[i]
		local := false
		if c.isDir {
			local = vd[k] || c.hasLocalChildren() || c.addedSince(l.started)
		} else {
			local = c.localOnly() || c.addedSince(l.started)
		}
		if !local {
			continue
		}
		name, err := layout.EncodeSegment(strings.TrimSuffix(k[len(dirKey):], "/"))
		if err != nil {
			continue
		}
		name, _ = layout.LongName(name)
		if _, ok := l.byName(name); ok {
			continue
		}
		out = append(out, localEntry{DirEntry{Name: name, Ino: c.ino, IsDir: c.isDir}, c})
	}
	slices.SortFunc(out, func(a, b localEntry) int { return strings.Compare(a.de.Name, b.de.Name) })
	return slices.CompactFunc(out, func(a, b localEntry) bool { return a.de.Name == b.de.Name })
}

// ReadDir returns all the directory's entries, as DirReader does.
func (n *Node) ReadDir(ctx context.Context) ([]DirEntry, error) {
	r, err := n.OpenDir(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]DirEntry, 0, len(r.l.entries)+len(r.local))
	for {
		de, _, ok := r.Next()
		if !ok {
			return out, nil
		}
		out = append(out, de)
	}
}
