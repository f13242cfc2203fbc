package gcs

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
)

const fakeToken = "ya29.fake-loopback-token"

// tokenServer is a loopback OAuth2 token endpoint (and GCE metadata
// server): every POST /token and GET .../token answers fakeToken.
type tokenServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newTokenServer(t *testing.T) *tokenServer {
	t.Helper()
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/computeMetadata/") {
			if r.Header.Get("Metadata-Flavor") != "Google" {
				http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
				return
			}
			w.Header().Set("Metadata-Flavor", "Google")
			switch {
			case strings.HasSuffix(r.URL.Path, "/token"):
			case strings.HasSuffix(r.URL.Path, "/email"):
				io.WriteString(w, "vm@proj.iam.gserviceaccount.com")
				return
			case strings.HasSuffix(r.URL.Path, "/project-id"):
				io.WriteString(w, "proj")
				return
			case r.URL.Path == "/computeMetadata/v1/" || r.URL.Path == "/computeMetadata/v1":
				return
			default:
				http.NotFound(w, r)
				return
			}
		} else if r.URL.Path != "/token" {
			http.NotFound(w, r)
			return
		}
		ts.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": fakeToken, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(ts.Close)
	return ts
}

func testKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// authRecorder puts a faulty proxy in front of the emulator that records
// the Authorization header of every request (it injects nothing).
func authRecorder(t *testing.T, srv *testenv.GCSServer) (*faulty.Proxy, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	p, err := faulty.NewProxy(srv.URL, faulty.ProxyOptions{Dialect: faulty.GCS, Rules: []faulty.Rule{{
		Action: faulty.Slow,
		Match: func(r *http.Request) bool {
			mu.Lock()
			seen = append(seen, r.Header.Get("Authorization"))
			mu.Unlock()
			return false
		},
	}}})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

func requireBearer(t *testing.T, seen []string) {
	t.Helper()
	require.NotEmpty(t, seen)
	for _, h := range seen {
		require.Equal(t, "Bearer "+fakeToken, h)
	}
}

// A service-account key in the address: the JWT exchange goes to a
// loopback token endpoint, every request carries its token.
func TestKeyCredentialsTokenFlow(t *testing.T) {
	srv := testenv.FakeGCS(t)
	b := srv.NewBucket(t)
	ts := newTokenServer(t)
	p, seen := authRecorder(t, srv)
	a, err := providers.ParseAddress("gs://sa@proj.iam.gserviceaccount.com:" + url.QueryEscape(testKeyPEM(t)) + "@" + b + "?endpoint=" + p.URL())
	require.NoError(t, err)
	s, err := Open(t.Context(), a, Options{TokenURL: ts.URL + "/token"})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, CredentialKey, s.CredentialKind())
	_, err = s.Put(t.Context(), "k", strings.NewReader("hi"), 2, providers.PutOptions{})
	require.NoError(t, err)
	_, err = s.Stat(t.Context(), "k")
	require.NoError(t, err)
	require.Positive(t, ts.hits.Load())
	requireBearer(t, seen())
}

// ADC from GOOGLE_APPLICATION_CREDENTIALS: a service_account file whose
// token_uri is the loopback fake.
func TestADCServiceAccountFile(t *testing.T) {
	srv := testenv.FakeGCS(t)
	b := srv.NewBucket(t)
	ts := newTokenServer(t)
	p, seen := authRecorder(t, srv)
	js, err := json.Marshal(map[string]string{
		"type": "service_account", "client_email": "adc@proj.iam.gserviceaccount.com", "private_key": testKeyPEM(t),
		"private_key_id": "k1", "project_id": "proj", "token_uri": ts.URL + "/token",
	})
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "sa.json")
	require.NoError(t, os.WriteFile(f, js, 0o600))
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", f)
	a, err := providers.ParseAddress("gs://" + b + "?endpoint=" + p.URL())
	require.NoError(t, err)
	s, err := Open(t.Context(), a, Options{ADC: true})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, CredentialADC, s.CredentialKind())
	_, err = s.Put(t.Context(), "k", strings.NewReader("hi"), 2, providers.PutOptions{})
	require.NoError(t, err)
	require.NoError(t, s.List(t.Context(), providers.ListOptions{}, func(providers.Entry) error { return nil }))
	require.Positive(t, ts.hits.Load())
	requireBearer(t, seen())

	// ADC signs URLs with the key file it holds.
	u, _, err := s.Presign(t.Context(), providers.PresignRequest{Method: "GET", Key: "k", Expiry: time.Minute})
	require.NoError(t, err)
	require.Contains(t, u, "X-Goog-Credential=adc%40proj.iam.gserviceaccount.com")
}

