package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/byobfs/byob/providers"
)

// The rule set is written out as a table in doc.go ("Key segments and file
// names"); this file implements it. Terms used below:
//
//   - a key segment is what lies between two "/" of a key: any valid UTF-8
//     string without "/", including "", "." and ".." and strings holding NUL;
//   - a name is a POSIX file name: non-empty, not "." or "..", no "/" and no
//     NUL, any bytes otherwise (not necessarily UTF-8);
//   - E(y) is y with every "%", every NUL and every byte that is not part of
//     a valid UTF-8 sequence written as "%HH" (upper-case hex), all else
//     as is; a token is "%%" + E(y) for a y that needs one (below).
//
// A string is key-only when it is a key segment but not a name ("", ".",
// "..", or it holds NUL), name-only when it is a name but not a key segment
// (not valid UTF-8). Every string has a chain: unwrap tokens ("%%"+E(y) -> y)
// while the string is one, and look at what remains (the base). A key-only
// base at depth d (a key) maps to depth d+1 (a name); a name-only base at
// depth d (a name) maps to depth d+1 (a key); every other string (no token,
// or a token whose base is both or neither) maps to itself. That makes the
// mapping a bijection between all key segments and all names, the identity
// on every string that is both, and there is no malformed input: a "%" that
// does not start a canonical token is an ordinary character.

const (
	// Escape is the byte that starts every escape the mapping writes.
	Escape = '%'
	// TokenMark starts every token: "%%" + E(y). Two bytes, so that a key
	// that merely starts with a percent-encoded byte ("%E6%97%A5.txt") is
	// never read as a token.
	TokenMark = "%%"
	// MaxNameLen is the longest file name Linux file systems accept
	// (NAME_MAX); longer names go through LongName.
	MaxNameLen = 255
	// XattrKey is the extended attribute in which sync records the full key
	// segment of a file or directory whose on-disk name is a LongName or a
	// ShadowName, so that PathToKey can map it back (see LongNameLookup).
	XattrKey = "user.byob.key"
	// ShadowSuffix is appended to the name of an object that a directory of
	// the same name hides ("a" beside "a/b"): the object shows as "a%obj".
	ShadowSuffix = "%obj"
	// longMark separates the kept head of a long name from its hash.
	longMark = "%~"
	// longHashLen is the number of hex digits of the SHA-256 in a LongName.
	longHashLen = 32
	// maxLongExt is the longest extension LongName keeps.
	maxLongExt = 16
)

const hexDigits = "0123456789ABCDEF"

// escapeBody returns E(y): "%", NUL and every byte outside a valid UTF-8
// sequence as "%HH", everything else unchanged. The result is valid UTF-8
// without NUL.
func escapeBody(y string) string {
	var b strings.Builder
	b.Grow(len(y) + 2)
	for i := 0; i < len(y); {
		c := y[i]
		switch {
		case c == Escape || c == 0:
			b.WriteByte(Escape)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
			i++
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(y[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteByte(Escape)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&15])
			} else {
				b.WriteString(y[i : i+size])
			}
			i += size
		}
	}
	return b.String()
}

