package gcs

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"cloud.google.com/go/storage"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/credfile"
)

// keyFile follows the credentials file of a service-account key store
// (Address.CredentialsFile): it is the client's token source, and before
// handing out a token it takes the file's current key (credfile.Source:
// one stat per interval at most). A new key gets its own token exchange,
// so requests carry a token of the new key from then on (a token of the
// old one is not used again, whatever its expiry); Presign signs with it.
// A file whose key does not parse keeps the last good key.
type keyFile struct {
	src      *credfile.Source
	tokenURL string

	mu    sync.Mutex
	gen   uint64 // generation of the file last looked at; only a newer one replaces it
	email string
	key   []byte // PEM
	ts    oauth2.TokenSource
}

// newKeyFile follows a.CredentialsFile, looking at it once per interval at
// most (0: credfile.DefaultInterval). The key it holds now must parse.
func newKeyFile(a providers.Address, tokenURL string, interval time.Duration) (*keyFile, error) {
	src, err := credfile.NewSource(a.Scheme, a.CredentialsFile, interval)
	if err != nil {
		return nil, providers.NewOpError("open", "", providers.ErrPermission, err)
	}
	k := &keyFile{src: src, tokenURL: tokenURL}
	c, gen := src.Current()
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.useLocked(c, gen); err != nil {
		return nil, err
	}
	return k, nil
}

// useLocked switches to the key of c (generation gen). On error the
// current key stays.
func (k *keyFile) useLocked(c credfile.Creds, gen uint64) error {
	k.gen = gen
	js, key, err := serviceAccountJSON(c.User, c.Secret, k.tokenURL)
	if err != nil {
		return err
	}
	cfg, err := google.JWTConfigFromJSON(js, storage.ScopeFullControl)
	if err != nil {
		// serviceAccountJSON checked the key; never print the JSON.
		return providers.NewOpError("open", "", providers.ErrInvalidAddress, errors.New("the service-account key is not usable"))
	}
	k.email, k.key = c.User, key
	// The token exchange gets a bounded client: the client's token cache
	// holds its lock while it waits, so a hung token endpoint would stall
	// every request.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: tokenTimeout})
	k.ts = oauth2.ReuseTokenSource(nil, cfg.TokenSource(ctx))
	return nil
}

// tokenTimeout bounds one token exchange.
const tokenTimeout = 30 * time.Second

// refresh takes the file's key when the file changed.
func (k *keyFile) refresh() {
	c, gen := k.src.Current()
	k.mu.Lock()
	defer k.mu.Unlock()
	if gen > k.gen { // never back to an older read of the file
		_ = k.useLocked(c, gen) // a bad key: the last good one stays
	}
}

// Token implements oauth2.TokenSource. The token caches its key's
// exchange (oauth2.ReuseTokenSource) itself; the copy handed out expires
// at once, so the client's own token cache asks again before its next
// request and a rotated key is used from that request on.
func (k *keyFile) Token() (*oauth2.Token, error) {
	k.refresh()
	k.mu.Lock()
	ts := k.ts
	k.mu.Unlock()
	t, err := ts.Token()
	if err != nil {
		return nil, err
	}
	c := *t
	c.Expiry = time.Now()
	return &c, nil
}

// signer returns the service account's email and PEM key to sign with.
func (k *keyFile) signer() (string, []byte) {
	k.refresh()
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.email, k.key
}
