package gcs

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/byobfs/byob/providers"
)

// Credential kinds reported by Store.CredentialKind.
const (
	CredentialKey  = "key"  // the address's service-account email and private key
	CredentialADC  = "adc"  // Application Default Credentials
	CredentialNone = "none" // unauthenticated (an emulator)
)

const (
	maxKeyLength     = 1024
	maxObjectSize    = 5 << 40
	chunkAlign       = 256 << 10
	defaultChunkSize = 16 << 20
	reservedMtime    = "goog-reserved-file-mtime"
)

// Options tune a Store. The zero value is the default.
type Options struct {
	// HTTPClient, when set, carries every request (tests route it through a
	// loopback dialer or a fault-injecting proxy). It must add its own
	// authentication: credentials in the address are then ignored.
	HTTPClient *http.Client
	// TokenURL overrides the OAuth2 token endpoint of key credentials
	// (default https://oauth2.googleapis.com/token). Tests point it at a
	// loopback fake.
	TokenURL string
	// OddKeys overrides Capabilities.OddKeys. nil: true (GCS stores "a//b",
	// "." and ".." segments and a trailing "/" as given; fake-gcs-server too).
	OddKeys *bool
	// ChunkSize of resumable uploads; 0 means 16 MiB. Smaller objects go in
	// one request from a buffer of their size.
	ChunkSize int
	// XMLReads reads objects through the XML API (the library's default,
	// faster on GCS). false: JSON API reads, which every emulator serves.
	XMLReads bool
	// ADC uses Application Default Credentials even with an ?endpoint=
	// (a private endpoint; tests against an emulator with a loopback token
	// source). Without it an endpoint and no key means unauthenticated.
	ADC bool
	// MinPartSize overrides Capabilities.MinPartSize of composed uploads
	// (0: 5 MiB, as on S3, so one journal's part size fits every backend).
	// Compose itself has no minimum; tests use small parts.
	MinPartSize int64
	// CredentialsInterval is how often the address's credentials file is
	// looked at, at most (0: credfile.DefaultInterval).
	CredentialsInterval time.Duration
}

// DefaultOptions returns the default Options.
func DefaultOptions() Options { return Options{} }

// Store is one GCS bucket. It is safe for concurrent use.
type Store struct {
	client   *storage.Client
	bucket   *storage.BucketHandle
	name     string
	credKind string
	caps     providers.Capabilities
	opts     Options
	// For pre-signing: the service account's email and PEM key when the
	// address holds them, and the ?endpoint= URL.
	saEmail  string
	saKey    []byte
	keys     *keyFile // the key comes from a credentials file it follows; else nil
	endpoint string
}

// signer returns the service account's email and PEM key to sign with
// (none: ADC or no credentials).
func (s *Store) signer() (string, []byte) {
	if s.keys != nil {
		return s.keys.signer()
	}
	return s.saEmail, s.saKey
}

var (
	_ providers.Store       = (*Store)(nil)
	_ providers.Closer      = (*Store)(nil)
	_ providers.Multiparter = (*Store)(nil)
	_ providers.Presigner   = (*Store)(nil)
)

// Open returns the Store for a's bucket. It does not contact the server
// (key credentials are checked locally; a malformed key is an error wrapping
// ErrInvalidAddress and ErrPermission that never holds the key).
func Open(ctx context.Context, a providers.Address, opts Options) (*Store, error) {
	if a.Scheme != "gs" || a.Bucket == "" {
		return nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, errors.New("a gs:// address with a bucket"))
	}
	var (
		copts   []option.ClientOption
		saEmail string
		saKey   []byte
		keys    *keyFile
	)
	kind := CredentialADC
	switch {
	case opts.HTTPClient != nil:
		copts = append(copts, option.WithHTTPClient(opts.HTTPClient))
		kind = CredentialNone
		if a.HasCredentials() {
			kind = CredentialKey
			if _, pemKey, err := serviceAccountJSON(a.User, a.Secret, ""); err == nil {
				saEmail, saKey = a.User, pemKey
			}
		}
	case a.Secret != "" && a.CredentialsFile != "":
		kf, err := newKeyFile(a, opts.TokenURL, opts.CredentialsInterval)
		if err != nil {
			return nil, err
		}
		keys = kf
		copts = append(copts, option.WithTokenSource(kf))
		kind = CredentialKey
	case a.Secret != "":
		js, pemKey, err := serviceAccountJSON(a.User, a.Secret, opts.TokenURL)
		if err != nil {
			return nil, err
		}
		saEmail, saKey = a.User, pemKey
		copts = append(copts, option.WithAuthCredentialsJSON(option.ServiceAccount, js))
		kind = CredentialKey
	case !opts.ADC && (a.Endpoint != "" || os.Getenv("STORAGE_EMULATOR_HOST") != ""):
		copts = append(copts, option.WithoutAuthentication())
		kind = CredentialNone
	}
	if a.Endpoint != "" {
		copts = append(copts, option.WithEndpoint(a.Endpoint+"/storage/v1/"))
	}
	if !opts.XMLReads {
		copts = append(copts, storage.WithJSONReads())
	}
	client, err := storage.NewClient(ctx, copts...)
	if err != nil {
		return nil, providers.NewOpError("open", "", providers.ErrInvalidAddress, err)
	}
	client.SetRetry(storage.WithPolicy(storage.RetryNever))
	s := &Store{client: client, bucket: client.Bucket(a.Bucket), name: a.Bucket, credKind: kind, opts: opts,
		saEmail: saEmail, saKey: saKey, keys: keys, endpoint: a.Endpoint}
	if s.opts.ChunkSize <= 0 {
		s.opts.ChunkSize = defaultChunkSize
	}
	oddKeys := true
	if opts.OddKeys != nil {
		oddKeys = *opts.OddKeys
	}
	s.caps = providers.Capabilities{
		Multipart:           providers.MultipartCompose,
		MinPartSize:         s.minPartSize(),
		MaxPartSize:         maxObjectSize,
		MaxParts:            maxParts,
		ResumableUploads:    true,
		MaxObjectSize:       maxObjectSize,
		MaxPutSize:          maxObjectSize,
		NativeStartAfter:    false,
		VerifiedChecksums:   []providers.ChecksumAlgorithm{providers.ChecksumCRC32C, providers.ChecksumMD5},
		ObjectPrefixCoexist: true,
		OddKeys:             oddKeys,
		MaxKeyLength:        maxKeyLength,
		ConditionalWrites:   true,
		VersionOnRewrite:    true,
	}
	return s, nil
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

