package cache

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// staged writes a staged file for a write-back entry.
func staged(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(name), 0o600))
	return p
}

func listWB(t *testing.T, c *Cache) []WriteBack {
	t.Helper()
	var out []WriteBack
	require.NoError(t, c.ListWriteBack(context.Background(), func(wb WriteBack) error { out = append(out, wb); return nil }))
	return out
}

func wbLogs(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, wbLogPrefix+"*"))
	require.NoError(t, err)
	return m
}

// Appended entries are listed at once, in order, and after SyncWriteBack
// they are in the index and the log is gone.
func TestWriteBackLogAppendListSync(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	c := openTest(t, opts)
	files := t.TempDir()
	var ids []string
	for i, name := range []string{"a", "b", "c"} {
		wb := &WriteBack{Store: "s", Key: name, StagingPath: staged(t, files, name), Size: 1, State: WriteBackStaged, Created: time.Now()}
		require.NoError(t, c.AppendWriteBack(ctx, wb))
		require.NotEmpty(t, wb.ID)
		if i > 0 {
			require.Greater(t, wb.ID, ids[i-1], "IDs follow journal order")
		}
		ids = append(ids, wb.ID)
	}
	got := listWB(t, c)
	require.Len(t, got, 3)
	for i := range got {
		require.Equal(t, ids[i], got[i].ID)
	}
	require.Len(t, wbLogs(t, c.Dir()), 1)

	// A delete before the merge: the merge does not bring it back.
	require.NoError(t, c.DeleteWriteBack(ctx, ids[1]))
	require.NoError(t, c.SyncWriteBack(ctx))
	require.Empty(t, wbLogs(t, c.Dir()), "merged logs are removed")
	got = listWB(t, c)
	require.Len(t, got, 2)
	require.Equal(t, []string{ids[0], ids[2]}, []string{got[0].ID, got[2-1].ID})
	n := 0
	require.NoError(t, c.view(ctx, func(tx *bolt.Tx) error { n = tx.Bucket(bktWriteBack).Stats().KeyN; return nil }))
	require.Equal(t, 2, n, "in the index now")

	// A state change of an entry only in the log survives its merge.
	wb := &WriteBack{Store: "s", Key: "d", StagingPath: staged(t, files, "d"), Size: 1, State: WriteBackStaged}
	require.NoError(t, c.AppendWriteBack(ctx, wb))
	wb.State = WriteBackFailed
	require.NoError(t, c.PutWriteBack(ctx, wb))
	require.NoError(t, c.SyncWriteBack(ctx))
	g, ok, err := c.GetWriteBack(ctx, wb.ID)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, WriteBackFailed, g.State)
}

// A process that dies before any sync: the next Open replays its log. An
// entry whose staged file is gone (uploaded and forgotten) is not revived,
// a torn last record is ignored, and entries already merged stay single.
func TestWriteBackLogReplayAfterCrash(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	files := t.TempDir()
	c, err := Open(opts)
	require.NoError(t, err)
	merged := &WriteBack{Store: "s", Key: "merged", StagingPath: staged(t, files, "merged"), Size: 1}
	require.NoError(t, c.AppendWriteBack(ctx, merged))
	require.NoError(t, c.SyncWriteBack(ctx))
	keep := &WriteBack{Store: "s", Key: "keep", StagingPath: staged(t, files, "keep"), Size: 1}
	gone := &WriteBack{Store: "s", Key: "gone", StagingPath: staged(t, files, "gone"), Size: 1}
	require.NoError(t, c.AppendWriteBack(ctx, keep))
	require.NoError(t, c.AppendWriteBack(ctx, gone))
	require.NoError(t, os.Remove(gone.StagingPath))
	logs := wbLogs(t, c.Dir())
	require.Len(t, logs, 1)

	// The crash: the index and the log are let go without Close.
	c.stop()
	c.bg.Wait()
	require.NoError(t, c.wb.f.Close())
	require.NoError(t, c.db.Close())
	// A torn record at the end, as a crash in the middle of a write leaves.
	f, err := os.OpenFile(logs[0], os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{0, 0, 1, 0, 9, 9})
	require.NoError(t, err)
	require.NoError(t, f.Close())

	c2 := openTest(t, opts)
	got := listWB(t, c2)
	require.Len(t, got, 2)
	require.Equal(t, merged.ID, got[0].ID)
	require.Equal(t, keep.ID, got[1].ID)
	require.Equal(t, "keep", got[1].Key)
	require.Empty(t, wbLogs(t, c2.Dir()), "replayed logs are removed")

	// New IDs still sort after the replayed ones.
	next := &WriteBack{Store: "s", Key: "next", StagingPath: staged(t, files, "next"), Size: 1}
	require.NoError(t, c2.AppendWriteBack(ctx, next))
	require.Greater(t, next.ID, keep.ID)
}
