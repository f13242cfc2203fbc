package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
)

// TestMountCredsRotation mounts a remote whose credentials come from a file
// (credentials = "file:PATH"), with each S3 SDK, then rotates the keys while
// mounted: a new MinIO user's keys go into the file and the old user is
// deleted, so the old keys stop working at once. An object read for the
// first time and a file written through the mount must both work right
// after (the failed request re-reads the file and is sent again), and after
// a second rotation written in place (not renamed) and noticed by the
// periodic look at the file. The objects written are in the bucket with
// the bytes written, and no secret reaches the mount's output.
func TestMountCredsRotation(t *testing.T) {
	requireFUSEMount(t)
	srv := testenv.MinIO(t)
	for _, sdk := range []string{"minio", "aws"} {
		t.Run(sdk, func(t *testing.T) { testMountCredsRotation(t, srv, sdk) })
	}
}

func testMountCredsRotation(t *testing.T, srv *testenv.S3Server, sdk string) {
	ctx := context.Background()
	bucket := srv.NewBucket(t)
	root, err := srv.Client()
	require.NoError(t, err)
	seed := map[string][]byte{}
	for i, name := range []string{"a.bin", "b.bin", "c.bin"} {
		seed[name] = randBytes(300<<10+i, int64(i+1))
		_, err := root.PutObject(ctx, bucket, "data/"+name, bytes.NewReader(seed[name]), int64(len(seed[name])), minio.PutObjectOptions{})
		require.NoError(t, err)
	}
	inBucket := func(key string) []byte {
		t.Helper()
		o, err := root.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
		require.NoError(t, err)
		defer o.Close()
		var b bytes.Buffer
		_, err = b.ReadFrom(o)
		require.NoError(t, err, key)
		return b.Bytes()
	}

	dir := t.TempDir()
	credPath := filepath.Join(dir, "creds")
	writeCreds := func(u testenv.MinIOUser, inPlace bool) {
		t.Helper()
		data := []byte("# rotated by the test\naccess_key_id = " + u.AccessKey + "\nsecret_access_key = " + u.SecretKey + "\n")
		if inPlace {
			require.NoError(t, os.WriteFile(credPath, data, 0o600))
			return
		}
		require.NoError(t, os.WriteFile(credPath+".new", data, 0o600))
		require.NoError(t, os.Rename(credPath+".new", credPath))
	}
	users := []testenv.MinIOUser{srv.AddUser(t, bucket)}
	writeCreds(users[0], false)
	cfg := filepath.Join(dir, "config.toml")
	tls := ""
	if !srv.TLS {
		tls = "&tls=false"
	}
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`
[remotes.rot]
address     = "s3://%s/%s?region=%s&sdk=%s%s"
credentials = "file:%s"
`, srv.Endpoint, bucket, srv.Region, sdk, tls, credPath)), 0o600))
	mnt := filepath.Join(dir, "mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	env := []string{"BYOB_CONFIG=" + cfg}
	m := startMount(t, env, "rot:", mnt, filepath.Join(dir, "cache"), "--log-level", "debug")

	readThrough := func(name string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(mnt, "data", name))
		require.NoError(t, err, "read %s through the mount", name)
		require.True(t, bytes.Equal(seed[name], b), "%s: wrong bytes through the mount", name)
	}
	writeThrough := func(name string, seedN int64) {
		t.Helper()
		data := randBytes(200<<10, seedN)
		require.NoError(t, os.WriteFile(filepath.Join(mnt, "out", name), data, 0o644), "write %s through the mount", name)
		require.True(t, bytes.Equal(data, inBucket("out/"+name)), "out/%s: wrong bytes in the bucket", name)
	}
	rotate := func(inPlace bool) {
		t.Helper()
		u := srv.AddUser(t, bucket)
		writeCreds(u, inPlace)
		srv.RemoveUser(t, users[len(users)-1].AccessKey)
		users = append(users, u)
	}

	// Before any rotation.
	readThrough("a.bin")
	require.NoError(t, os.Mkdir(filepath.Join(mnt, "out"), 0o755))
	writeThrough("before.bin", 10)

	// Rotated by rename, used at once: the old keys fail, the mount re-reads
	// the file and sends the request again.
	rotate(false)
	readThrough("b.bin") // never read before: not in the cache
	writeThrough("after-rename.bin", 11)

	// Rotated in place, used after the periodic look at the file.
	rotate(true)
	time.Sleep(2500 * time.Millisecond)
	readThrough("c.bin")
	writeThrough("after-in-place.bin", 12)

	entries, err := os.ReadDir(filepath.Join(mnt, "out"))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"after-in-place.bin", "after-rename.bin", "before.bin"}, names)

	m.stop()
	out := m.stderr()
	for i, u := range users {
		require.False(t, strings.Contains(out, u.SecretKey), "the mount's output holds the secret of user %d", i)
	}
}
