package azure

import (
	"context"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/byobfs/byob/providers"
)

// List implements providers.Store: List Blobs (flat, or hierarchical with
// the delimiter), paged by the service's marker, reordered into byte order
// by reorder (see doc.go), StartAfter applied client-side.
func (s *Store) List(ctx context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	if opts.Delimiter != "" && opts.Delimiter != "/" {
		return providers.NewOpError("list", opts.Prefix, providers.ErrInvalidArgument, errDelimiter)
	}
	if err := ctx.Err(); err != nil {
		return providers.NewOpError("list", opts.Prefix, nil, err)
	}
	var prefix *string
	if opts.Prefix != "" {
		prefix = &opts.Prefix
	}
	ro := &reorder{emit: func(e providers.Entry) error {
		if opts.StartAfter != "" && e.Key <= opts.StartAfter {
			return nil
		}
		return fn(e)
	}}
	if opts.Delimiter == "" {
		pager := s.cont.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: prefix})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return mapErr("list", opts.Prefix, err)
			}
			var got []providers.Entry
			for _, it := range page.Segment.BlobItems {
				got = append(got, itemEntry(it))
			}
			if err := ro.page(got); err != nil {
				return err
			}
		}
		return ro.flush()
	}
	pager := s.cont.NewListBlobsHierarchyPager(opts.Delimiter, &container.ListBlobsHierarchyOptions{Prefix: prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return mapErr("list", opts.Prefix, err)
		}
		var got []providers.Entry
		for _, p := range page.Segment.BlobPrefixes {
			got = append(got, providers.Entry{ObjectInfo: providers.ObjectInfo{Key: deref(p.Name)}, IsPrefix: true})
		}
		for _, it := range page.Segment.BlobItems {
			got = append(got, itemEntry(it))
		}
		if err := ro.page(got); err != nil {
			return err
		}
	}
	return ro.flush()
}

func itemEntry(it *container.BlobItem) providers.Entry {
	e := providers.Entry{ObjectInfo: providers.ObjectInfo{Key: deref(it.Name)}}
	if p := it.Properties; p != nil {
		e.Size = deref(p.ContentLength)
		e.Version = etagOf(p.ETag)
		e.ETag = e.Version
		e.ModTime = deref(p.LastModified)
		e.ContentType = deref(p.ContentType)
		e.Checksums = md5Sums(p.ContentMD5)
	}
	return e
}

// reorder turns a stream of names in UTF-16 code-unit order (Azurite; the
// rule is also correct, merely conservative, for a stream in byte order)
// into strictly increasing byte order with a small buffer.
//
// The two orders differ only where two names first differ at a character
// above U+FFFF (UTF-16 surrogates D800-DFFF) in one and U+E000-U+FFFF in
// the other. A buffered name e can be emitted once no name still to come
// (all sort after the last received name L in UTF-16) can sort before e in
// bytes. Such a name x would share with e a prefix P that ends where e has
// a supplementary character, and have U+E000-U+FFFF there; x >= L in UTF-16
// is possible exactly when L itself starts with P. So e is safe unless L
// starts with e's text up to one of e's supplementary characters. Buffered
// names are emitted smallest first while the smallest is safe.
type reorder struct {
	buf  []providers.Entry // sorted by Key, bytes
	emit func(providers.Entry) error
	last string // the emitted maximum, to drop repeats
	any  bool
}

func (r *reorder) page(es []providers.Entry) error {
	if len(es) == 0 {
		return nil
	}
	hi := es[0].Key
	for _, e := range es[1:] {
		if utf16Less(hi, e.Key) {
			hi = e.Key
		}
	}
	r.buf = append(r.buf, es...)
	slices.SortFunc(r.buf, func(a, b providers.Entry) int { return strings.Compare(a.Key, b.Key) })
	n := 0
	for n < len(r.buf) && safe(r.buf[n].Key, hi) {
		n++
	}
	return r.out(n)
}

func (r *reorder) flush() error { return r.out(len(r.buf)) }

func (r *reorder) out(n int) error {
	for i := 0; i < n; i++ {
		e := r.buf[i]
		if r.any && e.Key <= r.last {
			continue
		}
		r.any, r.last = true, e.Key
		if err := r.emit(e); err != nil {
			r.buf = nil
			return err
		}
	}
	r.buf = append(r.buf[:0], r.buf[n:]...)
	return nil
}

// safe reports whether no name sorting at or after last in UTF-16 order
// can sort before e in byte order.
func safe(e, last string) bool {
	for i := 0; i < len(e); i++ {
		if e[i] >= 0xF0 && strings.HasPrefix(last, e[:i]) {
			return false
		}
	}
	return true
}

func utf16Less(a, b string) bool {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b))) < 0
}
