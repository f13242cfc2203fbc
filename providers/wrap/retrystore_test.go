package wrap

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
	"github.com/byobfs/byob/providers/mem"
)

func randBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// nonSeeker hides a reader's Seek.
type nonSeeker struct{ io.Reader }

func TestRetryingStoreFailRates(t *testing.T) {
	ctx := context.Background()
	m := mem.New(mem.DefaultOptions())
	f := faulty.Wrap(m, faulty.Options{Seed: 7, Rules: []faulty.StoreRule{
		faulty.FailRate("", 0.3),
	}})
	st := Retrying(f, noSleep(20, nil))
	_, ok := st.(providers.Multiparter)
	require.True(t, ok, "Multiparter forwarded")

	for i := 0; i < 20; i++ {
		data := randBytes(uint64(i), 1000+i)
		key := fmt.Sprintf("dir/k%02d", i)
		_, err := st.Put(ctx, key, bytes.NewReader(data), int64(len(data)), providers.PutOptions{})
		require.NoError(t, err)
		info, err := st.Stat(ctx, key)
		require.NoError(t, err)
		require.EqualValues(t, len(data), info.Size)
		rc, _, err := st.Get(ctx, key, 0, -1, providers.GetOptions{})
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.Equal(t, data, got)
	}
	_, err := st.Copy(ctx, "dir/k00", "copy", providers.CopyOptions{})
	require.NoError(t, err)
	require.NoError(t, st.Delete(ctx, "copy"))
	var keys []string
	require.NoError(t, st.List(ctx, providers.ListOptions{Prefix: "dir/"}, func(e providers.Entry) error {
		keys = append(keys, e.Key)
		return nil
	}))
	require.Len(t, keys, 20)
	require.Greater(t, f.Injected(), 10, "faults were injected")
	require.Equal(t, 20, m.Len())
}

func TestRetryingPutNeedsSeeker(t *testing.T) {
	ctx := context.Background()
	f := faulty.Wrap(mem.New(mem.DefaultOptions()), faulty.Options{Rules: []faulty.StoreRule{faulty.FailNth(faulty.OpPut, 1)}})
	st := Retrying(f, noSleep(5, nil))
	_, err := st.Put(ctx, "k", nonSeeker{strings.NewReader("abc")}, 3, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrServer)
	require.Equal(t, 1, f.Calls(faulty.OpPut), "a reader that cannot rewind gets one attempt")

	f.Reset()
	r := strings.NewReader("xxabc")
	_, _ = r.Seek(2, io.SeekStart)
	_, err = st.Put(ctx, "k", r, 3, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, 2, f.Calls(faulty.OpPut))
	rc, _, err := st.Get(ctx, "k", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	got, _ := io.ReadAll(rc)
	require.Equal(t, "abc", string(got), "rewound to where the reader stood")
}

func TestRetryingPermanentAndThrottle(t *testing.T) {
	ctx := context.Background()
	m := mem.New(mem.DefaultOptions())
	_, err := m.Put(ctx, "k", strings.NewReader("v"), 1, providers.PutOptions{})
	require.NoError(t, err)

	f := faulty.Wrap(m, faulty.Options{Rules: []faulty.StoreRule{{Op: faulty.OpStat,
		Err: providers.NewOpError("stat", "k", providers.ErrPermission, nil)}}})
	st := Retrying(f, noSleep(5, nil))
	_, err = st.Stat(ctx, "k")
	require.ErrorIs(t, err, providers.ErrPermission)
	require.Equal(t, 1, f.Calls(faulty.OpStat), "permanent errors are not retried")

	var waits []int64
	p := noSleep(10, nil)
	p.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, int64(d)); return nil }
	f.SetRules(faulty.StoreRule{Op: faulty.OpStat, Times: 3, Err: providers.NewOpError("stat", "k", providers.ErrThrottled, nil)})
	f.Reset()
	st = Retrying(f, p)
	_, err = st.Stat(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, 4, f.Calls(faulty.OpStat))
	require.Len(t, waits, 3, "a backoff before every retry")

	f.SetRules(faulty.StoreRule{Op: faulty.OpStat, Times: 1, Err: providers.NewOpError("stat", "k", providers.ErrExpired, nil)})
	f.Reset()
	refreshed := 0
	p.Refresh = func(context.Context) error { refreshed++; return nil }
	_, err = Retrying(f, p).Stat(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, 1, refreshed)
	require.Equal(t, 2, f.Calls(faulty.OpStat))
}

