package sync

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// FilterRule is one --include or --exclude pattern. See doc.go for the
// matching rules.
type FilterRule struct {
	Include bool
	Pattern string
}

func (r FilterRule) String() string {
	if r.Include {
		return "+ " + r.Pattern
	}
	return "- " + r.Pattern
}

// Include returns an include rule.
func Include(pattern string) FilterRule { return FilterRule{Include: true, Pattern: pattern} }

// Exclude returns an exclude rule.
func Exclude(pattern string) FilterRule { return FilterRule{Pattern: pattern} }

// ParseFilterFile reads rules one per line, as --exclude-from does: blank
// lines and lines starting with "#" are ignored; "+ PATTERN" includes,
// "- PATTERN" excludes, and a bare line is an exclude pattern.
func ParseFilterFile(r io.Reader) ([]FilterRule, error) {
	var rules []FilterRule
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "+ "):
			rules = append(rules, Include(line[2:]))
		case strings.HasPrefix(line, "- "):
			rules = append(rules, Exclude(line[2:]))
		default:
			rules = append(rules, Exclude(line))
		}
		if p := rules[len(rules)-1].Pattern; p == "" || p == "/" {
			return nil, fmt.Errorf("%w: filter line %d: empty pattern", ErrInvalidOptions, n)
		}
	}
	return rules, sc.Err()
}

type compiledRule struct {
	include  bool
	pattern  string // without the leading and trailing "/"
	anchored bool   // leading "/": matches from the sync root only
	dirOnly  bool   // trailing "/": matches directories only
	oneSeg   bool   // the pattern has no "/": only last segments can match
}

// filter decides which relative keys take part in a sync.
type filter struct {
	rules      []compiledRule
	hasInclude bool
}

// newFilter compiles rules; a malformed pattern is ErrInvalidOptions.
func newFilter(rules []FilterRule) (*filter, error) {
	f := &filter{}
	for _, r := range rules {
		c := compiledRule{include: r.Include, pattern: r.Pattern}
		if strings.HasPrefix(c.pattern, "/") {
			c.anchored, c.pattern = true, c.pattern[1:]
		}
		if strings.HasSuffix(c.pattern, "/") {
			c.dirOnly, c.pattern = true, strings.TrimSuffix(c.pattern, "/")
		}
		if c.pattern == "" || !doublestar.ValidatePattern(c.pattern) {
			return nil, fmt.Errorf("%w: bad filter pattern %q", ErrInvalidOptions, r.Pattern)
		}
		c.oneSeg = !strings.Contains(c.pattern, "/")
		f.hasInclude = f.hasInclude || r.Include
		f.rules = append(f.rules, c)
	}
	return f, nil
}

// included reports whether the relative key takes part. A key ending in
// "/" is a directory marker: it is matched as the directory it names.
// Rules are tried in order and the first that matches decides; when none
// matches, the key is included unless some rule is an include.
func (f *filter) included(key string) bool {
	if f == nil || len(f.rules) == 0 {
		return true
	}
	isDir := strings.HasSuffix(key, "/")
	path := strings.TrimSuffix(key, "/")
	for i := range f.rules {
		if f.rules[i].matches(path, isDir) {
			return f.rules[i].include
		}
	}
	return !f.hasInclude
}

// matches reports whether the rule matches path (a file, or a directory
// when isDir) or one of its ancestor directories.
func (r *compiledRule) matches(path string, isDir bool) bool {
	if (isDir || !r.dirOnly) && r.matchPath(path) {
		return true
	}
	for i := len(path) - 1; i >= 0; i-- { // ancestors, deepest first
		if path[i] == '/' && r.matchPath(path[:i]) {
			return true
		}
	}
	return false
}

// matchPath matches one candidate path: from the root when anchored,
// otherwise any suffix that starts at a segment boundary.
func (r *compiledRule) matchPath(p string) bool {
	if r.anchored {
		return doublestar.MatchUnvalidated(r.pattern, p)
	}
	if r.oneSeg {
		return doublestar.MatchUnvalidated(r.pattern, p[strings.LastIndexByte(p, '/')+1:])
	}
	for {
		if doublestar.MatchUnvalidated(r.pattern, p) {
			return true
		}
		i := strings.IndexByte(p, '/')
		if i < 0 {
			return false
		}
		p = p[i+1:]
	}
}
