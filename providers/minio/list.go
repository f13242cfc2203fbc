package minio

import (
	"context"

	"github.com/minio/minio-go/v7"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// List implements providers.Store with ListObjectsV2 pages (minio.Core, so
// page boundaries are known); s3compat.List merges each page into byte
// order and applies StartAfter. minio-go requests keys URL-encoded and
// decodes them.
func (s *Store) List(ctx context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	return s3compat.List(ctx, opts, func(ctx context.Context, startAfter, token string) (s3compat.Page, error) {
		res, err := s3compat.Call(s.creds, nil, mapper("list", opts.Prefix), func() (minio.ListBucketV2Result, error) {
			return s.listPage(ctx, opts.Prefix, startAfter, token, opts.Delimiter, 0)
		})
		if err != nil {
			return s3compat.Page{}, err
		}
		p := s3compat.Page{
			Objects:  make([]providers.Entry, 0, len(res.Contents)),
			Prefixes: make([]providers.Entry, 0, len(res.CommonPrefixes)),
		}
		for _, o := range res.Contents {
			e := providers.Entry{ObjectInfo: providers.ObjectInfo{Key: o.Key, Size: o.Size, ModTime: o.LastModified}}
			e.Version, e.ETag = etags(o.ETag)
			p.Objects = append(p.Objects, e)
		}
		for _, cp := range res.CommonPrefixes {
			p.Prefixes = append(p.Prefixes, providers.Entry{ObjectInfo: providers.ObjectInfo{Key: cp.Prefix}, IsPrefix: true})
		}
		if res.IsTruncated {
			p.Next = res.NextContinuationToken
		}
		return p, nil
	}, fn)
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
