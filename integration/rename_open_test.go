package integration

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
)

// Log rotation: a writer has a file open, another process renames it, the
// writer goes on and closes. The handle follows the rename: the new name
// gets everything written, the old name nothing. For a file streamed as a
// multipart upload, one small enough for a single Put, and write-back; on
// MinIO.
func TestRenameWhileOpenForWriting(t *testing.T) {
	for _, c := range []struct {
		name  string
		a, b  int64
		flags []string
	}{
		// renamed before its first part was sent, and after
		{"streamed", 10 << 20, 20 << 20, []string{"--part-size", "16MiB"}},
		{"streamed mid-part", 10 << 20, 20 << 20, []string{"--part-size", "5MiB"}},
		{"single put", 10 << 10, 20 << 10, nil},
		{"write-back", 10 << 20, 20 << 20, []string{"--write-back", "--part-size", "5MiB"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := testenv.MinIO(t)
			bucket := s.NewBucket(t)
			st, _ := openMinIO(t, s, bucket, "")
			addr := s.Address(bucket)
			mnt, cacheDir := t.TempDir(), t.TempDir()
			m := startMount(t, nil, addr, mnt, cacheDir, c.flags...)
			h := hold(t, filepath.Join(mnt, "train.log"))
			require.Equal(t, "ok", h.do(fmt.Sprintf("fill %d 1", c.a)))
			require.NoError(t, os.Rename(filepath.Join(mnt, "train.log"), filepath.Join(mnt, "train.log.1")))
			require.Equal(t, "ok", h.do(fmt.Sprintf("fill %d 2", c.b)))
			require.Equal(t, "closed", h.do("close"))
			r := byob(t, nil, "unmount", mnt) // waits for write-back uploads
			require.Equal(t, 0, r.code, r)
			waitGone(t, m.pid)

			want := append(randBytes(int(c.a), 1), randBytes(int(c.b), 2)...)
			got, err := storeBytes(t, st, "train.log.1")
			require.NoError(t, err)
			require.Equal(t, len(want), len(got))
			require.True(t, bytes.Equal(want, got), "sha256 %x, want %x", sha256.Sum256(got), sha256.Sum256(want))
			require.Contains(t, objText(t, st, "train.log"), "not exist", "nothing is left at the old name")
		})
	}
}
