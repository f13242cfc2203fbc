package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/byobfs/byob/providers"
)

// Options tune how a Store reaches its endpoint. The zero value is the
// default (see DefaultOptions).
type Options struct {
	// Transport is the base HTTP transport (dialer, proxy, timeouts, TLS
	// settings). It is cloned, never modified; nil clones
	// http.DefaultTransport. The clone's TLS root pool is the base's RootCAs
	// (or the system pool) plus the PEMs of AWS_CA_BUNDLE plus CACertsPEM.
	Transport *http.Transport
	// CACertsPEM are extra PEM CA certificates to trust (a self-signed MinIO).
	CACertsPEM []byte
	// PathStyle forces path-style (true) or virtual-hosted style (false)
	// requests. nil chooses: path style for s3:// with a non-AWS endpoint,
	// virtual-hosted style for cw:// and AWS itself.
	PathStyle *bool
	// OddKeys overrides Capabilities.OddKeys. nil: true on AWS endpoints
	// only, since MinIO and other servers refuse "a//b", "."/".." segments
	// and objects ending in "/".
	OddKeys *bool
	// ObjectPrefixCoexist overrides Capabilities.ObjectPrefixCoexist. nil:
	// true on AWS endpoints only: MinIO stores "a" and "a/b" but its
	// listings then omit everything under "a/".
	ObjectPrefixCoexist *bool
	// CheckPrefixConflicts, where ObjectPrefixCoexist is false, refuses a
	// write of "a" beside "a/..." (or the reverse) with ErrInvalidKey, at the
	// cost of one HEAD per "/" in the key and one LIST per write, and without
	// atomicity against a concurrent writer. Off by default: the layers above
	// avoid creating both (Capabilities.ConflictsRefused is false).
	CheckPrefixConflicts bool
	// MultipartCopyThreshold: Copy of a larger source uses UploadPartCopy.
	// 0 means 5 GiB, the largest single CopyObject S3 allows.
	MultipartCopyThreshold int64
	// CopyPartSize is the part size of a multipart copy; 0 means 512 MiB.
	// It is raised to MinPartSize and to what 10,000 parts need.
	CopyPartSize int64
}

// DefaultOptions returns the default Options.
func DefaultOptions() Options { return Options{} }

const (
	minPartSize      = 5 << 20
	maxPartSize      = 5 << 30
	maxParts         = 10000
	maxObjectSize    = 5 << 40
	maxPutSize       = 5 << 30
	maxKeyLength     = 1024
	defaultCopyPart  = 512 << 20
	caBundleEnv      = "AWS_CA_BUNDLE"
	regionEnv        = "AWS_REGION"
	defaultRegion    = "us-east-1"
	coreWeaveDomain  = "cwobject.com"
	awsDomainSuffix  = ".amazonaws.com"
	awsCNDomainSuffx = ".amazonaws.com.cn"
)

// endpoint is the resolved target of an address.
type endpoint struct {
	URL       string // "" for the AWS default resolution
	Host      string // host without port, "" for AWS default
	TLS       bool
	PathStyle bool
	AWS       bool // AWS itself (default resolution or *.amazonaws.com)
	CoreWeave bool // cwobject.com: TLS 1.3 minimum
	Region    string
}

var awsRegionRE = regexp.MustCompile(`(?:^|\.)s3[.-](?:dualstack\.|fips\.|fips-)?([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-[0-9]+)\.amazonaws\.com(?:\.cn)?$`)

// resolveEndpoint applies the address rules: a.Endpoint if set, else a.Host
// (https unless tls=false), else AWS default resolution.
func resolveEndpoint(a providers.Address, opts Options) (endpoint, error) {
	var ep endpoint
	switch {
	case a.Endpoint != "":
		u, err := url.Parse(a.Endpoint)
		if err != nil || u.Host == "" {
			return ep, fmt.Errorf("%w: endpoint must be an http:// or https:// URL", providers.ErrInvalidAddress)
		}
		ep.URL = strings.TrimRight(a.Endpoint, "/")
		ep.Host = u.Hostname()
		ep.TLS = u.Scheme == "https"
	case a.Host != "":
		scheme := "https"
		if !a.TLS {
			scheme = "http"
		}
		ep.URL = scheme + "://" + a.Host
		ep.Host = a.Host
		if h, _, err := net.SplitHostPort(a.Host); err == nil {
			ep.Host = h
		}
		ep.Host = strings.Trim(ep.Host, "[]")
		ep.TLS = a.TLS
	default:
		ep.TLS = a.TLS
		ep.AWS = true
	}
	host := strings.ToLower(ep.Host)
	if host != "" {
		ep.AWS = strings.HasSuffix(host, awsDomainSuffix) || strings.HasSuffix(host, awsCNDomainSuffx)
		ep.CoreWeave = host == coreWeaveDomain || strings.HasSuffix(host, "."+coreWeaveDomain)
	}
	ep.PathStyle = a.Scheme == "s3" && !ep.AWS
	if opts.PathStyle != nil {
		ep.PathStyle = *opts.PathStyle
	}
	ep.Region = a.Region
	if ep.Region == "" {
		ep.Region = os.Getenv(regionEnv)
	}
	if ep.Region == "" {
		if m := awsRegionRE.FindStringSubmatch(host); m != nil {
			ep.Region = m[1]
		}
	}
	return ep, nil
}

// buildTransport clones the base transport and sets its TLS root pool: the
// base's RootCAs (or the system pool), AWS_CA_BUNDLE's PEMs and the extra
// CAs. It is the only HTTP transport the S3 client uses, so the SDK's config
// loader (which refuses a custom client when AWS_CA_BUNDLE is set) is never
// handed one.
func buildTransport(opts Options, ep endpoint) (*http.Transport, error) {
	var tr *http.Transport
	if opts.Transport != nil {
		tr = opts.Transport.Clone()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
	}
	tc := tr.TLSClientConfig
	if tc == nil {
		tc = &tls.Config{}
	}
	pool := tc.RootCAs
	if pool != nil {
		pool = pool.Clone()
	} else if sys, err := x509.SystemCertPool(); err == nil {
		pool = sys
	} else {
		pool = x509.NewCertPool()
	}
	if path := os.Getenv(caBundleEnv); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("s3: reading %s: %w", caBundleEnv, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("s3: %s (%s) holds no PEM certificate", caBundleEnv, path)
		}
	}
	if len(opts.CACertsPEM) > 0 && !pool.AppendCertsFromPEM(opts.CACertsPEM) {
		return nil, fmt.Errorf("s3: Options.CACertsPEM holds no PEM certificate")
	}
	tc.RootCAs = pool
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	if ep.CoreWeave {
		tc.MinVersion = tls.VersionTLS13
	}
	tr.TLSClientConfig = tc
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
	if a.User != "" || a.Secret != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(a.User, a.Secret, "")
	} else {
		// The default chain. The loader builds its own client for the
		// credential endpoints (STS, SSO, IMDS), applying AWS_CA_BUNDLE
		// itself; the S3 calls use tr.
		lc, err := config.LoadDefaultConfig(ctx, config.WithRegion(regionOr(ep.Region, defaultRegion)),
			config.WithLogger(logging.Nop{}))
		if err != nil {
			return nil, ep, nil, fmt.Errorf("%w: loading the AWS default configuration: %w", providers.ErrPermission, providers.RedactError(err))
		}
		cfg.Credentials = lc.Credentials
	}
	if ep.Region == "" {
		ep.Region = defaultRegion
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

func regionOr(r, def string) string {
	if r != "" {
		return r
	}
	return def
}
