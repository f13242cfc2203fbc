package layout

import (
	"slices"
	"strconv"
	"strings"

	"github.com/byobfs/byob/providers"
)

// DirEntry is one entry of a directory as the mount shows it.
type DirEntry struct {
	// Name is what readdir returns: a file name of at most MaxNameLen bytes,
	// unique in the directory.
	Name string
	// Key is the object's key, or for a directory the common prefix (ending
	// in "/").
	Key   string
	IsDir bool
	// Shadowed: an object hidden by a directory of the same name ("a" beside
	// "a/b"); Name is its ShadowName.
	Shadowed bool
	// Long: Name was shortened by LongName (or de-duplicated); only this
	// entry, not DecodeName, knows Key.
	Long bool
	// Entry is the listing entry the DirEntry comes from.
	Entry providers.Entry
}

// candidate is an entry of DirEntries before names are assigned.
type candidate struct {
	seg  string // key segment
	name string // EncodeSegment(seg), maybe longer than MaxNameLen
	e    providers.Entry
}

// DirEntries turns one level of a listing (List with Delimiter "/" and
// Prefix dirPrefix, which is "" or ends in "/") into the directory entries
// the mount shows, sorted by Name:
//
//   - a common prefix dirPrefix+seg+"/" is a directory named
//     EncodeSegment(seg); the empty segment ("a//b") is the directory "%%";
//   - an object dirPrefix+seg is a file named EncodeSegment(seg);
//   - the object dirPrefix itself (a directory marker, see IsDirMarker) is
//     the directory being listed and is not shown;
//   - when both an object and a prefix have segment seg, the directory gets
//     the name and the object is shown as ShadowName(name) ("a%obj");
//   - a name over MaxNameLen bytes is shortened by LongName.
//
// Names are unique: exact names (EncodeSegment's, which never collide) are
// assigned first, then shortened names, then shadow names; a later name
// that is already taken gets "%2", "%3", ... appended (shortened again if
// needed). Such collisions need a key spelled like another entry's
// shortened or shadow name; the result is deterministic for a given
// listing. Entries outside dirPrefix, deeper entries, and keys that are not
// valid UTF-8 are left out.
//
// A mount resolving a name without a listing at hand decodes it
// (DecodeName) and looks that key up first; only when it is absent and the
// name is LongName- or ShadowName-shaped does it list the directory and
// take the entry from DirEntries.
func DirEntries(entries []providers.Entry, dirPrefix string) []DirEntry {
	var dirs, objs []candidate
	for _, e := range entries {
		rel, ok := strings.CutPrefix(e.Key, dirPrefix)
		if !ok {
			continue
		}
		seg := rel
		if e.IsPrefix {
			seg, ok = strings.CutSuffix(rel, "/")
			if !ok {
				continue
			}
		} else if rel == "" {
			continue // the directory marker of the directory itself
		}
		if strings.IndexByte(seg, '/') >= 0 {
			continue
		}
		name, err := EncodeSegment(seg)
		if err != nil {
			continue
		}
		c := candidate{seg: seg, name: name, e: e}
		if e.IsPrefix {
			dirs = append(dirs, c)
		} else {
			objs = append(objs, c)
		}
	}
	isDir := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		isDir[d.seg] = true
	}

	out := make([]DirEntry, 0, len(dirs)+len(objs))
	taken := make(map[string]bool, len(dirs)+len(objs))
	var long, shadowed []DirEntry
	add := func(c candidate, dir bool) {
		de := DirEntry{Name: c.name, Key: c.e.Key, IsDir: dir, Entry: c.e}
		switch {
		case !dir && isDir[c.seg]:
			de.Shadowed = true
			de.Name = ShadowName(c.name)
			de.Long = len(c.name)+len(ShadowSuffix) > MaxNameLen
			shadowed = append(shadowed, de)
		case len(c.name) > MaxNameLen:
			de.Long = true
			de.Name, _ = LongName(c.name)
			long = append(long, de)
		case !taken[c.name]:
			taken[c.name] = true
			out = append(out, de)
		}
	}
	seen := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		if !seen[d.seg] {
			seen[d.seg] = true
			add(d, true)
		}
	}
	for _, o := range objs {
		add(o, false)
	}
	for _, group := range [][]DirEntry{long, shadowed} {
		slices.SortFunc(group, func(a, b DirEntry) int { return strings.Compare(a.Key, b.Key) })
		for _, de := range group {
			if taken[de.Name] {
				de.Name = uniqueName(de.Name, taken)
				de.Long = true
			}
			taken[de.Name] = true
			out = append(out, de)
		}
	}
	slices.SortFunc(out, func(a, b DirEntry) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// uniqueName returns name with the first "%N" (N >= 2) that is not taken,
// shortened by LongName when too long.
func uniqueName(name string, taken map[string]bool) string {
	for i := 2; ; i++ {
		c, _ := LongName(name + "%" + strconv.Itoa(i))
		if !taken[c] {
			return c
		}
	}
}
