package layout

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSegmentRoundTrip checks, for any string, both directions of the
// mapping: as a key segment, DecodeName(EncodeSegment(s)) == s and the name
// is a file name; as a file name, EncodeSegment(DecodeName(s)) == s and the
// segment is UTF-8 without "/". The seed corpus is in
// testdata/fuzz/FuzzSegmentRoundTrip.
func FuzzSegmentRoundTrip(f *testing.F) {
	for _, s := range []string{"", ".", "..", "%", "%%", "%%.", "%2F", "%%2F", "a\x00b", "caf\xe9", "%%caf%E9",
		"\u2215", "\uFF0E\uFF0E", "%%%FF", "%C3%A9", "%%C3%A9", "a%obj", "x%~0123456789abcdef0123456789abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, '/') < 0 && utf8.ValidString(s) {
			name, err := EncodeSegment(s)
			if err != nil {
				t.Fatalf("EncodeSegment(%q): %v", s, err)
			}
			if checkName(name) != nil {
				t.Fatalf("EncodeSegment(%q) = %q is not a file name", s, name)
			}
			back, err := DecodeName(name)
			if err != nil || back != s {
				t.Fatalf("DecodeName(EncodeSegment(%q) = %q) = %q, %v", s, name, back, err)
			}
		}
		if checkName(s) == nil {
			seg, err := DecodeName(s)
			if err != nil {
				t.Fatalf("DecodeName(%q): %v", s, err)
			}
			if !utf8.ValidString(seg) || strings.IndexByte(seg, '/') >= 0 {
				t.Fatalf("DecodeName(%q) = %q: not UTF-8, or holds a slash", s, seg)
			}
			back, err := EncodeSegment(seg)
			if err != nil || back != s {
				t.Fatalf("EncodeSegment(DecodeName(%q) = %q) = %q, %v", s, seg, back, err)
			}
		}
	})
}

// FuzzKeyPathRoundTrip checks whole keys and paths: KeyToPath gives a local
// path that PathToKey maps back (with a lookup that knows the shortened
// names), and any path of file names maps to a key that KeyToPath maps back
// to the same path.
func FuzzKeyPathRoundTrip(f *testing.F) {
	for _, s := range []string{"a//b", "/lead", "dir/", "a/./b/../c", "..", "../../etc/passwd", "a/%2F/b", "x/\xff/y", strings.Repeat("é", 150) + "/f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s != "" && utf8.ValidString(s) {
			p, long, err := KeyToPathLong(s)
			if err != nil {
				t.Fatalf("KeyToPath(%q): %v", s, err)
			}
			if !filepath.IsLocal(p) || filepath.Clean(p) != p {
				t.Fatalf("KeyToPath(%q) = %q leaves the root or is not clean", s, p)
			}
			names := strings.Split(p, "/")
			segs := strings.Split(s, "/")
			rec := map[string]string{}
			for _, i := range long {
				rec[strings.Join(names[:i], "/")+"/"+names[i]] = segs[i]
			}
			lookup := func(dir, short string) (string, bool) {
				v, ok := rec[dir+"/"+short]
				return v, ok
			}
			back, err := PathToKey(p, lookup)
			if err != nil || back != s {
				t.Fatalf("PathToKey(KeyToPath(%q) = %q) = %q, %v", s, p, back, err)
			}
		}
		k, err := PathToKey(s, nil)
		if err != nil {
			return
		}
		if !utf8.ValidString(k) {
			t.Fatalf("PathToKey(%q) = %q is not UTF-8", s, k)
		}
		if strings.Count(k, "/") != strings.Count(s, "/") {
			t.Fatalf("PathToKey(%q) = %q changed the number of segments", s, k)
		}
		for _, name := range strings.Split(s, "/") {
			if IsLongName(name) {
				return // decoded as written; the way back shortens differently
			}
		}
		p, err := KeyToPath(k)
		if err != nil || p != s {
			t.Fatalf("KeyToPath(PathToKey(%q) = %q) = %q, %v", s, k, p, err)
		}
	})
}
