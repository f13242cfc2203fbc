package azure

import (
	"context"

	"errors"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
)

// An Azure AD token credential against a second Azurite started with
// `--oauth basic` over HTTPS (a self-signed certificate the client
// trusts). The tokens are made locally (testenv.TokenCredential): nothing
// leaves loopback.
func TestTokenCredentialOAuth(t *testing.T) {
	srv := testenv.AzuriteOAuth(t)
	require.True(t, strings.HasPrefix(srv.Endpoint, "https://127.0.0.1:"))
	c := srv.NewContainer(t)
	var calls atomic.Int64
	a, err := providers.ParseAddress(srv.TokenAddress(c))
	require.NoError(t, err)
	s, err := Open(t.Context(), a, Options{Transport: srv.HTTPClient(), Credential: srv.TokenCredential(&calls)})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, CredToken, s.CredentialKind())
	ctx := t.Context()
	info, err := s.Put(ctx, "dir/k", strings.NewReader("token bytes"), 11, providers.PutOptions{Metadata: map[string]string{"mtime": "1700000000"}})
	require.NoError(t, err)
	st, err := s.Stat(ctx, "dir/k")
	require.NoError(t, err)
	require.Equal(t, info.Version, st.Version)
	var keys []string
	require.NoError(t, s.List(ctx, providers.ListOptions{}, func(e providers.Entry) error { keys = append(keys, e.Key); return nil }))
	require.Equal(t, []string{"dir/k"}, keys)
	u, err := s.CreateMultipart(ctx, "mp", providers.PutOptions{})
	require.NoError(t, err)
	p, err := u.UploadPart(ctx, 1, strings.NewReader("part"), 4, providers.PartOptions{})
	require.NoError(t, err)
	_, err = u.Complete(ctx, []providers.Part{p}, providers.CompleteOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, "mp"))
	require.Positive(t, calls.Load(), "the token credential was used")

	// A user-delegation SAS: Get User Delegation Key with the token (a
	// real round trip), then signed with that key. Azurite (API
	// 2025-11-05) cannot verify it: the SDK signs as service version
	// 2026-12-06, whose string-to-sign has two more fields (signed request
	// headers and query parameters) than Azurite's newest one. So the URL
	// is checked for shape and expiry; the shared-key SAS of
	// TestPresignSharedKey is verified by the server.
	raw, h, err := s.Presign(ctx, providers.PresignRequest{Method: "GET", Key: "dir/k", Expiry: time.Hour})
	require.NoError(t, err)
	require.Empty(t, h)
	pu, err := url.Parse(raw)
	require.NoError(t, err)
	require.Equal(t, srv.HostPort(), pu.Host)
	require.Equal(t, "/"+srv.Account+"/"+c+"/dir/k", pu.Path)
	q := pu.Query()
	require.Equal(t, "0b9f1b9a-0000-4000-8000-00000000b10b", q.Get("skoid"), "signed by the token's object ID")
	require.Equal(t, testenv.FakeTenant, q.Get("sktid"))
	require.Equal(t, "https", q.Get("spr"))
	require.Equal(t, "r", q.Get("sp"))
	require.NotEmpty(t, q.Get("sig"))
	require.NotEmpty(t, q.Get("skv"))
	se, err := time.Parse(time.RFC3339, q.Get("se"))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(time.Hour), se, time.Minute)
	require.NotContains(t, providers.RedactText("GET "+raw+" failed"), q.Get("sig"))
	_, _, err = s.Presign(ctx, providers.PresignRequest{Method: "GET", Key: "dir/k", Expiry: 8 * 24 * time.Hour})
	require.ErrorIs(t, err, providers.ErrInvalidArgument, "a user delegation key lives at most 7 days")

	// Without the token the same server refuses the store: no fallback.
	anon, err := Open(ctx, a, Options{Transport: srv.HTTPClient(), Credential: badToken{}})
	require.NoError(t, err)
	_, err = anon.Stat(ctx, "dir/k")
	require.ErrorIs(t, err, providers.ErrPermission)
}

type badToken struct{}