// ADC on a "GCE VM": no key file, the token comes from the metadata
// server at GCE_METADATA_HOST (a loopback fake).
func TestADCMetadataServer(t *testing.T) {
	srv := testenv.FakeGCS(t)
	b := srv.NewBucket(t)
	ts := newTokenServer(t)
	p, seen := authRecorder(t, srv)
	host := strings.TrimPrefix(ts.URL, "http://")
	t.Setenv("GCE_METADATA_HOST", host)
	t.Setenv("GCE_METADATA_IP", host)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	os.Unsetenv("GOOGLE_APPLICATION_CREDENTIALS")
	a, err := providers.ParseAddress("gs://" + b + "?endpoint=" + p.URL())
	require.NoError(t, err)
	s, err := Open(t.Context(), a, Options{ADC: true})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, CredentialADC, s.CredentialKind())
	_, err = s.Put(t.Context(), "k", strings.NewReader("hi"), 2, providers.PutOptions{})
	require.NoError(t, err)
	require.Positive(t, ts.hits.Load())
	requireBearer(t, seen())
}

// Pre-signed V4 URLs with the address's key, used by a plain http.Client
// against fake-gcs-server. The emulator does not verify signatures (it
// serves any path-style URL on its public host), so the signature is
// checked for shape: algorithm, credential scope, expiry, signed headers.
func TestPresign(t *testing.T) {
	srv := testenv.FakeGCS(t)
	b := srv.NewBucket(t)
	ts := newTokenServer(t)
	a, err := providers.ParseAddress("gs://sa@proj.iam.gserviceaccount.com:" + url.QueryEscape(testKeyPEM(t)) + "@" + b + "?endpoint=" + srv.URL)
	require.NoError(t, err)
	s, err := Open(t.Context(), a, Options{TokenURL: ts.URL + "/token", MinPartSize: 1})
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	hc := srv.HTTPClient()

	shape := func(raw string, expiry time.Duration, signed ...string) {
		t.Helper()
		u, err := url.Parse(raw)
		require.NoError(t, err)
		require.Equal(t, "http", u.Scheme)
		require.Equal(t, srv.EmulatorHost(), u.Host)
		require.True(t, strings.HasPrefix(u.Path, "/"+b+"/"), u.Path)
		q := u.Query()
		require.Equal(t, "GOOG4-RSA-SHA256", q.Get("X-Goog-Algorithm"))
		require.Equal(t, strconv.Itoa(int(expiry.Seconds())), q.Get("X-Goog-Expires"))
		require.True(t, strings.HasPrefix(q.Get("X-Goog-Credential"), "sa@proj.iam.gserviceaccount.com/"))
		require.Regexp(t, `^[0-9a-f]{512}$`, q.Get("X-Goog-Signature"))
		for _, h := range append([]string{"host"}, signed...) {
			require.Contains(t, strings.Split(q.Get("X-Goog-SignedHeaders"), ";"), h)
		}
		d, err := time.Parse("20060102T150405Z", q.Get("X-Goog-Date"))
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), d, time.Minute)
		// The signature never survives redaction.
		require.NotContains(t, providers.RedactText("GET "+raw+": boom"), q.Get("X-Goog-Signature"))
	}

	_, err = s.Put(ctx, "dir/get me", strings.NewReader("hello presigned"), 15, providers.PutOptions{})
	require.NoError(t, err)
	raw, h, err := s.Presign(ctx, providers.PresignRequest{Method: "GET", Key: "dir/get me", Expiry: 10 * time.Minute})
	require.NoError(t, err)
	require.Empty(t, h)
	shape(raw, 10*time.Minute)
	resp, err := hc.Get(raw)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, string(body))
	require.Equal(t, "hello presigned", string(body))

	raw, h, err = s.Presign(ctx, providers.PresignRequest{Method: "PUT", Key: "up/new.bin", Expiry: time.Hour,
		Put: providers.PutOptions{ContentType: "application/x-test", Metadata: map[string]string{"x-who": "presign"}}})
	require.NoError(t, err)
	require.Equal(t, "application/x-test", h.Get("Content-Type"))
	require.Equal(t, "presign", h.Get("x-goog-meta-x-who"))
	shape(raw, time.Hour, "content-type", "x-goog-meta-x-who")
	req, err := http.NewRequest(http.MethodPut, raw, strings.NewReader("uploaded bytes"))
	require.NoError(t, err)
	req.Header = h.Clone()
	resp, err = hc.Do(req)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, string(body))
	rc, _, err := s.Get(ctx, "up/new.bin", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	got, _ := io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "uploaded bytes", string(got))

	// A part of a composed upload is a PUT of its temporary object.
	up, err := s.CreateMultipart(ctx, "mp/presigned", providers.PutOptions{})
	require.NoError(t, err)
	raw, _, err = s.Presign(ctx, providers.PresignRequest{Method: "PUT", Key: "mp/presigned", Expiry: time.Minute, UploadID: up.ID(), PartNumber: 2})
	require.NoError(t, err)
	require.Contains(t, raw, "/"+b+"/"+url.PathEscape(TempPrefix[:len(TempPrefix)-1])+"/")
	req, _ = http.NewRequest(http.MethodPut, raw, strings.NewReader("second"))
	resp, err = hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	p1, err := up.UploadPart(ctx, 1, strings.NewReader("first-"), 6, providers.PartOptions{})
	require.NoError(t, err)
	parts, err := up.ListParts(ctx)
	require.NoError(t, err)
	require.Len(t, parts, 2)
	_, err = up.Complete(ctx, []providers.Part{p1, parts[1]}, providers.CompleteOptions{})
	require.NoError(t, err)
	rc, _, err = s.Get(ctx, "mp/presigned", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	got, _ = io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "first-second", string(got))

	// Bad requests.
	_, _, err = s.Presign(ctx, providers.PresignRequest{Method: "GET", Key: "k", Expiry: 8 * 24 * time.Hour})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, _, err = s.Presign(ctx, providers.PresignRequest{Method: "POST", Key: "k", Expiry: time.Minute})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, _, err = s.Presign(ctx, providers.PresignRequest{Method: "GET", Key: TempPrefix + "x", Expiry: time.Minute})
	require.ErrorIs(t, err, providers.ErrInvalidKey)

	// Unauthenticated stores cannot sign.
	anon, _ := newTestStore(t)
	_, _, err = anon.Presign(ctx, providers.PresignRequest{Method: "GET", Key: "k", Expiry: time.Minute})
	require.ErrorIs(t, err, providers.ErrUnsupported)
}

