package azure

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/credfile"
)

// fileCreds follows the credentials file of a shared-key or SAS store
// (Address.CredentialsFile), as a per-call policy of the store's pipeline:
//
//   - Before each request it takes the file's current credentials
//     (credfile.Source: one stat per interval at most). A new account key
//     goes into the SharedKeyCredential (SetAccountKey), which the SDK's
//     signing policy and Presign read; a new SAS replaces the SAS the
//     container URL was built with in the request's query and in an
//     x-ms-copy-source URL.
//   - A request refused with 401/403 looks at the file at once; when it
//     holds newer credentials, they are used from the next request on, and
//     a request without a body is sent once more with them. A request with
//     a body is not: net/http may return the answer while it still reads
//     the first attempt's body, so rewinding it could send shifted bytes.
//
// The kind of credential chosen at Open stays: a file that later holds
// only the other kind keeps the last good values of this one.
type fileCreds struct {
	src  *credfile.Source
	kind string                    // CredSharedKey or CredSAS
	key  *blob.SharedKeyCredential // shared key: the credential the SDK signs with
	base url.Values                // SAS: the one baked into the container URL

	mu  sync.Mutex
	gen uint64     // generation applied; only a newer one replaces it
	sas url.Values // SAS to send; nil while it is base
}

// newFileCreds follows a.CredentialsFile (looked at once per interval at
// most; 0: credfile.DefaultInterval) for a store of kind (CredSharedKey or
// CredSAS) opened with key (shared key) or sas; nil when there is no file.
// The file's credentials as read now are applied at once: they may be
// newer than the ones the address was resolved with.
func newFileCreds(a providers.Address, kind string, key *blob.SharedKeyCredential, sas string, interval time.Duration) (*fileCreds, error) {
	if a.CredentialsFile == "" {
		return nil, nil
	}
	src, err := credfile.NewSource(a.Scheme, a.CredentialsFile, interval)
	if err != nil {
		return nil, providers.NewOpError("open", "", providers.ErrPermission, err)
	}
	f := &fileCreds{src: src, kind: kind, key: key}
	if kind == CredSAS {
		f.base, _ = url.ParseQuery(sas) // checked by Open
	}
	c, gen := src.Current()
	f.use(c)
	f.gen = gen
	return f, nil
}

// apply takes c (generation gen) unless it is already applied, and returns
// the SAS to send (nil: the container URL's own).
func (f *fileCreds) apply(c credfile.Creds, gen uint64) url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen > f.gen { // a request that read the file before another one applied a change must not undo it
		f.gen = gen
		f.use(c)
	}
	return f.sas
}

// use takes c's values of the store's kind; a value that does not parse
// leaves the last good one. Called with mu held (or before f is shared).
func (f *fileCreds) use(c credfile.Creds) {
	switch f.kind {
	case CredSharedKey:
		if c.Secret != "" {
			_ = f.key.SetAccountKey(c.Secret) // not base64: the last good key stays
		}
	case CredSAS:
		if q, err := url.ParseQuery(c.SAS); err == nil && c.SAS != "" {
			f.sas = q
		}
	}
}

// refresh applies the file's current credentials (Presign signs with the
// shared key directly).
func (f *fileCreds) refresh() { f.apply(f.src.Current()) }

// Do implements policy.Policy.
func (f *fileCreds) Do(req *policy.Request) (*http.Response, error) {
	c, gen := f.src.Current()
	f.resign(req, f.apply(c, gen))
	resp, err := req.Next()
	if err != nil || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
		return resp, err
	}
	if f.src.Reload() == gen {
		return resp, err
	}
	if req.Body() != nil {
		return resp, err // the next request takes the file's credentials
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	c, gen = f.src.Current()
	again := req.Clone(req.Raw().Context())
	f.resign(again, f.apply(c, gen))
	return again.Next()
}

// resign puts sas in place of the container URL's SAS in the request URL
// and in a copy source that carries it; nil leaves the request as built.
func (f *fileCreds) resign(req *policy.Request, sas url.Values) {
	if sas == nil {
		return
	}
	r := req.Raw()
	r.URL.RawQuery = f.swapSAS(r.URL.Query(), sas).Encode()
	// The SDK sets its x-ms-* headers under lower-case keys, not the
	// canonical ones Header.Get looks for.
	for k, v := range r.Header {
		if !strings.EqualFold(k, "x-ms-copy-source") || len(v) != 1 {
			continue
		}
		if u, err := url.Parse(v[0]); err == nil && u.Query().Get("sig") != "" {
			u.RawQuery = f.swapSAS(u.Query(), sas).Encode()
			v[0] = u.String()
		}
	}
}

// swapSAS removes the base SAS's parameters from q and adds sas's.
func (f *fileCreds) swapSAS(q, sas url.Values) url.Values {
	for k := range f.base {
		q.Del(k)
	}
	for k, v := range sas {
		q[k] = v
	}
	return q
}
