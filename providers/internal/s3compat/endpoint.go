package s3compat

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/byobfs/byob/providers"
)

const (
	// CABundleEnv names a PEM file of extra CAs, as the AWS SDKs read it.
	CABundleEnv = "AWS_CA_BUNDLE"
	// RegionEnv is the region used when the address names none.
	RegionEnv = "AWS_REGION"
	// DefaultRegion is the region when neither the address, RegionEnv nor
	// an AWS host name gives one.
	DefaultRegion = "us-east-1"

	coreWeaveDomain  = "cwobject.com"
	awsDomainSuffix  = ".amazonaws.com"
	awsCNDomainSuffx = ".amazonaws.com.cn"
)

// Endpoint is the resolved target of an address.
type Endpoint struct {
	URL       string // scheme://host[:port][/path] without a trailing "/"; "" for AWS default resolution
	HostPort  string // host[:port] of URL, "" for AWS default resolution
	Host      string // HostPort without port or brackets
	Path      string // the path of an explicit endpoint URL, if any
	TLS       bool
	PathStyle bool
	AWS       bool   // AWS itself (default resolution or *.amazonaws.com)
	CoreWeave bool   // cwobject.com: TLS 1.3 minimum
	Region    string // "" when the address, RegionEnv and the host name give none
}

var awsRegionRE = regexp.MustCompile(`(?:^|\.)s3[.-](?:dualstack\.|fips\.|fips-)?([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-[0-9]+)\.amazonaws\.com(?:\.cn)?$`)

// ResolveEndpoint applies the address rules: a.Endpoint if set, else a.Host
// (https unless tls=false), else AWS default resolution. pathStyle, when
// non-nil, overrides the choice of path style (s3:// off AWS).
func ResolveEndpoint(a providers.Address, pathStyle *bool) (Endpoint, error) {
	var ep Endpoint
	switch {
	case a.Endpoint != "":
		u, err := url.Parse(a.Endpoint)
		if err != nil || u.Host == "" {
			return ep, fmt.Errorf("%w: endpoint must be an http:// or https:// URL", providers.ErrInvalidAddress)
		}
		ep.URL = strings.TrimRight(a.Endpoint, "/")
		ep.HostPort = u.Host
		ep.Host = u.Hostname()
		ep.Path = u.Path
		ep.TLS = u.Scheme == "https"
	case a.Host != "":
		scheme := "https"
		if !a.TLS {
			scheme = "http"
		}
		ep.URL = scheme + "://" + a.Host
		ep.HostPort = a.Host
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
	if pathStyle != nil {
		ep.PathStyle = *pathStyle
	}
	ep.Region = a.Region
	if ep.Region == "" {
		ep.Region = os.Getenv(RegionEnv)
	}
	if ep.Region == "" {
		if m := awsRegionRE.FindStringSubmatch(host); m != nil {
			ep.Region = m[1]
		}
	}
	return ep, nil
}

// BuildTransport clones opts.Transport (or http.DefaultTransport, with 64
// idle connections per host) and sets its TLS root pool: the base's RootCAs
// (or the system pool), the PEMs of the file AWS_CA_BUNDLE names and
// opts.CACertsPEM. TLS 1.2 is the minimum, 1.3 on CoreWeave. A backend's
// S3 requests use only this transport.
func BuildTransport(opts Options, ep Endpoint) (*http.Transport, error) {
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
	if path := os.Getenv(CABundleEnv); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", CABundleEnv, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s (%s) holds no PEM certificate", CABundleEnv, path)
		}
	}
	if len(opts.CACertsPEM) > 0 && !pool.AppendCertsFromPEM(opts.CACertsPEM) {
		return nil, fmt.Errorf("Options.CACertsPEM holds no PEM certificate")
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

// SDK picks the SDK of an s3:// or cw:// address: aws-sdk-go-v2 ("aws")
// for cw:// and for s3:// on an AWS endpoint (or none), minio-go ("minio")
// for any other s3:// endpoint; ?sdk= overrides.
func SDK(a providers.Address) string {
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
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	if host == "" || host == "amazonaws.com" || strings.HasSuffix(host, awsDomainSuffix) || strings.HasSuffix(host, awsCNDomainSuffx) {
		return "aws"
	}
	return "minio"
}

// FromEnv takes an s3:// or cw:// address's keys from AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY (credentials = "env").
func FromEnv(a *providers.Address) error {
	a.User, a.Secret = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if a.User == "" || a.Secret == "" {
		return errors.New(`credentials = "env" needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`)
	}
	return nil
}
