package layout

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// TestEncodeSegmentTable pins the rule table of doc.go: key segment ->
// file name, and back.
func TestEncodeSegmentTable(t *testing.T) {
	cases := []struct{ seg, name string }{
		// ordinary segments are their own names, "%" included
		{"config.yaml", "config.yaml"},
		{"caf\u00e9", "caf\u00e9"},
		{"percent%20encoded", "percent%20encoded"},
		{"100%", "100%"},
		{"%", "%"},
		{"%2F", "%2F"},
		{"%2E%2E", "%2E%2E"},
		{"%C3%A9", "%C3%A9"},
		{"%E6%97%A5.txt", "%E6%97%A5.txt"},
		{"%%2F", "%%2F"},         // not canonical: "/" is never escaped
		{"%%2E", "%%2E"},         // not canonical: E(".") is "."
		{"%%%C3%A9", "%%%C3%A9"}, // not canonical: decodes to valid UTF-8
		{"%%C3%A9", "C3\xa9"},    // canonical: the name "C3" + byte A9
		{"%%41", "%%41"},
		{"%%zz", "%%zz"},
		{"%%%FF%", "%%%FF%"}, // malformed escape at the end
		{"%%%ff", "%%%ff"},   // lower-case hex is not canonical
		{"%%x", "%%x"},       // a token of a string that needs none
		{"%~", "%~"},
		{"\u2215", "\u2215"}, // DIVISION SLASH is an ordinary character
		{"\uFF0E\uFF0E", "\uFF0E\uFF0E"},
		{"\uFFFD", "\uFFFD"},
		// key-only segments get a token
		{"", "%%"},
		{".", "%%."},
		{"..", "%%.."},
		{"a\x00b", "%%a%00b"},
		{"\x00", "%%%00"},
		{"%\x00", "%%%25%00"},
		// a key spelled like such a token gets one more level
		{"%%", "%%%25%25"},
		{"%%.", "%%%25%25."},
		{"%%..", "%%%25%25.."},
		{"%%a%00b", "%%%25%25a%2500b"},
		// a key that stands for a name that is not UTF-8 loses a level
		{"%%caf%E9", "caf\xe9"},
		{"%%%FF", "\xff"},
		{"%%%25%25%FF", "%%\xff"},
		{"%%%25%25%2525%2525%25FF", "%%%25%25%FF"},
		{"%%%25FF", "%%%25FF"}, // base "%FF" is ordinary
	}
	for _, c := range cases {
		name, err := EncodeSegment(c.seg)
		require.NoError(t, err, "EncodeSegment(%q)", c.seg)
		require.Equal(t, c.name, name, "EncodeSegment(%q)", c.seg)
		seg, err := DecodeName(c.name)
		require.NoError(t, err, "DecodeName(%q)", c.name)
		require.Equal(t, c.seg, seg, "DecodeName(%q)", c.name)
	}
}

// TestDecodeNameTable pins the name -> key direction for names only a
// local disk has.
func TestDecodeNameTable(t *testing.T) {
	cases := []struct{ name, seg string }{
		{"caf\xe9.txt", "%%caf%E9.txt"},
		{"\xff", "%%%FF"},
		{"%\xff", "%%%25%FF"},
		{"%%\xff", "%%%25%25%FF"},
		{"a%b\xc3", "%%a%25b%C3"},
		{"\xed\xa0\x80", "%%%ED%A0%80"},  // an encoded surrogate is not UTF-8
		{"%%E9t%E9", "%%%25%25E9t%25E9"}, // the token of a name-only string: one level more
		{"%%", ""},
		{"%%.", "."},
		{"%%%00", "\x00"},
	}
	for _, c := range cases {
		seg, err := DecodeName(c.name)
		require.NoError(t, err, "DecodeName(%q)", c.name)
		require.Equal(t, c.seg, seg, "DecodeName(%q)", c.name)
		require.True(t, utf8.ValidString(seg), "key segment %q is UTF-8", seg)
		name, err := EncodeSegment(seg)
		require.NoError(t, err)
		require.Equal(t, c.name, name, "EncodeSegment(DecodeName(%q))", c.name)
	}
}

func TestInvalidInputs(t *testing.T) {
	for _, n := range []string{"", ".", "..", "a/b", "/", "a\x00"} {
		_, err := DecodeName(n)
		require.ErrorIs(t, err, ErrInvalidName, "DecodeName(%q)", n)
	}
	for _, s := range []string{"a/b", "bad\xff"} {
		_, err := EncodeSegment(s)
		require.ErrorIs(t, err, providers.ErrInvalidKey, "EncodeSegment(%q)", s)
	}
	for _, k := range []string{"", "a/\xff"} {
		_, err := KeyToPath(k)
		require.ErrorIs(t, err, providers.ErrInvalidKey, "KeyToPath(%q)", k)
	}
	for _, p := range []string{"", "/a", "a/", "a//b", "a/./b", "a/../b", "..", "a\x00", strings.Repeat("x", 256)} {
		_, err := PathToKey(p, nil)
		require.ErrorIs(t, err, ErrInvalidName, "PathToKey(%q)", p)
	}
}

