package minio

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/byobfs/byob/providers"
)

// Options tune how a Store reaches its endpoint. The zero value is the
// default (see DefaultOptions).
type Options struct {
	// Transport is the base HTTP transport (dialer, proxy, timeouts, TLS
	// settings). It is cloned, never modified; nil clones
	// http.DefaultTransport. The clone's TLS root pool is the base's RootCAs
	// (or the system pool) plus the PEMs of AWS_CA_BUNDLE plus CACertsPEM,
	// exactly as in providers/s3, so sdk=aws and sdk=minio trust the same CAs.
	Transport *http.Transport
	// CACertsPEM are extra PEM CA certificates to trust.
	CACertsPEM []byte
	// PathStyle forces path-style (true) or virtual-hosted style (false).
	// nil: path style for s3://, virtual-hosted (BucketLookupDNS) for cw://
	// and AWS endpoints.
	PathStyle *bool
	// OddKeys and ObjectPrefixCoexist override the Capabilities. nil: true
	// on AWS endpoints only (MinIO refuses "a//b" and "."/".." segments, and
	// lists nothing under "a/" when "a" is an object).
	OddKeys             *bool
	ObjectPrefixCoexist *bool
	// CheckPrefixConflicts, where ObjectPrefixCoexist is false, refuses a
	// write of "a" beside "a/..." (or the reverse) with ErrInvalidKey, at the
	// cost of one HEAD per "/" in the key and one LIST per write, and without
	// atomicity against a concurrent writer. Off by default: the layers above
	// avoid creating both (Capabilities.ConflictsRefused is false).
	CheckPrefixConflicts bool
	// MultipartCopyThreshold: Copy of a larger source uses UploadPartCopy.
	// 0 means 5 GiB.
	MultipartCopyThreshold int64
	// CopyPartSize is the part size of a multipart copy; 0 means 512 MiB.
	CopyPartSize int64
}

// DefaultOptions returns the default Options.
func DefaultOptions() Options { return Options{} }

const (
	minPartSize     = 5 << 20
	maxPartSize     = 5 << 30
	maxParts        = 10000
	maxObjectSize   = 5 << 40
	maxPutSize      = 5 << 30
	maxKeyLength    = 1024
	defaultCopyPart = 512 << 20
	defaultRegion   = "us-east-1"
	coreWeaveDomain = "cwobject.com"
)

type endpoint struct {
	HostPort  string // host[:port] as minio-go takes it
	Host      string // without port
	TLS       bool
	PathStyle bool
	AWS       bool
	CoreWeave bool
	Region    string
}

var awsRegionRE = regexp.MustCompile(`(?:^|\.)s3[.-](?:dualstack\.|fips\.|fips-)?([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-[0-9]+)\.amazonaws\.com(?:\.cn)?$`)

func resolveEndpoint(a providers.Address, opts Options) (endpoint, error) {
	var ep endpoint
	switch {
	case a.Endpoint != "":
		u, err := url.Parse(a.Endpoint)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return ep, fmt.Errorf("%w: minio-go needs an endpoint http(s)://HOST[:PORT] without a path", providers.ErrInvalidAddress)
		}
		ep.HostPort, ep.Host, ep.TLS = u.Host, u.Hostname(), u.Scheme == "https"
	case a.Host != "":
		ep.HostPort, ep.Host, ep.TLS = a.Host, a.Host, a.TLS
		if h, _, err := net.SplitHostPort(a.Host); err == nil {
			ep.Host = h
		}
		ep.Host = strings.Trim(ep.Host, "[]")
	default:
		ep.HostPort, ep.Host, ep.TLS = "s3.amazonaws.com", "s3.amazonaws.com", a.TLS
	}
	host := strings.ToLower(ep.Host)
	ep.AWS = strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn")
	ep.CoreWeave = host == coreWeaveDomain || strings.HasSuffix(host, "."+coreWeaveDomain)
	ep.PathStyle = a.Scheme == "s3" && !ep.AWS
	if opts.PathStyle != nil {
		ep.PathStyle = *opts.PathStyle
	}
	ep.Region = a.Region
	if ep.Region == "" {
		ep.Region = os.Getenv("AWS_REGION")
	}
	if ep.Region == "" {
		if m := awsRegionRE.FindStringSubmatch(host); m != nil {
			ep.Region = m[1]
		}
	}
	if ep.Region == "" {
		// Never leave it empty: minio-go would ask the server (GetBucketLocation).
		ep.Region = defaultRegion
	}
	return ep, nil
}

// buildTransport clones the base transport and sets its TLS root pool (see
// Options.Transport). CoreWeave's cwobject.com gets TLS 1.3 minimum.
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
	if path := os.Getenv("AWS_CA_BUNDLE"); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("minio: reading AWS_CA_BUNDLE: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("minio: AWS_CA_BUNDLE (%s) holds no PEM certificate", path)
		}
	}
	if len(opts.CACertsPEM) > 0 && !pool.AppendCertsFromPEM(opts.CACertsPEM) {
		return nil, fmt.Errorf("minio: Options.CACertsPEM holds no PEM certificate")
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

// newCore builds the client. Credentials: static from the address, else
// the AWS chain as minio-go knows it (env, shared files, IMDS; IMDS skipped
// when AWS_EC2_METADATA_DISABLED is true).
func newCore(a providers.Address, opts Options) (*minio.Core, endpoint, *http.Transport, error) {
	ep, err := resolveEndpoint(a, opts)
	if err != nil {
		return nil, ep, nil, err
	}
	tr, err := buildTransport(opts, ep)
	if err != nil {
		return nil, ep, nil, err
	}
	var creds *credentials.Credentials
	if a.User != "" || a.Secret != "" {
		creds = credentials.NewStaticV4(a.User, a.Secret, "")
	} else {
		chain := []credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
		}
		if !strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
			// minio-go's IAM provider reads neither variable itself.
			chain = append(chain, &credentials.IAM{Client: &http.Client{Transport: tr},
				Endpoint: os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT")})
		}
		creds = credentials.NewChainCredentials(chain)
	}
	lookup := minio.BucketLookupPath
	if !ep.PathStyle {
		lookup = minio.BucketLookupDNS
	}
	core, err := minio.NewCore(ep.HostPort, &minio.Options{
		Creds:        creds,
		Secure:       ep.TLS,
		Transport:    tr,
		Region:       ep.Region,
		BucketLookup: lookup,
		MaxRetries:   1,
	})
	if err != nil {
		return nil, ep, nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, err)
	}
	return core, ep, tr, nil
}