// unhex returns the value of an upper-case hex digit.
func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unescapeBody inverts escapeBody: it returns y with E(y) == body, and false
// when there is none (a "%" not followed by two upper-case hex digits, an
// escape escapeBody would not have written, or a y holding "/").
func unescapeBody(body string) (string, bool) {
	if strings.IndexByte(body, Escape) < 0 {
		// E(y) == y exactly when y has no "%", NUL or invalid UTF-8: then
		// the token would be the escape of a string that needs none.
		return body, utf8.ValidString(body) && strings.IndexByte(body, 0) < 0 && strings.IndexByte(body, '/') < 0
	}
	b := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != Escape {
			b = append(b, c)
			continue
		}
		if i+2 >= len(body) {
			return "", false
		}
		hi, ok1 := unhex(body[i+1])
		lo, ok2 := unhex(body[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	y := string(b)
	if strings.IndexByte(y, '/') >= 0 || escapeBody(y) != body {
		return "", false
	}
	return y, true
}

// class is what a base string can be.
type class uint8

const (
	classBoth     class = iota // a key segment and a name: maps to itself
	classKeyOnly               // "", ".", "..", or holds NUL (valid UTF-8)
	classNameOnly              // not valid UTF-8, no NUL
	classNeither               // not valid UTF-8 and holds NUL
)

// baseClass classifies s, which holds no "/".
func baseClass(s string) class {
	valid := utf8.ValidString(s)
	keyOnly := s == "" || s == "." || s == ".." || strings.IndexByte(s, 0) >= 0
	switch {
	case valid && !keyOnly:
		return classBoth
	case valid:
		return classKeyOnly
	case !keyOnly:
		return classNameOnly
	}
	return classNeither
}

// chainClass unwraps tokens from s and returns the class of the chain:
// classKeyOnly or classNameOnly when s is that base under zero or more
// tokens, classBoth when s maps to itself.
func chainClass(s string) class {
	for d := 0; ; d++ {
		c := baseClass(s)
		if c != classBoth {
			if d > 0 && c == classNeither {
				return classBoth
			}
			return c
		}
		body, ok := strings.CutPrefix(s, TokenMark)
		if !ok {
			return classBoth
		}
		y, ok := unescapeBody(body)
		if !ok {
			return classBoth
		}
		s = y
	}
}

// EncodeSegment maps one key segment to its file name (rule table in
// doc.go). seg must be valid UTF-8 without "/"; otherwise the error wraps
// providers.ErrInvalidKey. The name is never "", "." or "..", never holds
// "/" or NUL, and is seg itself for every ordinary segment; it may be longer
// than MaxNameLen (see LongName). DecodeName(name) returns seg.
func EncodeSegment(seg string) (string, error) {
	if strings.IndexByte(seg, '/') >= 0 {
		return "", fmt.Errorf("layout: key segment %q holds %q: %w", seg, "/", providers.ErrInvalidKey)
	}
	if !utf8.ValidString(seg) {
		return "", fmt.Errorf("layout: key segment %q is not valid UTF-8: %w", seg, providers.ErrInvalidKey)
	}
	switch chainClass(seg) {
	case classKeyOnly:
		return TokenMark + escapeBody(seg), nil
	case classNameOnly: // a token (depth >= 1): unwrap one level
		y, _ := unescapeBody(seg[len(TokenMark):])
		return y, nil
	}
	return seg, nil
}

// DecodeName maps a file name to its key segment, the inverse of
// EncodeSegment: EncodeSegment(DecodeName(n)) == n for every name n, and the
// segment is always valid UTF-8 without "/". name must be a file name (any
// bytes but "/" and NUL, not "", "." or ".."); otherwise the error wraps
// ErrInvalidName. Any length is accepted, so that names EncodeSegment made
// longer than MaxNameLen decode too. A LongName or ShadowName decodes like
// any other name (to a different key); resolving them needs the side record
// (PathToKey's lookup, or the mount's DirEntries).
func DecodeName(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	switch chainClass(name) {
	case classNameOnly:
		return TokenMark + escapeBody(name), nil
	case classKeyOnly: // a token (depth >= 1): unwrap one level
		y, _ := unescapeBody(name[len(TokenMark):])
		return y, nil
	}
	return name, nil
}

// checkName reports why name is not a file name, or nil. Length is not
// checked.
func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("layout: %q: %w", name, ErrInvalidName)
	case strings.IndexByte(name, '/') >= 0:
		return fmt.Errorf("layout: %q holds %q: %w", name, "/", ErrInvalidName)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("layout: %q holds NUL: %w", name, ErrInvalidName)
	}
	return nil
}

