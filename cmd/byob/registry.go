package main

import (
	"context"
	"net/url"
	"strings"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/azure"
	"github.com/byobfs/byob/providers/gcs"
	"github.com/byobfs/byob/providers/local"
	"github.com/byobfs/byob/providers/minio"
	"github.com/byobfs/byob/providers/s3"
)

// newRegistry builds the one scheme -> backend table of this process.
func newRegistry() *providers.Registry {
	r := providers.NewRegistry()
	r.Register("file", local.Opener)
	r.Register("gs", gcs.Opener)
	r.Register("az", azure.Opener)
	r.Register("cw", s3.Opener)
	r.Register("s3", func(ctx context.Context, a providers.Address) (providers.Store, string, error) {
		if s3SDK(a) == "aws" {
			return s3.Opener(ctx, a)
		}
		return minio.Opener(ctx, a)
	})
	return r
}

// s3SDK picks the SDK for an s3:// address: aws-sdk-go-v2 for AWS endpoints
// (or none), minio-go for any other endpoint; ?sdk= overrides.
func s3SDK(a providers.Address) string {
	if a.SDK != "" {
		return a.SDK
	}
	if a.Scheme == "cw" {
		return "aws"
	}
	host := a.Host
	if a.Endpoint != "" {
		if u, err := url.Parse(a.Endpoint); err == nil {
			host = u.Hostname()
		}
	}
	if i := strings.LastIndex(host, ":"); i >= 0 && !strings.Contains(host, "]") {
		host = host[:i]
	}
	if host == "" || host == "amazonaws.com" || strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn") {
		return "aws"
	}
	return "minio"
}

// backendName names the backend an address opens, for `stat -v`.
func backendName(a providers.Address) string {
	switch a.Scheme {
	case "s3":
		if s3SDK(a) == "aws" {
			return "s3 (aws-sdk-go-v2)"
		}
		return "s3 (minio-go)"
	case "cw":
		return "CoreWeave (aws-sdk-go-v2, virtual-hosted style)"
	case "gs":
		return "gcs (cloud.google.com/go/storage)"
	case "az":
		return "azure (azblob)"
	case "file":
		return "local directory"
	}
	return a.Scheme
}
