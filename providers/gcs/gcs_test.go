package gcs

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
)

// newTestStore opens a store on a fresh bucket of the shared fake-gcs-server,
// through the address form users paste (?endpoint=, no credentials).
func newTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	srv := testenv.FakeGCS(t)
	b := srv.NewBucket(t)
	a, err := providers.ParseAddress(srv.Address(b))
	require.NoError(t, err)
	s, err := Open(t.Context(), a, DefaultOptions())
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, b
}

func TestUnauthenticatedEndpoint(t *testing.T) {
	s, _ := newTestStore(t)
	require.Equal(t, CredentialNone, s.CredentialKind())
	ctx := t.Context()
	info, err := s.Put(ctx, "k", strings.NewReader("hello"), 5, providers.PutOptions{})
	require.NoError(t, err)
	st, err := s.Stat(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, info.Version, st.Version)
}

func TestOpenerReturnsPath(t *testing.T) {
	srv := testenv.FakeGCS(t)
	b := srv.NewBucket(t)
	a, err := providers.ParseAddress("gs://" + b + "/team/sub?endpoint=" + srv.URL)
	require.NoError(t, err)
	st, prefix, err := Opener(t.Context(), a)
	require.NoError(t, err)
	require.Equal(t, "team/sub", prefix)
	require.Equal(t, CredentialNone, st.(*Store).CredentialKind())
}

func TestMalformedKeyIsClearAndSecret(t *testing.T) {
	const secret = "-----BEGIN PRIVATE KEY-----\nTOPSECRETnotbase64!!\n-----END PRIVATE KEY-----\n"
	for _, key := range []string{"TOPSECRET-not-a-pem", secret} {
		raw := "gs://sa@proj.iam.gserviceaccount.com:" + url.QueryEscape(key) + "@bucket-x?endpoint=http://127.0.0.1:1"
		a, err := providers.ParseAddress(raw)
		require.NoError(t, err)
		_, err = Open(context.Background(), a, DefaultOptions())
		require.Error(t, err)
		require.ErrorIs(t, err, providers.ErrPermission)
		require.ErrorIs(t, err, providers.ErrInvalidAddress)
		require.NotContains(t, err.Error(), "TOPSECRET")
		require.Contains(t, err.Error(), "private key")
	}
}

func TestValidKeyIsKeyCredentials(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	a, err := providers.ParseAddress("gs://sa@proj.iam.gserviceaccount.com:" + url.QueryEscape(string(pemKey)) + "@bucket-x?endpoint=http://127.0.0.1:1")
	require.NoError(t, err)
	// The token URL is loopback port 1: nothing leaves the machine.
	s, err := Open(context.Background(), a, Options{TokenURL: "http://127.0.0.1:1/token"})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, CredentialKey, s.CredentialKind())
	_, err = s.Stat(t.Context(), "k")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "PRIVATE KEY")
}

func TestMtimeAlsoWrittenForGcloud(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := t.Context()
	_, err := s.Put(ctx, "m", bytes.NewReader([]byte("x")), 1, providers.PutOptions{Metadata: map[string]string{"mtime": "1700000000.5"}})
	require.NoError(t, err)
	attrs, err := s.object("m").Attrs(ctx)
	require.NoError(t, err)
	require.Equal(t, "1700000000", attrs.Metadata[reservedMtime])
	st, err := s.Stat(ctx, "m")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"mtime": "1700000000.5"}, st.Metadata)
}

func TestMissingBucket(t *testing.T) {
	srv := testenv.FakeGCS(t)
	a, err := providers.ParseAddress(srv.Address("no-such-bucket"))
	require.NoError(t, err)
	s, err := Open(t.Context(), a, DefaultOptions())
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Stat(t.Context(), "k")
	require.Error(t, err)
	err = s.List(t.Context(), providers.ListOptions{}, func(providers.Entry) error { return nil })
	require.ErrorIs(t, err, providers.ErrBucketNotExist)
}

func TestUnreachable(t *testing.T) {
	a, err := providers.ParseAddress("gs://bucket-x?endpoint=http://127.0.0.1:1")
	require.NoError(t, err)
	s, err := Open(t.Context(), a, DefaultOptions())
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Stat(t.Context(), "k")
	require.ErrorIs(t, err, providers.ErrUnavailable)
}
