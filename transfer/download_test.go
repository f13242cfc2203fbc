package transfer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
	"github.com/byobfs/byob/providers/mem"
)

func TestDownloadWithFaults(t *testing.T) {
	ctx := context.Background()
	m := mem.New(mem.DefaultOptions())
	data := randBytes(11, 1<<20+99)
	_, err := m.Put(ctx, "k", bytes.NewReader(data), int64(len(data)), providers.PutOptions{})
	require.NoError(t, err)
	f := faulty.Wrap(m, faulty.Options{Seed: 1, Rules: []faulty.StoreRule{
		faulty.FailRate(faulty.OpGet, 0.2),
		{Op: faulty.OpGet, Rate: 0.3, Action: faulty.Cut, After: 10_000},
		faulty.FailNth(faulty.OpStat, 1),
	}})
	d := NewDownloader(retried(f, 20), DownloadOptions{PartSize: 64 << 10, Concurrency: 4})
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	defer out.Close()
	info, err := d.Download(ctx, "k", out)
	require.NoError(t, err)
	require.EqualValues(t, len(data), info.Size)
	got, err := os.ReadFile(out.Name())
	require.NoError(t, err)
	require.Equal(t, data, got)
	require.Greater(t, f.Injected(), 3)
	requireCRC(t, info, data)

	// Empty objects download too.
	_, err = m.Put(ctx, "empty", bytes.NewReader(nil), 0, providers.PutOptions{})
	require.NoError(t, err)
	einfo, err := d.Download(ctx, "empty", out)
	require.NoError(t, err)
	require.Zero(t, einfo.Size)
}

func TestDownloadChangedObjectFails(t *testing.T) {
	ctx := context.Background()
	m := mem.New(mem.DefaultOptions())
	data := randBytes(12, 512<<10)
	_, err := m.Put(ctx, "k", bytes.NewReader(data), int64(len(data)), providers.PutOptions{})
	require.NoError(t, err)
	var gets atomic.Int32
	var putErr error // set in the hook, asserted on the test's goroutine
	f := faulty.Wrap(m, faulty.Options{Before: func(op, key string) error {
		if op == faulty.OpGet && gets.Add(1) == 3 {
			_, putErr = m.Put(ctx, "k", bytes.NewReader(data[:100]), 100, providers.PutOptions{})
		}
		return nil
	}})
	d := NewDownloader(retried(f, 5), DownloadOptions{PartSize: 64 << 10, Concurrency: 1})
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	defer out.Close()
	_, err = d.Download(ctx, "k", out)
	require.NoError(t, putErr, "the object was changed mid-download")
	require.ErrorIs(t, err, providers.ErrPrecondition)
	require.ErrorIs(t, err, ErrChanged)
	require.Contains(t, err.Error(), "changed")
	require.Equal(t, int32(3), gets.Load(), "a precondition failure is not retried")
}

func TestCrashPointIgnoresOtherNames(t *testing.T) {
	t.Setenv(CrashEnv, "after-part-999")
	CrashPoint("after-part-1") // must return
}
