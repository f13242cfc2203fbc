package s3

import (
	"context"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/byobfs/byob/providers"
)

// List implements providers.Store with ListObjectsV2. Prefix, Delimiter and
// StartAfter go to the server. S3 returns objects and common prefixes in two
// arrays; each page is merged into byte order, and anything at or before
// the last emitted key (or StartAfter) is dropped, so fn sees strictly
// increasing keys. Keys are requested URL-encoded, so any byte survives
// the XML.
func (s *Store) List(ctx context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	in := &s3.ListObjectsV2Input{
		Bucket:       aws.String(s.bucket),
		EncodingType: types.EncodingTypeUrl,
	}
	if opts.Prefix != "" {
		in.Prefix = aws.String(opts.Prefix)
	}
	if opts.Delimiter != "" {
		in.Delimiter = aws.String(opts.Delimiter)
	}
	if opts.StartAfter != "" {
		in.StartAfter = aws.String(opts.StartAfter)
	}
	last := opts.StartAfter
	for {
		out, err := s.client.ListObjectsV2(ctx, in)
		if err != nil {
			return mapErr("list", opts.Prefix, err)
		}
		objs := make([]providers.Entry, 0, len(out.Contents))
		for _, o := range out.Contents {
			k, err := decodeKey(aws.ToString(o.Key), out.EncodingType)
			if err != nil {
				return mapErr("list", opts.Prefix, err)
			}
			objs = append(objs, providers.Entry{ObjectInfo: providers.ObjectInfo{
				Key:     k,
				Size:    aws.ToInt64(o.Size),
				Version: versionOf(o.ETag),
				ETag:    aws.ToString(o.ETag),
				ModTime: aws.ToTime(o.LastModified),
			}})
		}
		prefixes := make([]providers.Entry, 0, len(out.CommonPrefixes))
		for _, p := range out.CommonPrefixes {
			k, err := decodeKey(aws.ToString(p.Prefix), out.EncodingType)
			if err != nil {
				return mapErr("list", opts.Prefix, err)
			}
			prefixes = append(prefixes, providers.Entry{ObjectInfo: providers.ObjectInfo{Key: k}, IsPrefix: true})
		}
		var emitErr error
		last, emitErr = mergeEmit(objs, prefixes, last, fn)
		if emitErr != nil {
			return emitErr
		}
		if !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextContinuationToken) == "" {
			return nil
		}
		in.ContinuationToken = out.NextContinuationToken
		in.StartAfter = nil
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

func decodeKey(k string, enc types.EncodingType) (string, error) {
	if enc != types.EncodingTypeUrl {
		return k, nil
	}
	return url.QueryUnescape(k)
}
