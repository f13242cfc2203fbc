package s3

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/byobfs/byob/providers"
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
// required or given, static credentials from the address or the AWS default
// chain (env, profile, IMDS; IMDS is skipped when AWS_EC2_METADATA_DISABLED
// is true).
func newClient(ctx context.Context, a providers.Address, opts Options) (*s3.Client, endpoint, *http.Transport, error) {
	ep, err := resolveEndpoint(a, opts)
	if err != nil {
		return nil, ep, nil, err
	}
	tr, err := buildTransport(opts, ep)
	if err != nil {
		return nil, ep, nil, err
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
	if a.User != "" || a.Secret != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(a.User, a.Secret, "")
	} else {
		// The default chain. The loader builds its own client for the
		// credential endpoints (STS, SSO, IMDS), applying AWS_CA_BUNDLE
		// itself; the S3 calls use tr.
		lc, err := config.LoadDefaultConfig(ctx, config.WithRegion(ep.Region), config.WithLogger(logging.Nop{}))
		if err != nil {
			return nil, ep, nil, fmt.Errorf("%w: loading the AWS default configuration: %w", providers.ErrPermission, providers.RedactError(err))
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
	return client, ep, tr, nil
}
