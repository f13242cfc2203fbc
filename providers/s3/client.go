package s3

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/credfile"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// Options tune how a Store reaches its endpoint; providers/minio takes the
// same. The zero value is the default (see DefaultOptions).
type Options = s3compat.Options

// DefaultOptions returns the default Options.
func DefaultOptions() Options { return Options{} }

// endpoint is the resolved target of an address; URL is "" for the AWS
// default resolution.
type endpoint = s3compat.Endpoint

func resolveEndpoint(a providers.Address, opts Options) (endpoint, error) {
	return s3compat.ResolveEndpoint(a, opts.PathStyle)
}

// buildTransport is the only HTTP transport the S3 client uses, so the
// SDK's config loader (which refuses a custom client when AWS_CA_BUNDLE is
// set) is never handed one.
func buildTransport(opts Options, ep endpoint) (*http.Transport, error) {
	tr, err := s3compat.BuildTransport(opts, ep)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	return tr, nil
}

// newClient builds the SDK client: no SDK retries, checksums only when
// required or given, credentials from the address's credentials file
// (followed as it changes: see fileProvider), else static from the address,
// else the AWS default chain (env, profile, IMDS; IMDS is skipped when
// AWS_EC2_METADATA_DISABLED is true).
func newClient(ctx context.Context, a providers.Address, opts Options) (*s3.Client, endpoint, *http.Transport, *s3compat.FileCreds, error) {
	ep, err := resolveEndpoint(a, opts)
	if err != nil {
		return nil, ep, nil, nil, err
	}
	tr, err := buildTransport(opts, ep)
	if err != nil {
		return nil, ep, nil, nil, err
	}
	fc, err := s3compat.NewFileCreds(a)
	if err != nil {
		return nil, ep, nil, nil, err
	}
	cfg := aws.Config{
		HTTPClient:                 &http.Client{Transport: tr},
		Retryer:                    func() aws.Retryer { return aws.NopRetryer{} },
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if ep.Region == "" {
		ep.Region = s3compat.DefaultRegion
	}
	switch {
	case fc != nil:
		cache := aws.NewCredentialsCache(fileProvider{fc})
		fc.OnNewer(cache.Invalidate)
		cfg.Credentials = cache
	case a.User != "" || a.Secret != "":
		cfg.Credentials = credentials.NewStaticCredentialsProvider(a.User, a.Secret, "")
	default:
		// The default chain. The loader builds its own client for the
		// credential endpoints (STS, SSO, IMDS), applying AWS_CA_BUNDLE
		// itself; the S3 calls use tr.
		lc, err := config.LoadDefaultConfig(ctx, config.WithRegion(ep.Region), config.WithLogger(logging.Nop{}))
		if err != nil {
			return nil, ep, nil, nil, fmt.Errorf("%w: loading the AWS default configuration: %w", providers.ErrPermission, providers.RedactError(err))
		}
		cfg.Credentials = lc.Credentials
	}
	cfg.Region = ep.Region
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if ep.URL != "" {
			o.BaseEndpoint = aws.String(ep.URL)
		}
		o.UsePathStyle = ep.PathStyle
		o.EndpointOptions.DisableHTTPS = !ep.TLS
	})
	return client, ep, tr, fc, nil
}

// fileProvider hands the SDK the credentials of a credentials file. The
// SDK's aws.CredentialsCache keeps them until they "expire", which they do
// after the file-check interval, so the file is looked at again (stat only,
// unless it changed) every few seconds; after a request fails on
// credentials, Store.call re-reads the file and invalidates the cache.
type fileProvider struct{ fc *s3compat.FileCreds }

func (p fileProvider) Retrieve(context.Context) (aws.Credentials, error) {
	c := p.fc.Current()
	return aws.Credentials{AccessKeyID: c.User, SecretAccessKey: c.Secret, Source: "byob credentials file",
		CanExpire: true, Expires: time.Now().Add(credfile.DefaultInterval)}, nil
}
