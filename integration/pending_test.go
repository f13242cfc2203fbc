package integration

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

// byob cache pending lists what a killed write-back mount acknowledged but
// never uploaded, and --upload ADDRESS uploads it with the exact bytes; a
// running mount answers over its control socket and unmounts through it.
func TestCachePendingAndUpload(t *testing.T) {
	requireFUSEMount(t)
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	st, _ := openMinIO(t, s, bucket, "")
	ctx := context.Background()
	mnt, cacheDir := t.TempDir(), t.TempDir()
	m := startMount(t, []string{transfer.CrashEnv + "=fs-after-writeback-ack"}, s.Address(bucket), mnt, cacheDir, "--write-back")
	want := randBytes(3<<20+5, 9)
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "ckpt.bin"), want, 0o644))
	m.crashed("fs-after-writeback-ack")
	m.force()

	r := byob(t, nil, "--json", "cache", "pending", "--cache-dir", cacheDir)
	require.Equal(t, 0, r.code, r)
	var out struct {
		Pending []struct {
			Key  string `json:"Key"`
			Size int64  `json:"Size"`
		} `json:"pending"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &out), r.stdout)
	var keys []string
	for _, p := range out.Pending {
		keys = append(keys, p.Key)
	}
	require.Contains(t, keys, "ckpt.bin")
	_, err := st.Stat(ctx, "ckpt.bin")
	require.ErrorIs(t, err, providers.ErrNotExist)

	r = byob(t, nil, "cache", "pending", "--cache-dir", cacheDir, "--upload", s.Address(bucket))
	require.Equal(t, 0, r.code, r)
	require.Contains(t, r.stdout, "nothing pending")
	got, err := storeBytes(t, st, "ckpt.bin")
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(want), sha256.Sum256(got))

	// A running mount answers over its control socket and unmounts through it.
	startMount(t, nil, s.Address(bucket), mnt, cacheDir, "--write-back")
	r = byob(t, nil, "--json", "cache", "pending", "--cache-dir", cacheDir)
	require.Equal(t, 0, r.code, r)
	r = byob(t, nil, "cache", "pending", "--cache-dir", cacheDir, "--upload", s.Address(bucket))
	require.NotEqual(t, 0, r.code, "uploading from outside a running mount is refused")
	r = byob(t, nil, "unmount", "--cache-dir", cacheDir, mnt)
	require.Equal(t, 0, r.code, r)
}
