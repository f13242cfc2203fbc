package cache

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// PutRemoteMetas is PutRemoteMeta for each record, in order: a later
// version of a key replaces the earlier one, and the records survive a
// reopen.
func TestPutRemoteMetasBatch(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	c := openTest(t, opts)
	mt := time.Unix(1700000000, 5).UTC()
	require.NoError(t, c.PutRemoteMeta(ctx, "s", "a", "v0", RemoteMeta{Mtime: mt}))
	recs := []RemoteMetaRecord{
		{Store: "s", Key: "a", Version: "v1", Meta: RemoteMeta{Mtime: mt.Add(time.Second), CRC32C: 9, HasCRC32C: true, Updated: mt}},
		{Store: "s", Key: "b", Version: "v1", Meta: RemoteMeta{Mtime: mt, MD5: []byte("0123456789abcdef"), Updated: mt}},
		{Store: "s", Key: "b", Version: "v2", Meta: RemoteMeta{Mtime: mt.Add(2 * time.Second), Updated: mt}},
		{Store: "t", Key: "a", Version: "v1", Meta: RemoteMeta{Mtime: mt, Updated: mt}},
	}
	require.NoError(t, c.PutRemoteMetas(ctx, recs))
	require.NoError(t, c.PutRemoteMetas(ctx, nil))
	require.NoError(t, c.Close())
	c = openTest(t, opts)
	for _, tc := range []struct {
		store, key, version string
		want                *RemoteMeta
	}{
		{"s", "a", "v0", nil}, // replaced by v1
		{"s", "a", "v1", &recs[0].Meta},
		{"s", "b", "v1", nil}, // replaced by v2 in the same batch
		{"s", "b", "v2", &recs[2].Meta},
		{"t", "a", "v1", &recs[3].Meta},
	} {
		got, ok, err := c.GetRemoteMeta(ctx, tc.store, tc.key, tc.version)
		require.NoError(t, err)
		if tc.want == nil {
			require.False(t, ok, "%s %s %s", tc.store, tc.key, tc.version)
			continue
		}
		require.True(t, ok, "%s %s %s", tc.store, tc.key, tc.version)
		require.Equal(t, *tc.want, got)
	}
}

func TestPutFingerprintsBatch(t *testing.T) {
	ctx := context.Background()
	c := openTest(t, testOptions(t))
	mt := time.Unix(1700000000, 7).UTC()
	fps := []Fingerprint{
		{Path: "/d/x", Size: 1, ModTime: mt, Inode: 1, CRC32C: 3, HasCRC32C: true, Hashed: mt},
		{Path: "/d/y", Size: 2, ModTime: mt, Inode: 2, MD5: []byte("0123456789abcdef"), Hashed: mt},
	}
	require.NoError(t, c.PutFingerprints(ctx, fps))
	for _, f := range fps {
		got, ok, err := c.GetFingerprint(ctx, f.Path, f.Size, f.ModTime, f.Inode)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, f, got)
	}
}

// A session that only uses the index has no unsynced block file for the
// clean marker to vouch for, so Close does not sync the file system; one
// that stores a block does.
func TestCloseSyncsOnlyAfterBlockFiles(t *testing.T) {
	ctx := context.Background()
	c := openTest(t, testOptions(t))
	require.NoError(t, c.PutRemoteMetas(ctx, []RemoteMetaRecord{{Store: "s", Key: "k", Version: "v", Meta: RemoteMeta{Mtime: time.Unix(1, 0)}}}))
	require.NoError(t, c.PutFingerprints(ctx, []Fingerprint{{Path: "/x", Size: 1}}))
	require.False(t, c.filesChanged.Load(), "index writes leave no unsynced file")
	id := BlockID{Store: "s", Key: "new.bin", Version: "local"}
	require.NoError(t, c.WriteBlock(ctx, id, blockData(id, int(c.opts.BlockSize))))
	require.True(t, c.filesChanged.Load(), "a block file makes Close sync the file system")
}