func TestKeyToPath(t *testing.T) {
	cases := []struct{ key, path string }{
		{"ent/proj/run1/config.yaml", "ent/proj/run1/config.yaml"},
		{"a//b", "a/%%/b"},
		{"/lead", "%%/lead"},
		{"dir/", "dir/%%"},
		{"a/./b/../c", "a/%%./b/%%../c"},
		{"..", "%%.."},
		{"a/%2F/b", "a/%2F/b"},
	}
	for _, c := range cases {
		p, err := KeyToPath(c.key)
		require.NoError(t, err)
		require.Equal(t, c.path, p, "KeyToPath(%q)", c.key)
		require.True(t, filepath.IsLocal(p), "%q is local", p)
		k, err := PathToKey(p, nil)
		require.NoError(t, err)
		require.Equal(t, c.key, k, "PathToKey(%q)", p)
	}
	require.True(t, IsDirMarker("dir/"))
	require.False(t, IsDirMarker("dir"))
}

func TestLongNames(t *testing.T) {
	long := strings.Repeat("é", 200) + ".parquet" // 408 bytes
	short, isLong := LongName(long)
	require.True(t, isLong)
	require.LessOrEqual(t, len(short), MaxNameLen)
	require.True(t, utf8.ValidString(short), "cut at a UTF-8 boundary")
	require.True(t, strings.HasSuffix(short, ".parquet"), "extension kept: %q", short)
	require.True(t, IsLongName(short))
	again, _ := LongName(long)
	require.Equal(t, short, again, "deterministic")
	other, _ := LongName(long[:len(long)-1] + "x")
	require.NotEqual(t, short, other)
	n, isLong := LongName("short.txt")
	require.False(t, isLong)
	require.Equal(t, "short.txt", n)
	require.False(t, IsLongName("short.txt"))

	// A key with a long segment round trips through the side record.
	key := "runs/" + strings.Repeat("d", 300) + "/" + long
	p, idx, err := KeyToPathLong(key)
	require.NoError(t, err)
	require.Equal(t, []int{1, 2}, idx)
	segs := strings.Split(p, "/")
	for _, s := range segs {
		require.LessOrEqual(t, len(s), MaxNameLen)
	}
	records := map[string]string{}
	keySegs := strings.Split(key, "/")
	for _, i := range idx {
		records[strings.Join(segs[:i], "/")+"|"+segs[i]] = keySegs[i]
	}
	lookup := func(dir, short string) (string, bool) {
		s, ok := records[dir+"|"+short]
		return s, ok
	}
	k, err := PathToKey(p, lookup)
	require.NoError(t, err)
	require.Equal(t, key, k)
	// Without the record the short name is an ordinary name.
	k, err = PathToKey(p, nil)
	require.NoError(t, err)
	require.Equal(t, p, k)
	// A stale record (the file was renamed) is ignored.
	renamed := segs[0] + "/" + segs[1] + "/" + "x" + segs[2]
	stale := func(dir, short string) (string, bool) {
		if s, ok := lookup(dir, short); ok {
			return s, true
		}
		return keySegs[2], true // the record moved with the renamed file
	}
	k, err = PathToKey(renamed, stale)
	require.NoError(t, err)
	require.Equal(t, "runs/"+keySegs[1]+"/x"+segs[2], k)
}

func TestShadowNames(t *testing.T) {
	require.Equal(t, "a%obj", ShadowName("a"))
	base, ok := SplitShadowName("a%obj")
	require.True(t, ok)
	require.Equal(t, "a", base)
	_, ok = SplitShadowName("%obj")
	require.False(t, ok)
	// sync records the key segment of a shadowed file it wrote
	lookup := func(dir, short string) (string, bool) {
		if dir == "d" && short == "a%obj" {
			return "a", true
		}
		return "", false
	}
	k, err := PathToKey("d/a%obj", lookup)
	require.NoError(t, err)
	require.Equal(t, "d/a", k)
	k, err = PathToKey("d/a%obj", nil)
	require.NoError(t, err)
	require.Equal(t, "d/a%obj", k)
}