// serviceAccountJSON checks the PEM private key and builds the
// service_account credentials file Google's libraries take. Errors name what
// is wrong, never the key.
func serviceAccountJSON(email, key, tokenURL string) ([]byte, []byte, error) {
	bad := func(why string) error {
		return providers.NewOpError("open", "", bothKinds{providers.ErrInvalidAddress, providers.ErrPermission},
			fmt.Errorf("gs:// private key of %q: %s (paste the service account's PEM \"private_key\", URL-encoded)", email, why))
	}
	if email == "" || !strings.Contains(email, "@") {
		return nil, nil, bad("the user part must be the service-account email")
	}
	// Keys pasted from JSON keep their "\n" escapes.
	key = strings.ReplaceAll(key, `\n`, "\n")
	// A key URL-encoded as a query string has '+' for the header's spaces
	// (the base64 body's '+' are left alone).
	for _, h := range []string{"BEGIN+PRIVATE+KEY", "END+PRIVATE+KEY", "BEGIN+RSA+PRIVATE+KEY", "END+RSA+PRIVATE+KEY"} {
		key = strings.ReplaceAll(key, h, strings.ReplaceAll(h, "+", " "))
	}
	blk, _ := pem.Decode([]byte(key))
	if blk == nil {
		return nil, nil, bad("not a PEM block")
	}
	if _, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
		if _, err2 := x509.ParsePKCS1PrivateKey(blk.Bytes); err2 != nil {
			return nil, nil, bad("the PEM block is not an RSA private key (PKCS#8 or PKCS#1)")
		}
	}
	if tokenURL == "" {
		tokenURL = "https://oauth2.googleapis.com/token"
	}
	js, err := json.Marshal(map[string]string{
		"type":         "service_account",
		"client_email": email,
		"private_key":  key,
		"token_uri":    tokenURL,
	})
	return js, []byte(key), err
}

func (s *Store) minPartSize() int64 {
	if s.opts.MinPartSize > 0 {
		return s.opts.MinPartSize
	}
	return minPartSize
}

// CredentialKind says where the credentials come from: CredentialKey,
// CredentialADC or CredentialNone.
func (s *Store) CredentialKind() string { return s.credKind }

// Bucket is the bucket this store is rooted at.
func (s *Store) Bucket() string { return s.name }

// Capabilities implements providers.Store.
func (s *Store) Capabilities() providers.Capabilities {
	c := s.caps
	c.VerifiedChecksums = append([]providers.ChecksumAlgorithm(nil), c.VerifiedChecksums...)
	return c
}

// Close releases the client.
func (s *Store) Close() error { return s.client.Close() }

func (s *Store) object(key string) *storage.ObjectHandle {
	return s.bucket.Object(key).Retryer(storage.WithPolicy(storage.RetryNever))
}

func (s *Store) checkKey(op, key string) error {
	switch {
	case key == "":
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errEmptyKey)
	case len(key) > maxKeyLength:
		return providers.NewOpError(op, "", providers.ErrInvalidKey, fmt.Errorf("key of %d bytes is over %d", len(key), maxKeyLength))
	case !utf8.ValidString(key):
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errNotUTF8)
	case strings.ContainsAny(key, "\r\n"):
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errors.New("GCS object names cannot hold carriage return or line feed"))
	case strings.HasPrefix(key, TempPrefix):
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errTempPrefix)
	case key == "." || key == "..":
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errors.New(`GCS object names cannot be "." or ".."`))
	case !s.caps.OddKeys && hasOddSegment(key):
		return providers.NewOpError(op, key, providers.ErrInvalidKey, errOddKey)
	}
	return nil
}

func hasOddSegment(key string) bool {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		if (seg == "" && i != len(segs)-1) || seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// bothKinds is an OpError Kind that is two sentinels (errors.Is finds
// either) and prints on one line, unlike errors.Join.
type bothKinds [2]error

func (k bothKinds) Error() string   { return k[0].Error() + ", " + k[1].Error() }
func (k bothKinds) Unwrap() []error { return k[:] }
