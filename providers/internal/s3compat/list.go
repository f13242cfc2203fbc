package s3compat

import (
	"context"

	"github.com/byobfs/byob/providers"
)

// Page is one ListObjectsV2 response, mapped: S3 returns objects and
// common prefixes in two arrays, each sorted.
type Page struct {
	Objects  []providers.Entry
	Prefixes []providers.Entry // IsPrefix set
	// Next is the continuation token, "" on the last page.
	Next string
}

// PageFunc requests one ListObjectsV2 page: startAfter on the first page
// only, token on the others. Its error is mapped.
type PageFunc func(ctx context.Context, startAfter, token string) (Page, error)

// List implements providers.Store.List over ListObjectsV2 pages: each
// page's objects and prefixes are merged into byte order, and anything at
// or before the last emitted key (or opts.StartAfter) is dropped, so fn
// sees strictly increasing keys. An error of fn is returned as it is.
func List(ctx context.Context, opts providers.ListOptions, page PageFunc, fn func(providers.Entry) error) error {
	last, startAfter, token := opts.StartAfter, opts.StartAfter, ""
	for {
		p, err := page(ctx, startAfter, token)
		if err != nil {
			return err
		}
		if last, err = MergeEmit(p.Objects, p.Prefixes, last, fn); err != nil {
			return err
		}
		if p.Next == "" {
			return nil
		}
		startAfter, token = "", p.Next
	}
}

// MergeEmit calls fn for the entries of two sorted slices in byte order,
// skipping any at or before last, and returns the new last key.
func MergeEmit(objs, prefixes []providers.Entry, last string, fn func(providers.Entry) error) (string, error) {
	i, j := 0, 0
	for i < len(objs) || j < len(prefixes) {
		var e providers.Entry
		if j >= len(prefixes) || (i < len(objs) && objs[i].Key < prefixes[j].Key) {
			e = objs[i]
			i++
		} else {
			e = prefixes[j]
			j++
		}
		if last != "" && e.Key <= last {
			continue
		}
		if err := fn(e); err != nil {
			return last, err
		}
		last = e.Key
	}
	return last, nil
}
