package s3compattest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/credfile"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// writeCreds writes u's keys into the credentials file at path.
func writeCreds(t *testing.T, path string, u testenv.MinIOUser) {
	t.Helper()
	testenv.WriteCredentials(t, path, "access_key_id = "+u.AccessKey, "secret_access_key = "+u.SecretKey)
}

// testCredentialsFileRotation opens a store whose credentials come from a
// file (as `credentials = "file:PATH"` does), then rotates: a new MinIO
// user's keys go into the file and the old user is deleted. Requests made
// at once (within the file-check interval) fail on the old keys, re-read
// the file and succeed: stat, get, put (seekable body), list, multipart,
// copy, delete.
func testCredentialsFileRotation(t *testing.T, b Backend) {
	srv := testenv.MinIO(t)
	bucket := srv.NewBucket(t)
	u1 := srv.AddUser(t, bucket)
	path := filepath.Join(t.TempDir(), "creds")
	writeCreds(t, path, u1)
	a := Parse(t, srv.Address(bucket))
	require.NoError(t, credfile.UseFile(&a, path))
	st, err := b.Open(context.Background(), a, s3compat.Options{Transport: loopback()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	put(t, st, "old", "before rotation")

	rotate := func(old testenv.MinIOUser) testenv.MinIOUser {
		u := srv.AddUser(t, bucket)
		writeCreds(t, path, u)
		srv.RemoveUser(t, old.AccessKey)
		return u
	}
	u2 := rotate(u1)

	got, _, err := read(t, st, "old", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "before rotation", got)

	u3 := rotate(u2)
	_, err = st.Put(ctx, "new", bytes.NewReader([]byte("after rotation")), 14, providers.PutOptions{})
	require.NoError(t, err)
	got, _, err = read(t, st, "new", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "after rotation", got)

	u4 := rotate(u3)
	var keys []string
	require.NoError(t, st.List(ctx, providers.ListOptions{}, func(e providers.Entry) error {
		keys = append(keys, e.Key)
		return nil
	}))
	require.Equal(t, []string{"new", "old"}, keys)

	u5 := rotate(u4)
	up, err := st.CreateMultipart(ctx, "mp", providers.PutOptions{})
	require.NoError(t, err)
	u6 := rotate(u5)
	part, err := up.UploadPart(ctx, 1, strings.NewReader("one part"), 8, providers.PartOptions{})
	require.NoError(t, err)
	u7 := rotate(u6)
	_, err = up.Complete(ctx, []providers.Part{part}, providers.CompleteOptions{})
	require.NoError(t, err)

	u8 := rotate(u7)
	_, err = st.Copy(ctx, "mp", "mp-copy", providers.CopyOptions{})
	require.NoError(t, err)
	u9 := rotate(u8)
	require.NoError(t, st.Delete(ctx, "old"))

	// A file caught half-written keeps the keys that work. The wait lets
	// the next request look at the file (it is stat'ed at most once per
	// credfile.DefaultInterval), so the half file is really read.
	require.NoError(t, os.WriteFile(path, []byte("access_key_id = "+u9.AccessKey+"\n"), 0o600))
	time.Sleep(credfile.DefaultInterval + 100*time.Millisecond)
	_, err = st.Stat(ctx, "new")
	require.NoError(t, err)

	// Keys no longer valid and no newer ones in the file: a permission
	// error, without a secret in it.
	srv.RemoveUser(t, u9.AccessKey)
	_, err = st.Stat(ctx, "new")
	require.ErrorIs(t, err, providers.ErrPermission)
	for _, u := range []testenv.MinIOUser{u1, u9} {
		require.NotContains(t, err.Error(), u.SecretKey)
	}
	_, err = st.Put(ctx, "never", io.MultiReader(strings.NewReader("x")), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrPermission)
}
