package s3

import (
	"context"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// List implements providers.Store with ListObjectsV2; s3compat.List merges
// each page into byte order and applies StartAfter. Prefix, Delimiter and
// StartAfter go to the server. Keys are requested URL-encoded, so any byte
// survives the XML.
func (s *Store) List(ctx context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	return s3compat.List(ctx, opts, func(ctx context.Context, startAfter, token string) (s3compat.Page, error) {
		return s3compat.Call(s.creds, nil, mapper("list", opts.Prefix), func() (s3compat.Page, error) {
			return s.listPage(ctx, opts, startAfter, token)
		})
	}, fn)
}

func (s *Store) listPage(ctx context.Context, opts providers.ListOptions, startAfter, token string) (s3compat.Page, error) {
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
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	if token != "" {
		in.ContinuationToken = aws.String(token)
	}
	out, err := s.client.ListObjectsV2(ctx, in)
	if err != nil {
		return s3compat.Page{}, err
	}
	p := s3compat.Page{
		Objects:  make([]providers.Entry, 0, len(out.Contents)),
		Prefixes: make([]providers.Entry, 0, len(out.CommonPrefixes)),
	}
	for _, o := range out.Contents {
		k, err := decodeKey(aws.ToString(o.Key), out.EncodingType)
		if err != nil {
			return s3compat.Page{}, err
		}
		p.Objects = append(p.Objects, providers.Entry{ObjectInfo: providers.ObjectInfo{
			Key:     k,
			Size:    aws.ToInt64(o.Size),
			Version: versionOf(o.ETag),
			ETag:    aws.ToString(o.ETag),
			ModTime: aws.ToTime(o.LastModified),
		}})
	}
	for _, cp := range out.CommonPrefixes {
		k, err := decodeKey(aws.ToString(cp.Prefix), out.EncodingType)
		if err != nil {
			return s3compat.Page{}, err
		}
		p.Prefixes = append(p.Prefixes, providers.Entry{ObjectInfo: providers.ObjectInfo{Key: k}, IsPrefix: true})
	}
	if aws.ToBool(out.IsTruncated) {
		p.Next = aws.ToString(out.NextContinuationToken)
	}
	return p, nil
}

func decodeKey(k string, enc types.EncodingType) (string, error) {
	if enc != types.EncodingTypeUrl {
		return k, nil
	}
	return url.QueryUnescape(k)
}
