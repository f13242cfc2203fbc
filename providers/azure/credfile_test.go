package azure

import (
	"bytes"
	"encoding/base64"
	"io"
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

// openFromFile opens container c with the credentials in the file at path,
// as `--config`/credentials_file does (credfile.UseFile), looking at the
// file once per interval.
func openFromFile(t *testing.T, srv *testenv.AzureServer, c, path string, interval time.Duration) *Store {
	t.Helper()
	a, err := providers.ParseAddress(srv.TokenAddress(c))
	require.NoError(t, err)
	require.NoError(t, credfile.UseFile(&a, path))
	s, err := Open(t.Context(), a, Options{Transport: srv.HTTPClient(), CredentialsInterval: interval})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// A store whose account key or SAS comes from a credentials file follows
// the file while it is open (a mount that runs for days across a key
// rotation or a SAS renewal): the file is looked at once per interval, and
// at once when a request is refused (then sent again with the newer
// credentials). Each step fails without the following: the first store is
// refused until the file is read again; the second keeps working only if
// it picks up each change; the copy's source carries the SAS too.
func TestCredentialsFileFollowed(t *testing.T) {
	srv := testenv.Azurite(t)
	c, other := srv.NewContainer(t), srv.NewContainer(t)
	wrongKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 64))
	for _, tc := range []struct {
		kind, good, bad, good2 string
		secrets                []string
	}{
		{kind: CredSharedKey, good: "account_key = " + srv.Key, bad: "account_key = " + wrongKey, good2: "account_key = " + srv.Key,
			secrets: []string{srv.Key, wrongKey, url.QueryEscape(srv.Key)}},
		{kind: CredSAS, good: "sas_token = " + containerSAS(t, srv, c, time.Now().Add(time.Hour)),
			bad:   "sas_token = " + containerSAS(t, srv, other, time.Now().Add(time.Hour)),
			good2: "sas_token = " + containerSAS(t, srv, c, time.Now().Add(2*time.Hour))},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			ctx := t.Context()
			for _, l := range []string{tc.good, tc.bad, tc.good2} {
				if sas, ok := strings.CutPrefix(l, "sas_token = "); ok {
					sig, _ := url.ParseQuery(sas)
					tc.secrets = append(tc.secrets, sig.Get("sig"), url.QueryEscape(sig.Get("sig")))
				}
			}
			noSecret := func(err error) {
				t.Helper()
				for _, s := range tc.secrets {
					require.NotContains(t, err.Error(), s)
				}
			}
			key := "creds/" + tc.kind

			// Opened with refused credentials and a long interval: a refusal
			// makes the store read the rewritten file at once. A request
			// without a body is sent again; one with a body fails, and the
			// next one uses the file's credentials.
			path := filepath.Join(t.TempDir(), "creds")
			testenv.WriteCredentials(t, path, tc.bad)
			s0 := openFromFile(t, srv, c, path, time.Hour)
			require.Equal(t, tc.kind, s0.CredentialKind())
			_, err := s0.Stat(ctx, key)
			require.ErrorIs(t, err, providers.ErrPermission)
			noSecret(err)
			testenv.WriteCredentials(t, path, tc.good)
			_, err = s0.Stat(ctx, key)
			require.ErrorIs(t, err, providers.ErrNotExist, "the refused Stat re-reads the file and is sent again")

			testenv.WriteCredentials(t, path, tc.bad)
			s := openFromFile(t, srv, c, path, time.Hour)
			_, err = s.Put(ctx, key, strings.NewReader("v1"), 2, providers.PutOptions{})
			require.ErrorIs(t, err, providers.ErrPermission)
			noSecret(err)
			testenv.WriteCredentials(t, path, tc.good)
			_, err = s.Put(ctx, key, strings.NewReader("v1"), 2, providers.PutOptions{})
			require.ErrorIs(t, err, providers.ErrPermission, "a refused Put is not sent again")
			info, err := s.Put(ctx, key, strings.NewReader("v1"), 2, providers.PutOptions{})
			require.NoError(t, err, "the Put after it signs with the file's credentials")
			// The container URL still carries the refused SAS: the copy's
			// source must carry the file's.
			_, err = s.Copy(ctx, key, key+".copy", providers.CopyOptions{IfMatch: info.Version})
			require.NoError(t, err)

			// A short interval: each rewrite is picked up without a refusal.
			path2 := filepath.Join(t.TempDir(), "creds")
			testenv.WriteCredentials(t, path2, tc.good)
			s2 := openFromFile(t, srv, c, path2, 20*time.Millisecond)
			_, err = s2.Stat(ctx, key)
			require.NoError(t, err)
			testenv.WriteCredentials(t, path2, tc.bad)
			time.Sleep(60 * time.Millisecond)
			_, _, err = s2.Get(ctx, key, 0, -1, providers.GetOptions{})
			require.ErrorIs(t, err, providers.ErrPermission, "the refused credentials were picked up")
			noSecret(err)
			testenv.WriteCredentials(t, path2, tc.good2)
			time.Sleep(60 * time.Millisecond)
			rc, _, err := s2.Get(ctx, key+".copy", 0, -1, providers.GetOptions{})
			require.NoError(t, err)
			b, err := io.ReadAll(rc)
			rc.Close()
			require.NoError(t, err)
			require.Equal(t, "v1", string(b))
			var keys []string
			require.NoError(t, s2.List(ctx, providers.ListOptions{Prefix: key}, func(e providers.Entry) error { keys = append(keys, e.Key); return nil }))
			require.Equal(t, []string{key, key + ".copy"}, keys)

			// Rewritten between the address's resolution and Open: the store
			// signs with what the file holds at Open, even for a first Put
			// (which a refusal would not send again).
			path3 := filepath.Join(t.TempDir(), "creds")
			testenv.WriteCredentials(t, path3, tc.bad)
			a, err := providers.ParseAddress(srv.TokenAddress(c))
			require.NoError(t, err)
			require.NoError(t, credfile.UseFile(&a, path3))
			testenv.WriteCredentials(t, path3, tc.good)
			s3, err := Open(ctx, a, Options{Transport: srv.HTTPClient(), CredentialsInterval: time.Hour})
			require.NoError(t, err)
			defer s3.Close()
			_, err = s3.Put(ctx, key+".3", strings.NewReader("v3"), 2, providers.PutOptions{})
			require.NoError(t, err)
		})
	}
}
