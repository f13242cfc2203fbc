package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/cmd/internal/config"
	"github.com/byobfs/byob/providers"
)

// One line registers a backend; the registry picks among those serving a
// scheme, and names what an address opens.
func TestRegistryPicksBackend(t *testing.T) {
	r := newRegistry()
	for in, want := range map[string]string{
		"s3://bucket1/x":                               "s3 (aws-sdk-go-v2)",
		"s3://K:S@minio.internal:9000/bucket1":         "s3 (minio-go)",
		"s3://K:S@minio.internal:9000/bucket1?sdk=aws": "s3 (aws-sdk-go-v2)",
		"cw://K:S@cwobject.com/bucket1":                "CoreWeave (aws-sdk-go-v2, virtual-hosted style)",
		"gs://bucket1":                                 "gcs (cloud.google.com/go/storage)",
		"az://acct/cont":                               "azure (azblob)",
		"file:///tmp/x":                                "local directory",
	} {
		a, err := providers.ParseAddress(in)
		require.NoError(t, err, in)
		require.Equal(t, want, r.Describe(a), in)
	}
	require.Equal(t, []string{"az", "cw", "file", "gs", "s3"}, r.Schemes())
}

func TestDescribeExitCodes(t *testing.T) {
	cases := []struct {
		err  error
		code int
		want string
	}{
		{usageError{errors.New("bad flag")}, exitUsage, "see --help"},
		{fmt.Errorf("x: %w", providers.ErrInvalidAddress), exitUsage, "address forms"},
		{fmt.Errorf("%w: nope", config.ErrConfig), exitUsage, "nope"},
		{partialError{failed: 1, total: 3, first: errors.New("e")}, exitPartial, "1 of 3"},
		{providers.NewOpError("get", "k", providers.ErrPermission, errors.New("403")), exitFailure, "check the access key"},
		{providers.NewOpError("list", "", providers.ErrUnavailable, errors.New("refused")), exitFailure, "check the endpoint"},
		{providers.NewOpError("list", "", providers.ErrBucketNotExist, nil), exitFailure, "check the bucket name"},
		{context.Canceled, exitFailure, "interrupted"},
		{errors.New(`Get "https://h/b/k?X-Amz-Signature=SIGSECRET123": EOF`), exitFailure, "?***"},
	}
	for _, c := range cases {
		msg, code := describe(c.err)
		require.Equal(t, c.code, code, c.err.Error())
		require.Contains(t, msg, c.want)
		require.NotContains(t, msg, "SIGSECRET123")
	}
}

func TestScrubWriter(t *testing.T) {
	var buf bytes.Buffer
	w := newScrubWriter(&buf)
	w.add("abc") // too short to scrub safely
	w.add("se/cr+et/KEY")
	n, err := w.Write([]byte("error: se/cr+et/KEY was refused; abc\n"))
	require.NoError(t, err)
	require.Equal(t, len("error: se/cr+et/KEY was refused; abc\n"), n)
	require.Equal(t, "error: *** was refused; abc\n", buf.String())
}

// run() end to end in-process: a malformed address exits 2 with one line and
// never echoes the secret.
func TestRunMalformedAddress(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"ls", "s3://K:" + "Top/Secret+Value%zz@host:9000"}, &out, &errb)
	require.Equal(t, exitUsage, code)
	require.Equal(t, 1, strings.Count(errb.String(), "\n"), errb.String())
	require.NotContains(t, errb.String(), "Top/Secret")
}

func TestMountHelperArgs(t *testing.T) {
	args, ok, err := mountHelperArgs("/sbin/mount.fuse.byob", []string{"s3://bkt/p", "/mnt/team", "-o", "rw,ro,allow_other,cache_size=20GiB,write_back,nofail,_netdev,config=/etc/byob.toml,x-systemd.automount"})
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []string{"--config", "/etc/byob.toml", "mount", "--daemon", "--read-only", "--allow-other", "--cache-size=20GiB", "--write-back", "s3://bkt/p", "/mnt/team"}, args)
	_, ok, _ = mountHelperArgs("/usr/bin/byob", nil)
	require.False(t, ok)
	_, ok, err = mountHelperArgs("mount.byob", []string{"only-one"})
	require.True(t, ok)
	require.Error(t, err)
}