func TestSortSiblings(t *testing.T) {
	s := []Sibling{
		{Key: "a0"}, {Key: "a", IsDir: true}, {Key: "a-b"}, {Key: "", IsDir: true}, {Key: "."}, {Key: "b"}, {Key: "ab", IsDir: true},
	}
	SortSiblings(s)
	var got []string
	for _, e := range s {
		k := e.Key
		if e.IsDir {
			k += "/"
		}
		got = append(got, k)
	}
	require.Equal(t, []string{".", "/", "a-b", "a/", "a0", "ab/", "b"}, got)
}

// hostileSegment returns a random key segment or name built from pieces
// that stress the rules.
func hostileSegment(r *rand.Rand) string {
	pieces := []string{"", ".", "..", "%", "%%", "%%%", "%2F", "%2f", "%25", "%00", "%E9", "%C3%A9", "%.", "%%", "\x00", "\xff", "\xe9", "\xc3", "\xa9",
		"\u2215", "\uFF0E", "\uFF0F", "a", "Z", "é", " ", "%~", "%obj", "~", "\\", "\ufffd", "\xed\xa0\x80"}
	var b strings.Builder
	for range r.IntN(6) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// TestRoundTripProperties checks both directions on random hostile strings:
// decode(encode(k)) == k for key segments, encode(decode(n)) == n for names,
// no name decodes to a segment with "/" or invalid UTF-8, and no key maps to
// a path that leaves the root.
func TestRoundTripProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for range 60000 {
		s := hostileSegment(r)
		checkSegmentRoundTrip(t, s)
		checkNameRoundTrip(t, s)
	}
	for range 5000 {
		var segs []string
		for range 1 + r.IntN(4) {
			segs = append(segs, hostileSegment(r))
		}
		key := strings.Join(segs, "/")
		if key == "" || !utf8.ValidString(key) {
			continue
		}
		p, err := KeyToPath(key)
		require.NoError(t, err, "KeyToPath(%q)", key)
		require.True(t, filepath.IsLocal(p), "KeyToPath(%q) = %q leaves the root", key, p)
		require.Equal(t, filepath.Clean(p), p, "KeyToPath(%q) = %q is clean", key, p)
		back, err := PathToKey(p, nil)
		require.NoError(t, err)
		require.Equal(t, key, back)
	}
}

// checkSegmentRoundTrip checks the key -> name -> key direction for s when
// s is a key segment.
func checkSegmentRoundTrip(t *testing.T, s string) {
	t.Helper()
	if strings.IndexByte(s, '/') >= 0 || !utf8.ValidString(s) {
		_, err := EncodeSegment(s)
		require.Error(t, err)
		return
	}
	name, err := EncodeSegment(s)
	require.NoError(t, err, "EncodeSegment(%q)", s)
	require.NoError(t, checkName(name), "EncodeSegment(%q) = %q is a file name", s, name)
	back, err := DecodeName(name)
	require.NoError(t, err, "DecodeName(%q)", name)
	require.Equal(t, s, back, "DecodeName(EncodeSegment(%q)) via %q", s, name)
	if checkName(s) == nil && !strings.HasPrefix(s, TokenMark) {
		require.Equal(t, s, name, "ordinary segment %q maps to itself", s)
	}
}

// checkNameRoundTrip checks the name -> key -> name direction for s when s
// is a file name.
func checkNameRoundTrip(t *testing.T, s string) {
	t.Helper()
	if checkName(s) != nil {
		_, err := DecodeName(s)
		require.ErrorIs(t, err, ErrInvalidName)
		return
	}
	seg, err := DecodeName(s)
	require.NoError(t, err, "DecodeName(%q)", s)
	require.True(t, utf8.ValidString(seg), "DecodeName(%q) = %q is UTF-8", s, seg)
	require.NotContains(t, seg, "/", "DecodeName(%q) holds a slash", s)
	back, err := EncodeSegment(seg)
	require.NoError(t, err, "EncodeSegment(%q)", seg)
	require.Equal(t, s, back, "EncodeSegment(DecodeName(%q)) via %q", s, seg)
	if utf8.ValidString(s) && !strings.HasPrefix(s, TokenMark) {
		require.Equal(t, s, seg, "ordinary name %q maps to itself", s)
	}
}

// TestInjective checks on many hostile strings that no two distinct
// segments share a name and no two distinct names share a segment.
func TestInjective(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	byName := map[string]string{}
	bySeg := map[string]string{}
	for range 40000 {
		s := hostileSegment(r)
		if name, err := EncodeSegment(s); err == nil {
			if prev, ok := byName[name]; ok {
				require.Equal(t, prev, s, "segments %q and %q share the name %q", prev, s, name)
			}
			byName[name] = s
		}
		if seg, err := DecodeName(s); err == nil {
			if prev, ok := bySeg[seg]; ok {
				require.Equal(t, prev, s, "names %q and %q share the segment %q", prev, s, seg)
			}
			bySeg[seg] = s
		}
	}
}