func TestRetryingGetResumesCutBody(t *testing.T) {
	ctx := context.Background()
	m := mem.New(mem.DefaultOptions())
	data := randBytes(3, 100_000)
	_, err := m.Put(ctx, "k", bytes.NewReader(data), int64(len(data)), providers.PutOptions{})
	require.NoError(t, err)
	f := faulty.Wrap(m, faulty.Options{Rules: []faulty.StoreRule{faulty.CutGet(7_000)}})
	st := Retrying(f, noSleep(3, nil))

	rc, _, err := st.Get(ctx, "k", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.Equal(t, data, got)
	require.Equal(t, 15, f.Calls(faulty.OpGet), "resumed from the bytes delivered: 100000/7000 rounded up")

	f.Reset()
	rc, _, err = st.Get(ctx, "k", 50_000, 20_000, providers.GetOptions{})
	require.NoError(t, err)
	got, err = io.ReadAll(rc)
	require.NoError(t, err)
	require.Equal(t, data[50_000:70_000], got, "a ranged read resumes within its range")

	// The object changes mid-read: the resumed read is pinned to the first
	// version and fails instead of mixing bytes.
	rc, _, err = st.Get(ctx, "k", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	buf := make([]byte, 5_000)
	_, err = io.ReadFull(rc, buf)
	require.NoError(t, err)
	_, err = m.Put(ctx, "k", bytes.NewReader(data[:10]), 10, providers.PutOptions{})
	require.NoError(t, err)
	_, err = io.ReadAll(rc)
	require.ErrorIs(t, err, providers.ErrPrecondition)
}

func TestRetryingListNeverRepeats(t *testing.T) {
	ctx := context.Background()
	m := mem.New(mem.DefaultOptions())
	var want []string
	for i := 0; i < 25; i++ {
		k := fmt.Sprintf("p/%02d", i)
		if i%5 == 0 {
			k = fmt.Sprintf("p/%02d/sub/x", i) // becomes a common prefix with "/"
		}
		want = append(want, k)
		_, err := m.Put(ctx, k, strings.NewReader("x"), 1, providers.PutOptions{})
		require.NoError(t, err)
	}
	f := faulty.Wrap(m, faulty.Options{Rules: []faulty.StoreRule{faulty.CutList(3)}})
	st := Retrying(f, noSleep(2, nil)) // 2 attempts suffice: each cut made progress

	for _, delim := range []string{"", "/"} {
		t.Run("delimiter="+delim, func(t *testing.T) {
			f.Reset()
			seen := map[string]bool{}
			var got []string
			err := st.List(ctx, providers.ListOptions{Prefix: "p/", Delimiter: delim}, func(e providers.Entry) error {
				require.False(t, seen[e.Key], "entry %q delivered twice", e.Key)
				seen[e.Key] = true
				got = append(got, e.Key)
				return nil
			})
			require.NoError(t, err)
			require.Len(t, got, 25)
			require.Greater(t, f.Calls(faulty.OpList), 8)
			require.IsIncreasing(t, got)
			if delim == "" {
				require.Equal(t, want, got, "a flat listing delivers every key once, in order")
			}
		})
	}

	// An error from fn is returned as is, never retried.
	f.SetRules()
	f.Reset()
	stop := fmt.Errorf("stop: %w", providers.ErrServer)
	err := st.List(ctx, providers.ListOptions{Prefix: "p/"}, func(providers.Entry) error { return stop })
	require.Equal(t, stop, err)
	require.Equal(t, 1, f.Calls(faulty.OpList))
}