func (badToken) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "not-a-jwt", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func httpGet(t *testing.T, hc *http.Client, raw string) (int, string) {
	t.Helper()
	resp, err := hc.Get(raw)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Pre-signed URLs signed with the account key, verified by Azurite.
func TestPresignSharedKey(t *testing.T) {
	srv := testenv.Azurite(t)
	s := newTestStore(t)
	ctx := t.Context()
	hc := srv.HTTPClient()
	_, err := s.Put(ctx, "a/get me", strings.NewReader("presigned"), 9, providers.PutOptions{})
	require.NoError(t, err)

	raw, h, err := s.Presign(ctx, providers.PresignRequest{Method: "GET", Key: "a/get me", Expiry: time.Hour})
	require.NoError(t, err)
	require.Empty(t, h)
	q, err := url.Parse(raw)
	require.NoError(t, err)
	sig := q.Query().Get("sig")
	require.NotEmpty(t, sig)
	require.Equal(t, "r", q.Query().Get("sp"))
	require.Equal(t, "b", q.Query().Get("sr"))
	se, err := time.Parse(time.RFC3339, q.Query().Get("se"))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(time.Hour), se, time.Minute)
	code, body := httpGet(t, hc, raw)
	require.Equal(t, 200, code, body)
	require.Equal(t, "presigned", body)

	// A tampered signature is refused by the server (it verifies).
	code, _ = httpGet(t, hc, strings.Replace(raw, "sig="+url.QueryEscape(sig), "sig=AAAA"+url.QueryEscape(sig[4:]), 1))
	require.Equal(t, 403, code)

	// PUT with the returned headers: content type and metadata land.
	raw, h, err = s.Presign(ctx, providers.PresignRequest{Method: "PUT", Key: "up/new", Expiry: time.Minute,
		Put: providers.PutOptions{ContentType: "text/x-test", Metadata: map[string]string{"mtime": "1700000000", "x-who": "presign"}, IfNoneMatch: "*"}})
	require.NoError(t, err)
	require.Equal(t, "BlockBlob", h.Get("x-ms-blob-type"))
	req, _ := http.NewRequest(http.MethodPut, raw, strings.NewReader("put via sas"))
	req.Header = h.Clone()
	resp, err := hc.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 201, resp.StatusCode, string(b))
	st, err := s.Stat(ctx, "up/new")
	require.NoError(t, err)
	require.Equal(t, int64(11), st.Size)
	require.Equal(t, "text/x-test", st.ContentType)
	require.Equal(t, map[string]string{"mtime": "1700000000", "x-who": "presign"}, st.Metadata)
	// The same PUT again fails its If-None-Match.
	req, _ = http.NewRequest(http.MethodPut, raw, strings.NewReader("again"))
	req.Header = h.Clone()
	resp, err = hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 409, resp.StatusCode)

	// A part: Put Block through the URL, then ListParts and Complete.
	u, err := s.CreateMultipart(ctx, "mp/presigned", providers.PutOptions{})
	require.NoError(t, err)
	raw, _, err = s.Presign(ctx, providers.PresignRequest{Method: "PUT", Key: "mp/presigned", Expiry: time.Minute, UploadID: u.ID(), PartNumber: 1})
	require.NoError(t, err)
	req, _ = http.NewRequest(http.MethodPut, raw, strings.NewReader("block one"))
	resp, err = hc.Do(req)
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 201, resp.StatusCode, string(b))
	parts, err := u.ListParts(ctx)
	require.NoError(t, err)
	require.Len(t, parts, 1)
	_, err = u.Complete(ctx, parts, providers.CompleteOptions{})
	require.NoError(t, err)
	rc, _, err := s.Get(ctx, "mp/presigned", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	b, _ = io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "block one", string(b))

	// An expired URL is refused; a store opened with a SAS cannot sign.
	raw, _, err = s.Presign(ctx, providers.PresignRequest{Method: "GET", Key: "a/get me", Expiry: time.Nanosecond})
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond)
	code, _ = httpGet(t, hc, raw)
	require.Equal(t, 403, code)
	c := srv.NewContainer(t)
	sasStore := openAddr(t, srv.SASAddress(c, containerSAS(t, srv, c, time.Now().Add(time.Hour))))
	_, _, err = sasStore.Presign(ctx, providers.PresignRequest{Method: "GET", Key: "k", Expiry: time.Minute})
	require.ErrorIs(t, err, providers.ErrUnsupported)
	_, _, err = s.Presign(ctx, providers.PresignRequest{Method: "POST", Key: "k", Expiry: time.Minute})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
}

const authDetailBody = `<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.
RequestId:6f1c2b3a-801e-0041-7d2c-8d1a3c000000
Time:2026-01-05T10:00:00.0000000Z</Message><AuthenticationErrorDetail>%s</AuthenticationErrorDetail></Error>`

