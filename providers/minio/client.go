package minio

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// Options tune how a Store reaches its endpoint; providers/s3 takes the
// same, so sdk=aws and sdk=minio trust the same CAs. The zero value is the
// default (see DefaultOptions). PathStyle false means BucketLookupDNS.
type Options = s3compat.Options

// DefaultOptions returns the default Options.
func DefaultOptions() Options { return Options{} }

// endpoint is the resolved target of an address. HostPort is what
// minio-go takes: s3.amazonaws.com for AWS default resolution. Region is
// never empty: minio-go would ask the server (GetBucketLocation).
type endpoint = s3compat.Endpoint

const awsDefaultHost = "s3.amazonaws.com"

func resolveEndpoint(a providers.Address, opts Options) (endpoint, error) {
	ep, err := s3compat.ResolveEndpoint(a, opts.PathStyle)
	if err != nil {
		return ep, err
	}
	if ep.Path != "" && ep.Path != "/" {
		return ep, fmt.Errorf("%w: minio-go needs an endpoint http(s)://HOST[:PORT] without a path", providers.ErrInvalidAddress)
	}
	if ep.HostPort == "" {
		ep.HostPort, ep.Host = awsDefaultHost, awsDefaultHost
	}
	if ep.Region == "" {
		ep.Region = s3compat.DefaultRegion
	}
	return ep, nil
}

// buildTransport: see s3compat.BuildTransport; parts held in memory or
// in a file leave in one write or with sendfile (s3compat.WholeWrites).
func buildTransport(opts Options, ep endpoint) (*http.Transport, error) {
	tr, err := s3compat.BuildTransport(opts, ep)
	if err != nil {
		return nil, fmt.Errorf("minio: %w", err)
	}
	s3compat.WholeWrites(tr)
	return tr, nil
}

// newCore builds the client. Credentials: the address's credentials file,
// followed as it changes (see fileProvider), else static from the address,
// else the AWS chain as minio-go knows it (env, shared files, IMDS; IMDS
// skipped when AWS_EC2_METADATA_DISABLED is true).
func newCore(a providers.Address, opts Options) (*minio.Core, endpoint, *http.Transport, *s3compat.FileCreds, error) {
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
	var creds *credentials.Credentials
	switch {
	case fc != nil:
		creds = credentials.New(fileProvider{fc})
		fc.OnNewer(creds.Expire)
	case a.User != "" || a.Secret != "":
		creds = credentials.NewStaticV4(a.User, a.Secret, "")
	default:
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
		return nil, ep, nil, nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, err)
	}
	return core, ep, tr, fc, nil
}

// fileProvider is a minio-go credentials.Provider over a credentials file:
// minio-go asks IsExpired before signing each request, which stats the file
// at most once per interval and says yes when it holds other credentials;
// after a request fails on credentials, Store.call re-reads the file and
// expires them.
type fileProvider struct{ fc *s3compat.FileCreds }

func (p fileProvider) RetrieveWithCredContext(*credentials.CredContext) (credentials.Value, error) {
	return p.Retrieve()
}

func (p fileProvider) Retrieve() (credentials.Value, error) {
	c := p.fc.Current()
	return credentials.Value{AccessKeyID: c.User, SecretAccessKey: c.Secret, SignerType: credentials.SignatureV4}, nil
}

func (p fileProvider) IsExpired() bool { return p.fc.Stale() }