// LongName returns the name to use on disk for a name EncodeSegment (or
// ShadowName) returned. A name of at most MaxNameLen bytes is returned
// unchanged with long false. A longer one is shortened deterministically to
// exactly MaxNameLen bytes or fewer: as much of its head as fits (cut at a
// UTF-8 boundary), "%~", 32 hex digits of the SHA-256 of the whole name, and
// its extension when that is short ("head%~0123...abcd.parquet"). The full
// name cannot be recovered from the short one: the mount keeps it from the
// listing (DirEntry.Key), sync records the key segment in the XattrKey
// extended attribute and hands it back through a LongNameLookup.
func LongName(name string) (short string, long bool) {
	if len(name) <= MaxNameLen {
		return name, false
	}
	sum := sha256.Sum256([]byte(name))
	tail := longMark + hex.EncodeToString(sum[:])[:longHashLen] + longExt(name)
	cut := MaxNameLen - len(tail)
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + tail, true
}

// longExt returns name's extension (from its last "."), when it is 2 to
// maxLongExt bytes of valid UTF-8 without "%" or NUL; otherwise "".
func longExt(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || len(name)-i < 2 || len(name)-i > maxLongExt {
		return ""
	}
	ext := name[i:]
	if !utf8.ValidString(ext) || strings.ContainsAny(ext, "%\x00") {
		return ""
	}
	return ext
}

// IsLongName reports whether name has the shape LongName gives shortened
// names. A name of that shape may still be an ordinary name (a key can be
// spelled that way); only a side record tells.
func IsLongName(name string) bool {
	i := strings.LastIndex(name, longMark)
	if i < 0 {
		return false
	}
	rest := name[i+len(longMark):]
	if len(rest) < longHashLen {
		return false
	}
	for j := range longHashLen {
		c := rest[j]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return rest[longHashLen:] == longExt(name) || rest[longHashLen:] == ""
}

// ShadowName returns the name of an object hidden by a directory of the same
// name, given the directory's name: name + ShadowSuffix, shortened with
// LongName when too long. Inside one listing DirEntries may append a counter
// when another entry already holds that name.
func ShadowName(name string) string {
	s, _ := LongName(name + ShadowSuffix)
	return s
}

// SplitShadowName returns the directory name a shadow name was made from,
// when name ends in ShadowSuffix. A name of that shape may still be an
// ordinary name; a lookup tries the ordinary reading first (see DirEntries).
func SplitShadowName(name string) (dirName string, ok bool) {
	base, ok := strings.CutSuffix(name, ShadowSuffix)
	if !ok || checkName(base) != nil {
		return "", false
	}
	return base, true
}

// LongNameLookup returns the key segment recorded for the entry short of the
// local directory dir (a relative path as on disk, "" for the root): sync
// reads the XattrKey extended attribute. ok is false when there is none.
type LongNameLookup func(dir, short string) (keySegment string, ok bool)

// resolveName decodes one on-disk name of directory dir. A LongName or
// ShadowName with a side record that still produces exactly that name maps
// to the recorded segment; a stale record (the file was renamed) is ignored
// and the name decodes as written.
func resolveName(dir, name string, lookup LongNameLookup) (string, error) {
	if lookup != nil && (IsLongName(name) || strings.HasSuffix(name, ShadowSuffix)) {
		if seg, ok := lookup(dir, name); ok {
			if full, err := EncodeSegment(seg); err == nil {
				if s, _ := LongName(full); s == name || ShadowName(full) == name {
					return seg, nil
				}
			}
		}
	}
	return DecodeName(name)
}

// KeyToPath maps an object key to a relative local path: each segment
// through EncodeSegment and then LongName, joined with "/". The path is
// always local (filepath.IsLocal): no segment is empty, "." or "..". key
// must be non-empty valid UTF-8 (else the error wraps
// providers.ErrInvalidKey). A key ending in "/" is a directory marker (see
// IsDirMarker): its last segment is empty and maps to the name "%%"; callers
// that treat markers as directories check IsDirMarker first. Use
// KeyToPathLong to learn which segments were shortened.
func KeyToPath(key string) (string, error) {
	p, _, err := KeyToPathLong(key)
	return p, err
}

// KeyToPathLong is KeyToPath that also returns, for each segment shortened by
// LongName, its index (0-based) in the path: sync records the key segment
// of each in the XattrKey extended attribute of that file or directory.
func KeyToPathLong(key string) (path string, long []int, err error) {
	if key == "" {
		return "", nil, fmt.Errorf("layout: empty key: %w", providers.ErrInvalidKey)
	}
	var b strings.Builder
	i := 0
	for seg := range strings.SplitSeq(key, "/") {
		name, err := EncodeSegment(seg)
		if err != nil {
			return "", nil, err
		}
		short, isLong := LongName(name)
		if isLong {
			long = append(long, i)
		}
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(short)
		i++
	}
	return b.String(), long, nil
}

// PathToKey maps a relative local path ("/"-separated names, as KeyToPath
// returns them or a walk of the local tree finds them) to its object key.
// Every segment must be a file name of at most MaxNameLen bytes; the path
// must not start or end with "/" nor be just "%%", the empty segment's name
// (else the error wraps ErrInvalidName).
// lookup, when non-nil, is asked for the recorded key segment of each name
// shaped like a LongName or a ShadowName; nil decodes every name as written.
// The key is valid UTF-8; PathToKey(KeyToPath(k)) == k when lookup knows the
// shortened segments, and KeyToPath(PathToKey(p)) == p for every path whose
// names are not LongName-shaped.
//
// A path whose last name is "%%" maps to a key ending in "/", which buckets
// show as a directory marker: callers uploading a regular file check
// IsDirMarker and refuse it.
func PathToKey(p string, lookup LongNameLookup) (string, error) {
	if p == "" {
		return "", fmt.Errorf("layout: empty path: %w", ErrInvalidName)
	}
	var b strings.Builder
	start := 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		name := p[start:i]
		if err := checkName(name); err != nil {
			return "", fmt.Errorf("layout: path %q: %w", p, err)
		}
		if len(name) > MaxNameLen {
			return "", fmt.Errorf("layout: path %q: a name of %d bytes, over %d: %w", p, len(name), MaxNameLen, ErrInvalidName)
		}
		dir := ""
		if start > 0 {
			dir = p[:start-1]
		}
		seg, err := resolveName(dir, name, lookup)
		if err != nil {
			return "", err
		}
		if start > 0 {
			b.WriteByte('/')
		}
		b.WriteString(seg)
		start = i + 1
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("layout: path %q maps to the empty key: %w", p, ErrInvalidName)
	}
	return b.String(), nil
}

