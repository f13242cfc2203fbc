package s3compat

import (
	"context"
	"github.com/byobfs/byob/providers/internal/listing"

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
		if last, err = listing.MergeEmit(p.Objects, p.Prefixes, last, fn); err != nil {
			return err
		}
		if p.Next == "" {
			return nil
		}
		startAfter, token = "", p.Next
	}
}