// Real Azure errors Azurite does not send, answered by the fault proxy
// with the service's status, x-ms-error-code and XML body, on a SAS
// store (so the request URL holds a signature that must not leak).
func TestRealServiceErrorsThroughProxy(t *testing.T) {
	srv := testenv.Azurite(t)
	c := srv.NewContainer(t)
	p, err := faulty.NewProxy("http://"+srv.HostPort(), faulty.ProxyOptions{Dialect: faulty.Azure})
	require.NoError(t, err)
	defer p.Close()
	tok := containerSAS(t, srv, c, time.Now().Add(time.Hour))
	sig, _ := url.ParseQuery(tok)
	endpoint := p.URL() + "/" + srv.Account
	addr := "az://" + srv.Account + "/" + c + "?endpoint=" + url.QueryEscape(endpoint) + "&sas=" + url.QueryEscape(tok)
	s := openAddr(t, addr)
	keyStore := openAddr(t, "az://:"+url.QueryEscape(srv.Key)+"@"+srv.Account+"/"+c+"?endpoint="+url.QueryEscape(endpoint))
	ctx := t.Context()
	_, err = s.Put(ctx, "k", strings.NewReader("v"), 1, providers.PutOptions{})
	require.NoError(t, err)

	respond := func(status int, code, body string) faulty.Rule {
		r := faulty.Rule{Action: faulty.Respond, Status: status, Code: code}
		if body != "" {
			r.Body = []byte(body)
			r.Header = http.Header{"X-Ms-Error-Code": {code}, "Content-Type": {"application/xml"}}
		} else {
			r.Message = map[string]string{
				"ServerBusy":        "The server is currently unable to receive requests. Please retry your request.",
				"ConditionNotMet":   "The condition specified using HTTP conditional header(s) is not met.",
				"BlobNotFound":      "The specified blob does not exist.",
				"ContainerNotFound": "The specified container does not exist.",
			}[code]
		}
		return r
	}
	cases := []struct {
		name string
		rule faulty.Rule
		want error
	}{
		{"ServerBusy", respond(503, "ServerBusy", ""), providers.ErrThrottled},
		{"SignedExpiryBeforeStart", respond(403, "AuthenticationFailed", strings.Replace(authDetailBody, "%s", "Signed expiry time [Mon, 05 Jan 2026 09:00:00 GMT] must be after signed start time [Mon, 05 Jan 2026 10:00:00 GMT]", 1)), providers.ErrExpired},
		{"SignatureTimeFrame", respond(403, "AuthenticationFailed", strings.Replace(authDetailBody, "%s", "Signature not valid in the specified time frame: Start [Mon, 05 Jan 2026 09:00:00 GMT] - Expiry [Mon, 05 Jan 2026 09:30:00 GMT] - Current [Mon, 05 Jan 2026 10:00:00 GMT]", 1)), providers.ErrExpired},
		{"SignatureMismatch", respond(403, "AuthenticationFailed", strings.Replace(authDetailBody, "%s", "Signature did not match. String to sign used was r\n2026-01-05T09:00:00Z\n/blob/devstoreaccount1/c/k", 1)), providers.ErrPermission},
		{"ConditionNotMet", respond(412, "ConditionNotMet", ""), providers.ErrPrecondition},
		{"BlobNotFound", respond(404, "BlobNotFound", ""), providers.ErrNotExist},
		{"ContainerNotFound", respond(404, "ContainerNotFound", ""), providers.ErrBucketNotExist},
	}
	ops := []struct {
		name string
		kind string
		run  func(st *Store) error
	}{
		{"stat", faulty.KindHead, func(st *Store) error { _, err := st.Stat(ctx, "k"); return err }},
		{"put", faulty.KindPut, func(st *Store) error {
			_, err := st.Put(ctx, "k2", strings.NewReader("v"), 1, providers.PutOptions{})
			return err
		}},
		{"list", faulty.KindList, func(st *Store) error {
			return st.List(ctx, providers.ListOptions{}, func(providers.Entry) error { return nil })
		}},
	}
	for _, c := range cases {
		for _, op := range ops {
			for _, st := range []struct {
				name string
				s    *Store
			}{{"sas", s}, {"key", keyStore}} {
				t.Run(c.name+"/"+op.name+"/"+st.name, func(t *testing.T) {
					rule := c.rule
					rule.Kind = op.kind
					require.NoError(t, p.SetRules(rule))
					defer p.SetRules()
					before := p.Injected()
					err := op.run(st.s)
					require.Greater(t, p.Injected(), before)
					want := c.want
					if want == providers.ErrExpired && op.kind == faulty.KindHead {
						// A HEAD answer has no body, so Azure cannot say the
						// credentials expired (AuthenticationErrorDetail):
						// only a SAS whose se= has passed is known to be.
						want = providers.ErrPermission
					}
					require.ErrorIs(t, err, want, "%v", err)
					var oe *providers.OpError
					require.True(t, errors.As(err, &oe))
					require.Equal(t, c.rule.Status, oe.Status)
					require.Equal(t, c.rule.Code, oe.Code)
					msg := err.Error()
					for _, secret := range []string{sig.Get("sig"), url.QueryEscape(sig.Get("sig")), srv.Key, "String to sign"} {
						require.NotContains(t, msg, secret)
					}
				})
			}
		}
	}
}
