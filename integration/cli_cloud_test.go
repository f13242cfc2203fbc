package integration

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/seed"
	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/azure"
	"github.com/byobfs/byob/providers/gcs"
)

// cloudCase is one emulated cloud: where its seeded team lives and how to
// name a key in it.
type cloudCase struct {
	name string
	sum  seed.Summary
	// addr returns the address of path ("" for the bucket root) in the
	// seeded bucket or container.
	addr func(path string) string
}

func seedStore(t *testing.T, open providers.Opener, addr string) seed.Summary {
	t.Helper()
	a, err := providers.ParseAddress(addr)
	require.NoError(t, err)
	st, _, err := open(context.Background(), a)
	require.NoError(t, err)
	if c, ok := st.(providers.Closer); ok {
		defer c.Close()
	}
	o := seed.DefaultOptions()
	o.Runs = 2
	sum, err := seed.Team(context.Background(), st, "wandb", o)
	require.NoError(t, err)
	return sum
}

// withPath puts path after the bucket of an address "SCHEME://.../BUCKET?QUERY".
func withPath(addr, bucket, path string) string {
	if path == "" {
		return addr
	}
	return strings.Replace(addr, "/"+bucket+"?", "/"+bucket+"/"+path+"?", 1)
}

func cloudCases(t *testing.T) []cloudCase {
	gsrv := testenv.FakeGCS(t)
	bucket := gsrv.NewBucket(t)
	gaddr := gsrv.Address(bucket)
	asrv := testenv.Azurite(t)
	cont := asrv.NewContainer(t)
	aaddr := asrv.Address(cont)
	return []cloudCase{
		{name: "gs", sum: seedStore(t, gcs.Opener, gaddr), addr: func(p string) string { return withPath(gaddr, bucket, p) }},
		{name: "az", sum: seedStore(t, azure.Opener, aaddr), addr: func(p string) string { return withPath(aaddr, cont, p) }},
	}
}

// ls, stat, cat and cp through the built binary on gs:// (fake-gcs-server)
// and az:// (Azurite) addresses reached with ?endpoint=.
func TestCLICloud(t *testing.T) {
	for _, c := range cloudCases(t) {
		t.Run(c.name, func(t *testing.T) {
			r := byob(t, nil, "ls", c.addr("wandb/"))
			require.Equal(t, 0, r.code, r)
			require.Equal(t, "acme-ml/\nwandb_artifacts/\n", r.stdout)

			r = byob(t, nil, "ls", "-R", "--json", c.addr("wandb/"))
			require.Equal(t, 0, r.code, r)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			require.Len(t, lines, len(c.sum.Objects))
			var total, want int64
			for _, b := range c.sum.Objects {
				want += int64(len(b))
			}
			for _, l := range lines {
				var e struct {
					Key  string `json:"key"`
					Size int64  `json:"size"`
				}
				require.NoError(t, json.Unmarshal([]byte(l), &e))
				data, ok := c.sum.Objects[e.Key]
				if !ok {
					data, ok = c.sum.Objects["wandb/"+e.Key]
				}
				require.True(t, ok, "unexpected key %q", e.Key)
				require.Equal(t, int64(len(data)), e.Size, e.Key)
				total += e.Size
			}
			require.Equal(t, want, total)

			key := c.sum.Keys()[0]
			r = byob(t, nil, "stat", c.addr(key))
			require.Equal(t, 0, r.code, r)
			require.Contains(t, r.stdout, key[strings.LastIndex(key, "/")+1:])
			r = byob(t, nil, "cat", c.addr(key))
			require.Equal(t, 0, r.code, r)
			require.Equal(t, string(c.sum.Objects[key]), r.stdout)

			// local -> bucket -> local, 3 MiB: bytes identical.
			data := make([]byte, 3<<20+17)
			rand.Read(data)
			src := filepath.Join(t.TempDir(), "ckpt.bin")
			require.NoError(t, os.WriteFile(src, data, 0o644))
			dst := c.addr("up/ckpt.bin")
			r = byob(t, nil, "cp", src, dst)
			require.Equal(t, 0, r.code, r)
			r = byob(t, nil, "stat", dst)
			require.Equal(t, 0, r.code, r)
			require.Contains(t, r.stdout, "3145745")
			out := filepath.Join(t.TempDir(), "back.bin")
			r = byob(t, nil, "cp", dst, out)
			require.Equal(t, 0, r.code, r)
			got, err := os.ReadFile(out)
			require.NoError(t, err)
			require.Equal(t, sha(data), sha(got))
		})
	}
}

