package gcs

import (
	"context"
	"github.com/byobfs/byob/providers/internal/listing"
	"strconv"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/byobfs/byob/providers"
)

const listPageSize = 1000

// List implements providers.Store. Objects under TempPrefix (parts of
// composed uploads) are never listed. StartAfter goes to the server as
// StartOffset (inclusive), and the key itself, and anything at or before
// the last emitted entry, is dropped here. Each JSON page holds objects and
// common prefixes in two arrays; they are merged into byte order, and a
// prefix repeated on the next page comes back once.
func (s *Store) List(ctx context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	if strings.HasPrefix(opts.Prefix, TempPrefix) {
		return nil // hidden: see TempPrefix
	}
	q := &storage.Query{Prefix: opts.Prefix, Delimiter: opts.Delimiter, StartOffset: opts.StartAfter, Projection: storage.ProjectionNoACL}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Generation", "Created", "Updated", "Etag", "CRC32C", "MD5"}); err != nil {
		return mapErr("list", opts.Prefix, err)
	}
	it := s.bucket.Retryer(storage.WithPolicy(storage.RetryNever)).Objects(ctx, q)
	pager := iterator.NewPager(it, listPageSize, "")
	last := opts.StartAfter
	for {
		var page []*storage.ObjectAttrs
		token, err := pager.NextPage(&page)
		if err != nil {
			if ctx.Err() != nil {
				return providers.NewOpError("list", opts.Prefix, nil, ctx.Err())
			}
			return mapErr("list", opts.Prefix, err)
		}
		var objs, prefixes []providers.Entry
		for _, a := range page {
			if strings.HasPrefix(a.Name, TempPrefix) || strings.HasPrefix(a.Prefix, TempPrefix) {
				continue // parts of composed uploads in progress
			}
			if a.Prefix != "" && a.Name == "" {
				prefixes = append(prefixes, providers.Entry{ObjectInfo: providers.ObjectInfo{Key: a.Prefix}, IsPrefix: true})
				continue
			}
			e := providers.Entry{ObjectInfo: providers.ObjectInfo{
				Key:     a.Name,
				Size:    a.Size,
				Version: strconv.FormatInt(a.Generation, 10),
				ModTime: a.Created,
				ETag:    a.Etag,
			}}
			if e.ModTime.IsZero() {
				e.ModTime = a.Updated
			}
			if a.CRC32C != 0 || len(a.MD5) > 0 {
				e.Checksums = checksums(a.CRC32C, a.MD5)
			}
			objs = append(objs, e)
		}
		sortEntries(objs)
		sortEntries(prefixes)
		if last, err = listing.MergeEmit(objs, prefixes, last, fn); err != nil {
			return err
		}
		if token == "" {
			return nil
		}
	}
}

// sortEntries makes sure a page's array is in byte order (GCS sends it so;
// an emulator might not).
func sortEntries(es []providers.Entry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Key < es[j-1].Key; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}
