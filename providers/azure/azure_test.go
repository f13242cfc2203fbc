package azure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func openAddr(t *testing.T, addr string) *Store {
	t.Helper()
	a, err := providers.ParseAddress(addr)
	require.NoError(t, err)
	srv := testenv.Azurite(t)
	s, err := Open(t.Context(), a, Options{Transport: srv.HTTPClient()})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func newTestStore(t *testing.T) *Store {
	t.Helper()
	srv := testenv.Azurite(t)
	s := openAddr(t, srv.Address(srv.NewContainer(t)))
	require.Equal(t, CredSharedKey, s.CredentialKind())
	return s
}

func TestOpener(t *testing.T) {
	srv := testenv.Azurite(t)
	c := srv.NewContainer(t)
	a, err := providers.ParseAddress(srv.Address(c) + "")
	require.NoError(t, err)
	a = a.WithPath("sub/dir")
	st, prefix, err := Opener(t.Context(), a)
	require.NoError(t, err)
	require.Equal(t, "sub/dir", prefix)
	require.Equal(t, CredSharedKey, st.(*Store).CredentialKind())
}

func TestWrongKey(t *testing.T) {
	srv := testenv.Azurite(t)
	c := srv.NewContainer(t)
	wrong := "d3JvbmdrZXl3cm9uZ2tleXdyb25na2V5d3Jvbmdrd3Jvbmdrd3Jvbmc9PT0+/A=="
	s := openAddr(t, strings.Replace(srv.Address(c), url.QueryEscape(srv.Key), url.QueryEscape(wrong), 1))
	_, err := s.Put(t.Context(), "k", strings.NewReader("x"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrPermission)
	_, err2 := s.Stat(t.Context(), "k")
	require.Error(t, err2)
	err3 := s.List(t.Context(), providers.ListOptions{}, func(providers.Entry) error { return nil })
	require.ErrorIs(t, err3, providers.ErrPermission)
	for _, e := range []error{err, err2, err3} {
		for _, secret := range []string{wrong, url.QueryEscape(wrong), srv.Key} {
			require.NotContains(t, e.Error(), secret)
		}
	}
	var oe *providers.OpError
	require.True(t, errors.As(err, &oe))
	require.Equal(t, 403, oe.Status)
}

func containerSAS(t *testing.T, srv *testenv.AzureServer, c string, expiry time.Time) string {
	t.Helper()
	cred, err := service.NewSharedKeyCredential(srv.Account, srv.Key)
	require.NoError(t, err)
	perms := sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}
	q, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     time.Now().Add(-time.Hour).UTC(),
		ExpiryTime:    expiry.UTC(),
		Permissions:   perms.String(),
		ContainerName: c,
	}.SignWithSharedKey(cred)
	require.NoError(t, err)
	return q.Encode()
}

func TestSAS(t *testing.T) {
	srv := testenv.Azurite(t)
	c := srv.NewContainer(t)
	tok := containerSAS(t, srv, c, time.Now().Add(time.Hour))
	sig, err := url.ParseQuery(tok)
	require.NoError(t, err)
	s := openAddr(t, srv.SASAddress(c, tok))
	require.Equal(t, CredSAS, s.CredentialKind())
	ctx := t.Context()

	info, err := s.Put(ctx, "a/b", strings.NewReader("hello"), 5, providers.PutOptions{Metadata: map[string]string{"x-k": "v"}})
	require.NoError(t, err)
	rc, got, err := s.Get(ctx, "a/b", 0, -1, providers.GetOptions{IfMatch: info.Version})
	require.NoError(t, err)
	b, _ := io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "hello", string(b))
	require.Equal(t, info.Version, got.Version)
	_, err = s.Copy(ctx, "a/b", "a/c", providers.CopyOptions{})
	require.NoError(t, err)
	var keys []string
	require.NoError(t, s.List(ctx, providers.ListOptions{}, func(e providers.Entry) error { keys = append(keys, e.Key); return nil }))
	require.Equal(t, []string{"a/b", "a/c"}, keys)

	// Errors through a SAS never show its signature.
	_, _, err = s.Get(ctx, "a/b", 0, -1, providers.GetOptions{IfMatch: `"0x0"`})
	require.ErrorIs(t, err, providers.ErrPrecondition)
	_, err = s.Stat(ctx, "missing")
	require.ErrorIs(t, err, providers.ErrNotExist)
	for _, e := range []error{err} {
		require.NotContains(t, e.Error(), sig.Get("sig"))
		require.NotContains(t, e.Error(), url.QueryEscape(sig.Get("sig")))
	}

	// A SAS for another container is refused; its signature does not show.
	other := srv.NewContainer(t)
	bad := openAddr(t, srv.SASAddress(c, containerSAS(t, srv, other, time.Now().Add(time.Hour))))
	_, err = bad.Put(ctx, "x", strings.NewReader("x"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrPermission)
	require.NotContains(t, err.Error(), "sig=")

	// An expired SAS is ErrExpired (or at least ErrPermission on servers
	// that do not say why).
	exp := containerSAS(t, srv, c, time.Now().Add(-time.Minute))
	expSig, _ := url.ParseQuery(exp)
	es := openAddr(t, srv.SASAddress(c, exp))
	_, err = es.Stat(ctx, "a/b")
	require.Error(t, err)
	require.ErrorIs(t, err, providers.ErrExpired)
	t.Logf("expired SAS: %v", err)
	require.NotContains(t, err.Error(), expSig.Get("sig"))
}