// Bad input: one clear line on stderr, a non-zero exit, and no secret
// (private key, account key, SAS signature) in anything printed.
func TestCLICloudBadInput(t *testing.T) {
	gsrv := testenv.FakeGCS(t)
	bucket := gsrv.NewBucket(t)
	asrv := testenv.Azurite(t)
	cont := asrv.NewContainer(t)

	// A key cut short: a PEM block whose body is not a key.
	badPEM := "-----BEGIN PRIVATE KEY-----\nTOPSECRETMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
	wrongKey := "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXkxMjM0NTY3OA=="

	cred, err := service.NewSharedKeyCredential(asrv.Account, asrv.Key)
	require.NoError(t, err)
	perms := sas.ContainerPermissions{Read: true, List: true}
	q, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, StartTime: time.Now().Add(-2 * time.Hour).UTC(), ExpiryTime: time.Now().Add(-time.Hour).UTC(),
		Permissions: perms.String(), ContainerName: cont,
	}.SignWithSharedKey(cred)
	require.NoError(t, err)
	expiredSAS := q.Encode()
	sig := q.Signature()

	cases := []struct {
		name, addr string
		want       string // in the one stderr line
		secrets    []string
	}{
		{"malformed private key", "gs://sa@proj.iam.gserviceaccount.com:" + url.QueryEscape(badPEM) + "@" + bucket + "?endpoint=" + gsrv.URL,
			"private key", []string{"TOPSECRET", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"}},
		{"key that is not PEM", "gs://sa@proj.iam.gserviceaccount.com:" + url.QueryEscape("TOPSECRET-not-a-key") + "@" + bucket + "?endpoint=" + gsrv.URL,
			"private key", []string{"TOPSECRET"}},
		{"wrong account key", strings.Replace(asrv.Address(cont), url.QueryEscape(asrv.Key), url.QueryEscape(wrongKey), 1),
			"permission denied", []string{wrongKey, url.QueryEscape(wrongKey), asrv.Key, url.QueryEscape(asrv.Key)}},
		{"expired SAS", asrv.SASAddress(cont, expiredSAS),
			"expired", []string{sig, url.QueryEscape(sig)}},
		{"missing container", asrv.Address("no-such-container"),
			"bucket does not exist", []string{asrv.Key, url.QueryEscape(asrv.Key)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, args := range [][]string{
				{"ls", c.addr},
				{"stat", strings.Replace(c.addr, "?", "/k?", 1)},
				{"cat", strings.Replace(c.addr, "?", "/k?", 1)},
				{"--log-level", "debug", "ls", "-R", "--json", c.addr},
			} {
				r := byob(t, nil, args...)
				require.NotEqual(t, 0, r.code, "%v\n%s", redactArgs(args), r)
				all := r.stdout + r.stderr
				for _, s := range c.secrets {
					require.NotContains(t, all, s, "%v\n%s", redactArgs(args), r)
				}
			}
			r := byob(t, nil, "ls", c.addr)
			errLines := nonWarningLines(r.stderr)
			require.Len(t, errLines, 1, "one clear line:\n%s", r)
			require.Contains(t, strings.ToLower(errLines[0]), c.want, r)
			t.Logf("%s: %s", c.name, errLines[0])
		})
	}
}

// nonWarningLines drops the warning about a secret on the command line.
func nonWarningLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if l == "" || strings.Contains(l, "`ps` shows") {
			continue
		}
		out = append(out, l)
	}
	return out
}
