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

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/seed"
	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/minio"
)

// seedMinIO makes a bucket holding the team layout under "wandb" and
// returns its address (secret URL-encoded) for the given SDK.
func seedMinIO(t *testing.T) (*testenv.S3Server, string, seed.Summary) {
	t.Helper()
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	a, err := providers.ParseAddress(s.Address(bucket))
	require.NoError(t, err)
	st, _, err := minio.Opener(context.Background(), a)
	require.NoError(t, err)
	o := seed.DefaultOptions()
	o.Runs = 2
	sum, err := seed.Team(context.Background(), st, "wandb", o)
	require.NoError(t, err)
	return s, bucket, sum
}

func TestCLIMinIOBothSDKs(t *testing.T) {
	s, bucket, sum := seedMinIO(t)
	for _, sdk := range []string{"minio", "aws"} {
		t.Run(sdk, func(t *testing.T) {
			addr := s.Address(bucket, "sdk="+sdk)
			r := byob(t, nil, "ls", "-R", "--json", strings.Replace(addr, "/"+bucket+"?", "/"+bucket+"/wandb/?", 1))
			require.Equal(t, 0, r.code, r)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			require.Len(t, lines, len(sum.Objects))
			for _, l := range lines {
				var e struct {
					Key  string `json:"key"`
					Size int64  `json:"size"`
				}
				require.NoError(t, json.Unmarshal([]byte(l), &e))
				require.Equal(t, int64(len(sum.Objects[e.Key])), e.Size, e.Key)
			}

			// Round trip a 3 MiB file: local -> bucket -> local, bytes identical.
			data := make([]byte, 3<<20+17)
			rand.Read(data)
			src := filepath.Join(t.TempDir(), "ckpt.bin")
			require.NoError(t, os.WriteFile(src, data, 0o644))
			dstAddr := strings.Replace(addr, "/"+bucket+"?", "/"+bucket+"/up/"+sdk+"/ckpt.bin?", 1)
			r = byob(t, nil, "cp", src, dstAddr)
			require.Equal(t, 0, r.code, r)
			out := filepath.Join(t.TempDir(), "back.bin")
			r = byob(t, nil, "cp", dstAddr, out)
			require.Equal(t, 0, r.code, r)
			got, err := os.ReadFile(out)
			require.NoError(t, err)
			require.Equal(t, sha(data), sha(got))

			// Server-side copy inside the bucket, then stat -v.
			copyAddr := strings.Replace(dstAddr, "ckpt.bin?", "ckpt-copy.bin?", 1)
			r = byob(t, nil, "--json", "cp", dstAddr, copyAddr)
			require.Equal(t, 0, r.code, r)
			require.Contains(t, r.stdout, `"server_side":true`)
			r = byob(t, nil, "stat", "-v", copyAddr)
			require.Equal(t, 0, r.code, r)
			require.Contains(t, r.stdout, "size:         3145745")
			require.Contains(t, r.stdout, "it has a port")
			require.NotContains(t, r.stdout+r.stderr, s.SecretKey)
		})
	}
}

func TestCLIMinIOToLocalBucket(t *testing.T) {
	s, bucket, sum := seedMinIO(t)
	key := sum.Keys()[0]
	dir := t.TempDir()
	r := byob(t, []string{"BYOB_STORE=" + s.Address(bucket)}, "cp", ":"+key, "file://"+dir+"/copied/")
	require.Equal(t, 0, r.code, r)
	got, err := os.ReadFile(filepath.Join(dir, "copied", filepath.Base(key)))
	require.NoError(t, err)
	require.Equal(t, sum.Objects[key], got)
	// BYOB_STORE kept the secret off the command line: no warning.
	require.NotContains(t, r.stderr, "ps")
}

func TestCLIConfigRemote(t *testing.T) {
	s, bucket, sum := seedMinIO(t)
	cfg := filepath.Join(t.TempDir(), "config.toml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
[remotes.team]
address = "s3://127.0.0.1:`+strings.Split(s.Endpoint, ":")[1]+`/`+bucket+`?tls=false&region=us-east-1"
path = "wandb"
credentials = "env"
`), 0o600))
	env := []string{"BYOB_CONFIG=" + cfg, "AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey}
	r := byob(t, env, "ls", "team:")
	require.Equal(t, 0, r.code, r)
	require.Equal(t, "acme-ml/\nwandb_artifacts/\n", r.stdout)
	r = byob(t, env, "cat", "team:"+strings.TrimPrefix(sum.Keys()[0], "wandb/"))
	require.Equal(t, 0, r.code, r)
	require.Equal(t, string(sum.Objects[sum.Keys()[0]]), r.stdout)
	r = byob(t, env, "ls", "team:../escape")
	require.Equal(t, 2, r.code, r)
}

// Secrets never reach output: wrong credentials, an unreachable endpoint,
// debug logs, JSON output, and a secret typed on the command line.
func TestCLISecretsNeverPrinted(t *testing.T) {
	s, bucket, _ := seedMinIO(t)
	wrong := "Wr0ng/Secret+Key/abcdefghijklmnopqrstu"
	port := strings.Split(s.Endpoint, ":")[1]
	cases := []struct {
		name, addr string
		code       int
		want       string
	}{
		{"wrong secret minio", "s3://" + s.AccessKey + ":" + wrong + "@127.0.0.1:" + port + "/" + bucket + "?tls=false", 1, "check the access key"},
		{"wrong secret aws", "s3://" + s.AccessKey + ":" + wrong + "@127.0.0.1:" + port + "/" + bucket + "?tls=false&sdk=aws", 1, "check the access key"},
		{"unreachable", "s3://AKIAUNREACH:" + wrong + "@127.0.0.1:1/" + bucket + "?tls=false", 1, "check the endpoint"},
		{"unreachable aws", "s3://AKIAUNREACH:" + wrong + "@127.0.0.1:1/" + bucket + "?tls=false&sdk=aws", 1, "check the endpoint"},
		{"missing bucket", s.Address("no-such-bucket-x"), 1, "bucket"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, args := range [][]string{
				{"ls", c.addr},
				{"--log-level", "debug", "stat", "-v", c.addr + "&x=1"},
				{"--log-level", "debug", "--log-format", "json", "--json", "cat", strings.Replace(c.addr, "?", "/k?", 1)},
			} {
				r := byob(t, nil, args...)
				require.NotEqual(t, 0, r.code, r)
				all := r.stdout + r.stderr
				for _, secret := range []string{wrong, "Wr0ng%2FSecret", s.SecretKey, url.QueryEscape(s.SecretKey), url.PathEscape(s.SecretKey)} {
					require.NotContains(t, all, secret, "%v\n%s", args, r)
				}
			}
			r := byob(t, nil, "ls", c.addr)
			require.Equal(t, c.code, r.code, r)
			require.Contains(t, r.stderr, c.want, r)
			require.Contains(t, r.stderr, "`ps` shows", "a secret on the command line gets a warning")
		})
	}
}