func TestUnreachable(t *testing.T) {
	s := openAddr(t, "az://:"+url.QueryEscape(testenv.AzuriteKey)+"@devstoreaccount1/c1x?endpoint="+url.QueryEscape("http://127.0.0.1:1/devstoreaccount1"))
	_, err := s.Stat(t.Context(), "k")
	require.ErrorIs(t, err, providers.ErrUnavailable)
	require.NotContains(t, err.Error(), testenv.AzuriteKey)
}

func TestMissingContainer(t *testing.T) {
	srv := testenv.Azurite(t)
	s := openAddr(t, srv.Address("nosuchcontainer"))
	_, err := s.Put(t.Context(), "k", strings.NewReader("x"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrBucketNotExist)
}

func TestReorder(t *testing.T) {
	// Names in UTF-16 order, as Azurite sends them, split over pages.
	names := []string{"a", "b\U0001F600", "b\U0001F600x", "b\uE000", "b\uFFFD", "c", "\U0001F600", "\uFFFD"}
	for _, size := range []int{1, 2, 3, len(names)} {
		var out []string
		r := &reorder{emit: func(e providers.Entry) error { out = append(out, e.Key); return nil }}
		page := func(ns []string) {
			var es []providers.Entry
			for _, n := range ns {
				es = append(es, providers.Entry{ObjectInfo: providers.ObjectInfo{Key: n}})
			}
			require.NoError(t, r.page(es))
		}
		for i := 0; i < len(names); i += size {
			page(names[i:min(i+size, len(names))])
		}
		require.NoError(t, r.flush())
		require.Equal(t, []string{"a", "b\uE000", "b\uFFFD", "b\U0001F600", "b\U0001F600x", "c", "\uFFFD", "\U0001F600"}, out)
	}
}

func TestPutLargeStaged(t *testing.T) {
	srv := testenv.Azurite(t)
	a, err := providers.ParseAddress(srv.Address(srv.NewContainer(t)))
	require.NoError(t, err)
	s, err := Open(context.Background(), a, Options{Transport: srv.HTTPClient(), SinglePutSize: 1000})
	require.NoError(t, err)
	data := bytes.Repeat([]byte("0123456789"), 350)
	info, err := s.Put(t.Context(), "big", bytes.NewReader(data), int64(len(data)), providers.PutOptions{Metadata: map[string]string{"k": "v"}})
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), info.Size)
	rc, _, err := s.Get(t.Context(), "big", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	got, _ := io.ReadAll(rc)
	rc.Close()
	require.Equal(t, data, got)
	_, err = s.Put(t.Context(), "big2", bytes.NewReader(data[:2500]), int64(len(data)), providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrSizeMismatch)
	_, err = s.Stat(t.Context(), "big2")
	require.ErrorIs(t, err, providers.ErrNotExist)
}