// IsDirMarker reports whether key is a directory marker: a key ending in "/"
// (written by consoles and tools to make an empty "folder"). The mount and
// sync treat a marker as the directory itself, never as a file.
func IsDirMarker(key string) bool {
	return strings.HasSuffix(key, "/")
}

// Sibling is one entry of a local directory as sync's walker sees it: its
// key segment (from DecodeName or PathToKey) and whether it is a directory.
type Sibling struct {
	Name  string // the name on disk
	Key   string // the key segment it maps to
	IsDir bool
}

// SortSiblings orders the entries of one local directory so that walking
// them depth-first (descending into each directory where it sorts) yields
// keys in the byte-wise order of a flat bucket listing, which sync's
// merge-join needs. Names and keys sort differently ("%2E" vs "."), so the
// order is by key segment, a directory counting as its segment plus "/"
// ("a-b" < "a/..." < "a0"). Ties cannot happen between valid siblings.
func SortSiblings(s []Sibling) {
	slices.SortFunc(s, func(a, b Sibling) int {
		return compareSibling(a.Key, a.IsDir, b.Key, b.IsDir)
	})
}

// compareSibling compares a and b as if directories had "/" appended.
// Segments hold no "/", so the appended byte decides only against a longer
// sibling it prefixes.
func compareSibling(a string, aDir bool, b string, bDir bool) int {
	if aDir {
		a += "/"
	}
	if bDir {
		b += "/"
	}
	return strings.Compare(a, b)
}
