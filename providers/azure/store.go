package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/byobfs/byob/providers"
)

// Credential kinds, as CredentialKind reports them.
const (
	CredSharedKey = "shared-key"
	CredSAS       = "sas"
	CredDefault   = "default"
	// CredToken: a caller's azcore.TokenCredential (Options.Credential).
	CredToken = "token"
)

// Limits of block blobs (service version 2019-12-12 and later).
const (
	maxKeyLength  = 1024
	maxPartSize   = 4000 << 20 // Put Block
	maxParts      = 50000
	maxPutSize    = 5000 << 20 // Put Blob
	maxObjectSize = maxParts * maxPartSize
)

// Options tune a Store.
type Options struct {
	// Transport is the HTTP client the SDK sends requests with; nil uses a
	// clone of http.DefaultTransport.
	Transport *http.Client
	// OddKeys overrides Capabilities.OddKeys. nil: false. The Azure service
	// and Azurite resolve "." and ".." segments in the URL path ("a/./b"
	// reaches "a/b"), so such keys are refused with ErrInvalidKey unless
	// this says the endpoint stores them as given.
	OddKeys *bool
	// SinglePutSize is the largest Put sent as one Put Blob request (the
	// body is buffered in memory to know its size exactly before sending);
	// larger Puts stage blocks of this size and commit them. 0 means 32 MiB.
	SinglePutSize int64
	// Credential, when set, is used instead of DefaultAzureCredential for
	// addresses without a key or SAS (tests, or callers with their own
	// token source); CredentialKind is then CredToken. Azure AD tokens
	// are only sent over https.
	Credential azcore.TokenCredential
	// CredentialsInterval is how often the address's credentials file is
	// looked at, at most (0: credfile.DefaultInterval).
	CredentialsInterval time.Duration
}

// DefaultOptions are the options Opener uses.
func DefaultOptions() Options { return Options{} }

// Store is one Azure blob container. It is safe for concurrent use.
type Store struct {
	cont      *container.Client
	container string
	kind      string
	caps      providers.Capabilities
	opts      Options
	hc        *http.Client
	// For pre-signing: the service and container URLs, and the shared key
	// or token credential (user-delegation SAS).
	svcURL    string
	contURL   string
	sharedKey *blob.SharedKeyCredential
	creds     *fileCreds // follows the credentials file; nil: none
	token     azcore.TokenCredential
	clientOpt policy.ClientOptions
}

var (
	_ providers.Store       = (*Store)(nil)
	_ providers.Presigner   = (*Store)(nil)
	_ providers.Multiparter = (*Store)(nil)
	_ providers.Closer      = (*Store)(nil)
)

// Open returns the Store for a's container. It does not contact the
// server. The service URL is a.Endpoint when set (Azurite:
// http://127.0.0.1:10000/devstoreaccount1), else
// https://ACCOUNT.blob.core.windows.net. Credentials: the account key
// (a.Secret) as a shared key; else a SAS token (a.SAS, or the
// AZURE_STORAGE_SAS_TOKEN environment variable) appended to the URL; else
// DefaultAzureCredential with a.Tenant, or a managed identity / workload
// identity with client ID a.ClientID. The SDK's retries are off.
func Open(ctx context.Context, a providers.Address, opts Options) (*Store, error) {
	if a.Scheme != "az" || a.Bucket == "" || a.Host == "" {
		return nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, errors.New("an az:// address with an account and a container"))
	}
	svc := a.Endpoint
	if svc == "" {
		svc = "https://" + a.Host + ".blob.core.windows.net"
	}
	svc = strings.TrimRight(svc, "/")
	contURL := svc + "/" + url.PathEscape(a.Bucket)
	hc := opts.Transport
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	co := &container.ClientOptions{ClientOptions: policy.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Transport: hc,
		Telemetry: policy.TelemetryOptions{Disabled: true},
	}}
	s := &Store{container: a.Bucket, opts: opts, hc: hc, svcURL: svc, contURL: contURL, clientOpt: co.ClientOptions}
	var err error
	sas := a.SAS
	if a.Secret == "" && sas == "" {
		sas = strings.TrimPrefix(getenv("AZURE_STORAGE_SAS_TOKEN"), "?")
	}
	switch {
	case a.Secret != "":
		cred, cerr := blob.NewSharedKeyCredential(a.Host, a.Secret)
		if cerr != nil {
			// The SDK's message does not hold the key, but say only what is wrong.
			return nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, errors.New("the account key is not valid base64 (URL-encode it in the address)"))
		}
		s.kind = CredSharedKey
		s.sharedKey = cred
		if err := s.followFile(a, co, ""); err != nil {
			return nil, err
		}
		s.cont, err = container.NewClientWithSharedKeyCredential(contURL, cred, co)
	case sas != "":
		if _, qerr := url.ParseQuery(sas); qerr != nil {
			return nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, errors.New("the SAS token is not a query string"))
		}
		s.kind = CredSAS
		if err := s.followFile(a, co, sas); err != nil {
			return nil, err
		}
		s.cont, err = container.NewClientWithNoCredential(contURL+"?"+sas, co)
	default:
		cred := opts.Credential
		s.kind = CredToken
		if cred == nil {
			cred, err = defaultCredential(a, co.ClientOptions)
			if err != nil {
				return nil, providers.NewOpError("open", "", providers.ErrPermission, err)
			}
			s.kind = CredDefault
		}
		s.token = cred
		s.cont, err = container.NewClient(contURL, cred, co)
	}
	if err != nil {
		return nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, err)
	}
	odd := false
	if opts.OddKeys != nil {
		odd = *opts.OddKeys
	}
	s.caps = providers.Capabilities{
		Multipart:           providers.MultipartBlocks,
		MinPartSize:         1,
		MaxPartSize:         maxPartSize,
		MaxParts:            maxParts,
		MaxObjectSize:       maxObjectSize,
		MaxPutSize:          maxPutSize,
		ResumableUploads:    true,
		NativeStartAfter:    false,
		VerifiedChecksums:   []providers.ChecksumAlgorithm{providers.ChecksumMD5},
		ObjectPrefixCoexist: true,
		OddKeys:             odd,
		MaxKeyLength:        maxKeyLength,
		ConditionalWrites:   true,
		VersionOnRewrite:    true,
	}
	return s, nil
}

