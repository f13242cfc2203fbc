package mem

import (
	"context"
	"slices"
	"strings"

	"github.com/byobfs/byob/providers"
)

// pageSize is how many entries List gathers under the lock before calling
// fn for them without it, so fn may call back into the store.
const pageSize = 256

// List calls fn once per entry in byte-wise key order, in the caller's
// goroutine, following the contract in providers/doc.go: with a Delimiter,
// keys sharing a prefix up to the next delimiter after Prefix come back once
// as a common prefix; StartAfter excludes every key and common prefix that
// sorts at or before it. Each page is a consistent snapshot; writes between
// pages are seen by later pages only. fn's error is returned unchanged.
func (s *Store) List(ctx context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	// cursor: the next entry is the first key >= cursor.
	cursor := opts.Prefix
	if opts.StartAfter != "" && opts.StartAfter >= cursor {
		cursor = opts.StartAfter + "\x00"
	}
	done := false
	for !done {
		if err := ctxErr(ctx, "list", opts.Prefix); err != nil {
			return err
		}
		var page []providers.Entry
		page, cursor, done = s.page(opts, cursor)
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// page gathers up to pageSize entries starting at the first key >= cursor.
// It returns them, the cursor to continue from, and whether the listing is
// complete.
func (s *Store) page(opts providers.ListOptions, cursor string) ([]providers.Entry, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []providers.Entry
	i, _ := slices.BinarySearch(s.keys, cursor)
	for i < len(s.keys) {
		k := s.keys[i]
		if !strings.HasPrefix(k, opts.Prefix) {
			return out, "", true
		}
		if len(out) == pageSize {
			return out, k, false
		}
		if opts.Delimiter != "" {
			if j := strings.Index(k[len(opts.Prefix):], opts.Delimiter); j >= 0 {
				p := k[:len(opts.Prefix)+j+len(opts.Delimiter)]
				// A prefix at or before StartAfter is excluded (contract);
				// either way every key under it is skipped.
				if p > opts.StartAfter {
					out = append(out, providers.Entry{ObjectInfo: providers.ObjectInfo{Key: p}, IsPrefix: true})
				}
				end, ok := prefixEnd(p)
				if !ok {
					return out, "", true
				}
				i, _ = slices.BinarySearch(s.keys, end)
				continue
			}
		}
		info := s.objects[k].info
		info.Metadata = nil
		info.Checksums = nil
		out = append(out, providers.Entry{ObjectInfo: info})
		i++
	}
	return out, "", true
}

// prefixEnd returns the smallest string greater than every string that
// starts with p, and false when there is none (p is all 0xff bytes).
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for len(b) > 0 && b[len(b)-1] == 0xff {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return "", false
	}
	b[len(b)-1]++
	return string(b), true
}
