package gcs

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/credfile"
)

// issuerTokenServer is a loopback OAuth2 token endpoint whose token names
// the service account that asked ("tok-" + the JWT assertion's iss), so a
// request's Authorization header tells which key it was signed with.
func issuerTokenServer(t *testing.T) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.FormValue("assertion"), ".")
		if len(parts) != 3 {
			http.Error(w, "no assertion", http.StatusBadRequest)
			return
		}
		body, err := base64.RawURLEncoding.DecodeString(parts[1])
		var claims struct{ Iss string }
		if err != nil || json.Unmarshal(body, &claims) != nil {
			http.Error(w, "bad assertion", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "tok-" + claims.Iss, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(ts.Close)
	return ts
}

// writeKeyFile replaces the credentials file at path with a service
// account and its key.
func writeKeyFile(t *testing.T, path, email, pemKey string) {
	t.Helper()
	testenv.WriteCredentials(t, path, "service_account = "+email, "private_key = "+strings.ReplaceAll(pemKey, "\n", `\n`))
}

// A store whose service-account key comes from a credentials file follows
// the file while it is open: after a rotation its requests carry a token of
// the new key (the old key's token, valid for an hour, is not used again)
// and Presign signs with it; a key that does not parse keeps the last good
// one. Without the following every request would keep the first token.
func TestCredentialsFileFollowed(t *testing.T) {
	srv := testenv.FakeGCS(t)
	b := srv.NewBucket(t)
	ts := issuerTokenServer(t)
	p, seen := authRecorder(t, srv)
	const sa1, sa2 = "first@proj.iam.gserviceaccount.com", "second@proj.iam.gserviceaccount.com"
	key1, key2 := testKeyPEM(t), testKeyPEM(t)
	path := filepath.Join(t.TempDir(), "creds")
	writeKeyFile(t, path, sa1, key1)

	a, err := providers.ParseAddress("gs://" + b + "?endpoint=" + url.QueryEscape(p.URL()))
	require.NoError(t, err)
	require.NoError(t, credfile.UseFile(&a, path))
	s, err := Open(t.Context(), a, Options{TokenURL: ts.URL + "/token", CredentialsInterval: 20 * time.Millisecond, MinPartSize: 1})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, CredentialKey, s.CredentialKind())
	ctx := t.Context()
	last := func() string { h := seen(); require.NotEmpty(t, h); return h[len(h)-1] }
	credentialOf := func(u string) string {
		pu, err := url.Parse(u)
		require.NoError(t, err)
		return pu.Query().Get("X-Goog-Credential")
	}

	_, err = s.Put(ctx, "k", strings.NewReader("hi"), 2, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, "Bearer tok-"+sa1, last())
	u, _, err := s.Presign(ctx, providers.PresignRequest{Method: http.MethodGet, Key: "k", Expiry: time.Minute})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(credentialOf(u), sa1+"/"), "signed by the first key")

	writeKeyFile(t, path, sa2, key2)
	time.Sleep(60 * time.Millisecond)
	_, err = s.Stat(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "Bearer tok-"+sa2, last(), "the rotated key's token")
	u, _, err = s.Presign(ctx, providers.PresignRequest{Method: http.MethodGet, Key: "k", Expiry: time.Minute})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(credentialOf(u), sa2+"/"), "signed by the rotated key")

	// A key that does not parse (a half-written file): the last good one
	// stays, its account too (the file's sa1 would show in the token).
	writeKeyFile(t, path, sa1, "-----BEGIN PRIVATE KEY-----\nnot a key\n")
	time.Sleep(60 * time.Millisecond)
	_, err = s.Stat(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "Bearer tok-"+sa2, last())
	// and the file is still followed: the next good key is taken.
	writeKeyFile(t, path, sa1, key1)
	time.Sleep(60 * time.Millisecond)
	_, err = s.Stat(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "Bearer tok-"+sa1, last(), "a good key after a bad one")
}