// followFile adds to co the policy that follows a.CredentialsFile, when
// there is one, for a store of s.kind opened with s.sharedKey or sas.
func (s *Store) followFile(a providers.Address, co *container.ClientOptions, sas string) error {
	fc, err := newFileCreds(a, s.kind, s.sharedKey, sas, s.opts.CredentialsInterval)
	if err != nil || fc == nil {
		return err
	}
	co.PerCallPolicies = append(co.PerCallPolicies, fc)
	s.creds = fc
	return nil
}

// defaultCredential is DefaultAzureCredential (environment, workload
// identity, managed identity, Azure CLI, ...) with a.Tenant; with
// a.ClientID it is workload identity then managed identity for that client
// ID, since DefaultAzureCredential takes the ID only from AZURE_CLIENT_ID.
func defaultCredential(a providers.Address, co policy.ClientOptions) (azcore.TokenCredential, error) {
	if a.ClientID == "" {
		return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: co, TenantID: a.Tenant})
	}
	var chain []azcore.TokenCredential
	if wi, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: co, ClientID: a.ClientID, TenantID: a.Tenant}); err == nil {
		chain = append(chain, wi)
	}
	mi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: co, ID: azidentity.ClientID(a.ClientID)})
	if err != nil {
		return nil, err
	}
	chain = append(chain, mi)
	return azidentity.NewChainedTokenCredential(chain, nil)
}

// Opener opens a's store with DefaultOptions and returns a.Path as the key
// prefix.
func Opener(ctx context.Context, a providers.Address) (providers.Store, string, error) {
	s, err := Open(ctx, a, DefaultOptions())
	if err != nil {
		return nil, "", err
	}
	return s, a.Path, nil
}

// CredentialKind says how requests are authorized: CredSharedKey
// ("shared-key"), CredSAS ("sas"), CredDefault ("default":
// DefaultAzureCredential) or CredToken ("token": Options.Credential).
func (s *Store) CredentialKind() string { return s.kind }

// Container is the container this store is rooted at.
func (s *Store) Container() string { return s.container }

// Capabilities implements providers.Store.
func (s *Store) Capabilities() providers.Capabilities {
	c := s.caps
	c.VerifiedChecksums = append([]providers.ChecksumAlgorithm(nil), c.VerifiedChecksums...)
	return c
}

// Close releases idle connections.
func (s *Store) Close() error {
	s.hc.CloseIdleConnections()
	return nil
}

func (s *Store) blob(key string) *blockblob.Client { return s.cont.NewBlockBlobClient(key) }

// checkKey refuses, before any request, keys the service cannot hold or
// would rewrite: empty, over 1024 bytes, not UTF-8 (the service and the
// XML listings carry names as UTF-8), and, unless OddKeys, empty or dot
// segments, a leading "/" and a trailing "/" or ".".
func (s *Store) checkKey(op, key string) error {
	switch {
	case key == "":
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errEmptyKey)
	case len(key) > maxKeyLength:
		return providers.NewOpError(op, "", providers.ErrInvalidKey, fmt.Errorf("key of %d bytes is over %d", len(key), maxKeyLength))
	case !utf8.ValidString(key):
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errNotUTF8)
	case !s.caps.OddKeys && hasOddSegment(key):
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errOddKey)
	}
	return nil
}

func hasOddSegment(key string) bool {
	if strings.HasSuffix(key, "/") || strings.HasSuffix(key, ".") {
		return true
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func checkIfNoneMatch(op, key, v string) error {
	if v != "" && v != "*" {
		return providers.NewOpError(op, key, providers.ErrInvalidArgument, errIfNoneMatch)
	}
	return nil
}

// accessConditions maps IfMatch / IfNoneMatch "*" onto azblob's.
func accessConditions(ifMatch, ifNoneMatch string) *blob.AccessConditions {
	if ifMatch == "" && ifNoneMatch == "" {
		return nil
	}
	m := &blob.ModifiedAccessConditions{}
	if ifMatch != "" {
		e := azcore.ETag(ifMatch)
		m.IfMatch = &e
	}
	if ifNoneMatch == "*" {
		e := azcore.ETagAny
		m.IfNoneMatch = &e
	}
	return &blob.AccessConditions{ModifiedAccessConditions: m}
}
