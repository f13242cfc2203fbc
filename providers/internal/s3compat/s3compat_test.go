package s3compat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

func TestExactReader(t *testing.T) {
	for _, tc := range []struct {
		name     string
		data     string
		size     int64
		mismatch bool
	}{
		{"exact", "abcd", 4, false},
		{"short", "abc", 4, true},
		{"long", "abcde", 4, true},
		{"empty", "", 0, false},
		{"long-empty", "a", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			er, body, err := UploadBody("put", "k", iotest.OneByteReader(strings.NewReader(tc.data)), tc.size, strings.NewReader(""))
			if tc.size == 0 && tc.mismatch {
				require.ErrorIs(t, err, providers.ErrSizeMismatch)
				return
			}
			require.NoError(t, err)
			got, rerr := io.ReadAll(body)
			if tc.mismatch {
				require.Error(t, rerr)
				require.Less(t, int64(len(got)), tc.size, "the last byte must not leave")
				require.ErrorIs(t, er.Mismatch("put", "k"), providers.ErrSizeMismatch)
				return
			}
			require.NoError(t, rerr)
			require.Equal(t, tc.data, string(got))
			require.NoError(t, er.Mismatch("put", "k"))
		})
	}
}

func TestCheckKey(t *testing.T) {
	for _, tc := range []struct {
		key     string
		oddKeys bool
		ok      bool
	}{
		{"a/b", false, true},
		{"a/b/", false, true},
		{"", true, false},
		{strings.Repeat("x", MaxKeyLength), false, true},
		{strings.Repeat("x", MaxKeyLength+1), true, false},
		{"bad\xff", true, false},
		{"a//b", false, false},
		{"a//b", true, true},
		{"/a", false, false},
		{"a/./b", false, false},
		{"a/..", false, false},
	} {
		err := CheckKey("stat", tc.key, tc.oddKeys)
		if tc.ok {
			require.NoError(t, err, "%q", tc.key)
		} else {
			require.ErrorIs(t, err, providers.ErrInvalidKey, "%q", tc.key)
		}
	}
	require.NoError(t, CheckIfNoneMatch("put", "k", "*"))
	require.ErrorIs(t, CheckIfNoneMatch("put", "k", "abc"), providers.ErrInvalidArgument)
}

func TestMapError(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		err    error
		want   error
	}{
		{404, "NoSuchKey", errors.New("x"), providers.ErrNotExist},
		{404, "", errors.New("x"), providers.ErrNotExist},
		{503, "SlowDownRead", errors.New("x"), providers.ErrThrottled},
		{400, "ThrottlingException", errors.New("x"), providers.ErrThrottled},
		{403, "AccountProblem", errors.New("x"), providers.ErrPermission},
		{0, "", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, providers.ErrUnavailable},
		{0, "", io.ErrUnexpectedEOF, providers.ErrUnavailable},
		{0, "", errors.New("x"), nil},
	} {
		err := MapError("get", "k", tc.err, tc.status, tc.code)
		var oe *providers.OpError
		require.ErrorAs(t, err, &oe)
		require.Equal(t, tc.want, oe.Kind, "%d %s %v", tc.status, tc.code, tc.err)
		require.Equal(t, tc.status, oe.Status)
		require.Equal(t, tc.code, oe.Code)
	}
	err := MapError("get", "k", fmt.Errorf("req: %w", context.Canceled), 503, "SlowDown")
	var oe *providers.OpError
	require.ErrorAs(t, err, &oe)
	require.Nil(t, oe.Kind)
	require.Zero(t, oe.Status)
	require.ErrorIs(t, err, context.Canceled)
	require.Same(t, err, MapError("list", "", err, 0, ""), "an OpError is kept")
	require.ErrorIs(t, UploadError(MapError("abort", "k", errors.New("x"), 404, "")), providers.ErrUploadNotFound)
}

func TestList(t *testing.T) {
	e := func(k string) providers.Entry { return providers.Entry{ObjectInfo: providers.ObjectInfo{Key: k}} }
	p := func(k string) providers.Entry {
		return providers.Entry{ObjectInfo: providers.ObjectInfo{Key: k}, IsPrefix: true}
	}
	pages := map[string]Page{
		"":   {Objects: []providers.Entry{e("a"), e("b-"), e("c")}, Prefixes: []providers.Entry{p("b/")}, Next: "t1"},
		"t1": {Objects: []providers.Entry{e("c"), e("d")}, Prefixes: []providers.Entry{p("c/")}},
	}
	var firstStartAfter []string
	page := func(_ context.Context, startAfter, token string) (Page, error) {
		firstStartAfter = append(firstStartAfter, startAfter)
		return pages[token], nil
	}
	var got []string
	require.NoError(t, List(context.Background(), providers.ListOptions{StartAfter: "a"}, page, func(en providers.Entry) error {
		got = append(got, en.Key)
		return nil
	}))
	require.Equal(t, []string{"b-", "b/", "c", "c/", "d"}, got, "merged, StartAfter and repeats dropped")
	require.Equal(t, []string{"a", ""}, firstStartAfter, "StartAfter goes with the first page only")
}

