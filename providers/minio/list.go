package minio

import (
	"context"

	"github.com/minio/minio-go/v7"

	"github.com/byobfs/byob/providers"
)

// List implements providers.Store with ListObjectsV2 pages (minio.Core, so
// page boundaries are known). Each page's objects and common prefixes come
// in two arrays and are merged into byte order; anything at or before the
// last emitted key (or StartAfter) is dropped, so fn sees strictly
// increasing keys. minio-go requests keys URL-encoded and decodes them.
func (s *Store) List(ctx context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	last := opts.StartAfter
	token := ""
	startAfter := opts.StartAfter
	for {
		res, err := s.listPage(ctx, opts.Prefix, startAfter, token, opts.Delimiter, 0)
		if err != nil {
			return mapErr("list", opts.Prefix, err)
		}
		objs := make([]providers.Entry, 0, len(res.Contents))
		for _, o := range res.Contents {
			objs = append(objs, providers.Entry{ObjectInfo: providers.ObjectInfo{
				Key:     o.Key,
				Size:    o.Size,
				Version: trimETag(o.ETag),
				ETag:    `"` + trimETag(o.ETag) + `"`,
				ModTime: o.LastModified,
			}})
		}
		prefixes := make([]providers.Entry, 0, len(res.CommonPrefixes))
		for _, p := range res.CommonPrefixes {
			prefixes = append(prefixes, providers.Entry{ObjectInfo: providers.ObjectInfo{Key: p.Prefix}, IsPrefix: true})
		}
		if last, err = mergeEmit(objs, prefixes, last, fn); err != nil {
			return err
		}
		if !res.IsTruncated || res.NextContinuationToken == "" {
			return nil
		}
		token, startAfter = res.NextContinuationToken, ""
	}
}

// listPage is one ListObjectsV2 request. minio.Core's call takes no ctx, so
// it runs in a goroutine and List returns as soon as ctx ends; the abandoned
// request finishes (or times out) on its own and its result is dropped.
func (s *Store) listPage(ctx context.Context, prefix, startAfter, token, delimiter string, maxKeys int) (minio.ListBucketV2Result, error) {
	if err := ctx.Err(); err != nil {
		return minio.ListBucketV2Result{}, err
	}
	type result struct {
		res minio.ListBucketV2Result
		err error
	}
	ch := make(chan result, 1)
	go func() {
		r, err := s.core.ListObjectsV2(s.bucket, prefix, startAfter, token, delimiter, maxKeys)
		ch <- result{r, err}
	}()
	select {
	case <-ctx.Done():
		return minio.ListBucketV2Result{}, context.Cause(ctx)
	case r := <-ch:
		return r.res, r.err
	}
}

// mergeEmit calls fn for the entries of two sorted slices in byte order,
// skipping any at or before last, and returns the new last key.
func mergeEmit(objs, prefixes []providers.Entry, last string, fn func(providers.Entry) error) (string, error) {
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

func trimETag(e string) string {
	for len(e) > 0 && e[0] == '"' {
		e = e[1:]
	}
	for len(e) > 0 && e[len(e)-1] == '"' {
		e = e[:len(e)-1]
	}
	return e
}