// Real GCS errors the emulator never sends, answered by the fault proxy in
// GCS's JSON error format: throttling, preconditions, permissions.
func TestRealServiceErrorsThroughProxy(t *testing.T) {
	srv := testenv.FakeGCS(t)
	b := srv.NewBucket(t)
	p, err := faulty.NewProxy(srv.URL, faulty.ProxyOptions{Dialect: faulty.GCS})
	require.NoError(t, err)
	defer p.Close()
	pem := testKeyPEM(t)
	ts := newTokenServer(t)
	a, err := providers.ParseAddress("gs://sa@proj.iam.gserviceaccount.com:" + url.QueryEscape(pem) + "@" + b + "?endpoint=" + p.URL())
	require.NoError(t, err)
	s, err := Open(t.Context(), a, Options{TokenURL: ts.URL + "/token", MinPartSize: 1})
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	_, err = s.Put(ctx, "k", strings.NewReader("v"), 1, providers.PutOptions{})
	require.NoError(t, err)

	cases := []struct {
		name    string
		status  int
		code    string
		message string
		want    error
	}{
		{"rateLimitExceeded", 429, "rateLimitExceeded", "The rate of change requests to the object dir/k exceeds the rate limit. Please reduce the rate of create, update, and delete requests.", providers.ErrThrottled},
		{"backendError", 503, "backendError", "We encountered an internal error. Please try again.", providers.ErrThrottled},
		{"conditionNotMet", 412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.", providers.ErrPrecondition},
		{"unauthorized", 401, "required", "Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).", providers.ErrPermission},
		{"forbidden", 403, "forbidden", "sa@proj.iam.gserviceaccount.com does not have storage.objects.create access to the Google Cloud Storage object. Permission 'storage.objects.create' denied on resource (or it may not exist).", providers.ErrPermission},
	}
	ops := []struct {
		name string
		kind string
		run  func() error
	}{
		{"stat", faulty.KindHead, func() error { _, err := s.Stat(ctx, "k"); return err }},
		{"put", faulty.KindPut, func() error {
			_, err := s.Put(ctx, "k2", strings.NewReader("v"), 1, providers.PutOptions{IfMatch: "1"})
			return err
		}},
		{"list", faulty.KindList, func() error {
			return s.List(ctx, providers.ListOptions{}, func(providers.Entry) error { return nil })
		}},
		{"compose", faulty.KindComplete, func() error {
			u, err := s.CreateMultipart(ctx, "mp", providers.PutOptions{})
			if err != nil {
				return err
			}
			defer u.Abort(ctx)
			pt, err := u.UploadPart(ctx, 1, strings.NewReader("x"), 1, providers.PartOptions{})
			if err != nil {
				return err
			}
			_, err = u.Complete(ctx, []providers.Part{pt}, providers.CompleteOptions{})
			return err
		}},
	}
	for _, c := range cases {
		for _, op := range ops {
			t.Run(c.name+"/"+op.name, func(t *testing.T) {
				require.NoError(t, p.SetRules(faulty.Rule{Kind: op.kind, Action: faulty.Respond, Status: c.status, Code: c.code, Message: c.message}))
				defer p.SetRules()
				err := op.run()
				require.ErrorIs(t, err, c.want, "%v", err)
				var oe *providers.OpError
				require.True(t, errors.As(err, &oe))
				require.Equal(t, c.status, oe.Status)
				require.Equal(t, c.code, oe.Code)
				require.Positive(t, p.Injected())
				for _, secret := range []string{"PRIVATE KEY", pem[40:80], fakeToken} {
					require.NotContains(t, err.Error(), secret)
				}
			})
		}
	}
}