func TestEmptyRead(t *testing.T) {
	head := func() (providers.ObjectInfo, error) { return providers.ObjectInfo{Size: 5}, nil }
	refused := providers.NewOpError("get", "k", providers.ErrInvalidRange, errors.New("416"))
	for _, tc := range []struct {
		off     int64
		refused error
		want    error
	}{{0, nil, nil}, {5, nil, nil}, {6, nil, providers.ErrInvalidRange}, {5, refused, nil}, {6, refused, providers.ErrInvalidRange}} {
		rc, _, err := EmptyRead("k", tc.off, head, tc.refused)
		if tc.want != nil {
			require.ErrorIs(t, err, tc.want)
			continue
		}
		require.NoError(t, err)
		b, _ := io.ReadAll(rc)
		require.Empty(t, b)
	}
	require.Equal(t, "", RangeHeader(0, -1))
	require.Equal(t, "bytes=3-", RangeHeader(3, -1))
	require.Equal(t, "bytes=3-4", RangeHeader(3, 2))
	n, ok := RangeTotal("bytes 0-4/11")
	require.True(t, ok)
	require.Equal(t, int64(11), n)
	_, ok = RangeTotal("bytes */*")
	require.False(t, ok)
}

func TestCopyPartSize(t *testing.T) {
	require.Equal(t, int64(defaultCopyPartSize), CopyPartSize(Options{}, 1<<30))
	require.Equal(t, int64(MinPartSize), CopyPartSize(Options{CopyPartSize: 1}, 1<<30))
	require.Equal(t, int64((MaxObjectSize+MaxParts-1)/MaxParts), CopyPartSize(Options{}, MaxObjectSize), "10,000 parts at most")
	require.Equal(t, int64(MaxPartSize), CopyPartSize(Options{CopyPartSize: 2 * MaxPartSize}, 1<<30))
	require.False(t, CopyByParts(Options{}, MaxPutSize))
	require.True(t, CopyByParts(Options{}, MaxPutSize+1))
	require.True(t, CopyByParts(Options{MultipartCopyThreshold: 10}, 11))
}

func TestCheckComplete(t *testing.T) {
	u := &UploadState{ObjectKey: "k"}
	total, known, err := u.CheckComplete([]providers.Part{{Number: 1, Size: 5}, {Number: 3, Size: 2}}, providers.CompleteOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(7), total)
	require.True(t, known)
	_, known, err = u.CheckComplete([]providers.Part{{Number: 1}, {Number: 2, Size: 2}}, providers.CompleteOptions{})
	require.NoError(t, err)
	require.False(t, known)
	_, _, err = u.CheckComplete([]providers.Part{{Number: 2}, {Number: 2}}, providers.CompleteOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, _, err = u.CheckComplete(nil, providers.CompleteOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	u.CRC = true
	require.ErrorIs(t, u.CheckPart(1, 1, providers.PartOptions{}), providers.ErrInvalidArgument)
	require.ErrorIs(t, u.CheckPart(MaxParts+1, 1, providers.PartOptions{Checksum: providers.CRC32C(1)}), providers.ErrInvalidArgument)
	require.NoError(t, u.CheckPart(1, 1, providers.PartOptions{Checksum: providers.CRC32C(1)}))
}

func TestResolveEndpoint(t *testing.T) {
	t.Setenv(RegionEnv, "")
	for _, tc := range []struct {
		addr            string
		url, hostport   string
		tls             bool
		region          string
		path, aws, cw13 bool
	}{
		{"s3://K:S@minio.local:9000/bkt?tls=false", "http://minio.local:9000", "minio.local:9000", false, "", true, false, false},
		{"s3://K:S@s3.eu-west-3.amazonaws.com/bkt", "https://s3.eu-west-3.amazonaws.com", "s3.eu-west-3.amazonaws.com", true, "eu-west-3", false, true, false},
		{"s3://bucket/path?region=ap-south-1", "", "", true, "ap-south-1", false, true, false},
		{"cw://K:S@bucket", "https://cwobject.com", "cwobject.com", true, "", false, false, true},
		{"cw://K:S@cwlota.com/bucket?tls=false", "http://cwlota.com", "cwlota.com", false, "", false, false, false},
		{"cw://K:S@bucket?endpoint=https://us-east-04a.cwobject.com", "https://us-east-04a.cwobject.com", "us-east-04a.cwobject.com", true, "", false, false, true},
		{"s3://K:S@bucket?endpoint=http://127.0.0.1:9000/", "http://127.0.0.1:9000", "127.0.0.1:9000", false, "", true, false, false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			a, err := providers.ParseAddress(tc.addr)
			require.NoError(t, err)
			ep, err := ResolveEndpoint(a, nil)
			require.NoError(t, err)
			require.Equal(t, tc.url, ep.URL)
			require.Equal(t, tc.hostport, ep.HostPort)
			require.Equal(t, tc.tls, ep.TLS)
			require.Equal(t, tc.region, ep.Region)
			require.Equal(t, tc.path, ep.PathStyle)
			require.Equal(t, tc.aws, ep.AWS)
			require.Equal(t, tc.cw13, ep.CoreWeave)
			require.Equal(t, tc.aws, Capabilities(Options{}, ep.AWS).OddKeys)
			yes := true
			ep, err = ResolveEndpoint(a, &yes)
			require.NoError(t, err)
			require.True(t, ep.PathStyle)
		})
	}
}

func TestBuildTransportCABundle(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(CABundleEnv, filepath.Join(dir, "missing.pem"))
	_, err := BuildTransport(Options{}, Endpoint{})
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a certificate"), 0o600))
	t.Setenv(CABundleEnv, filepath.Join(dir, "junk.pem"))
	_, err = BuildTransport(Options{}, Endpoint{})
	require.ErrorContains(t, err, "holds no PEM certificate")
	t.Setenv(CABundleEnv, "")
	_, err = BuildTransport(Options{CACertsPEM: []byte("junk")}, Endpoint{})
	require.ErrorContains(t, err, "CACertsPEM")
	tr, err := BuildTransport(Options{}, Endpoint{CoreWeave: true})
	require.NoError(t, err)
	require.Equal(t, uint16(0x0304), tr.TLSClientConfig.MinVersion)
}
