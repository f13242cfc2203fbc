package faulty

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

func put(t *testing.T, s providers.Store, key, data string) {
	t.Helper()
	_, err := s.Put(context.Background(), key, strings.NewReader(data), int64(len(data)), providers.PutOptions{})
	require.NoError(t, err)
}

func listKeys(s providers.Store, prefix string) ([]string, error) {
	var keys []string
	err := s.List(context.Background(), providers.ListOptions{Prefix: prefix}, func(e providers.Entry) error {
		keys = append(keys, e.Key)
		return nil
	})
	return keys, err
}

func requireInjected(t *testing.T, err error, op, key string, kind error) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, ErrInjected)
	require.ErrorIs(t, err, kind)
	var oe *providers.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, op, oe.Op)
	require.Equal(t, key, oe.Key)
}

func TestStoreForwardsAndCounts(t *testing.T) {
	ctx := context.Background()
	s := Wrap(newFakeStore(), Options{})
	put(t, s, "a/1", "hello")
	put(t, s, "a/2", "world")

	info, err := s.Stat(ctx, "a/1")
	require.NoError(t, err)
	require.EqualValues(t, 5, info.Size)

	_, err = s.Stat(ctx, "missing")
	require.ErrorIs(t, err, providers.ErrNotExist)
	require.NotErrorIs(t, err, ErrInjected)

	rc, _, err := s.Get(ctx, "a/2", 1, -1, providers.GetOptions{})
	require.NoError(t, err)
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, "orld", string(b))

	_, err = s.Copy(ctx, "a/1", "b/1", providers.CopyOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, "a/2"))
	keys, err := listKeys(s, "")
	require.NoError(t, err)
	require.Equal(t, []string{"a/1", "b/1"}, keys)

	for op, n := range map[string]int{OpPut: 2, OpStat: 2, OpGet: 1, OpCopy: 1, OpDelete: 1, OpList: 1, OpUploadPart: 0} {
		require.Equal(t, n, s.Calls(op), op)
	}
	require.Zero(t, s.Injected())
	require.Equal(t, providers.MultipartNone, s.Capabilities().Multipart)
	require.NoError(t, s.Close())

	s.Reset()
	require.Zero(t, s.Calls(OpPut))
}

func TestStoreFailNth(t *testing.T) {
	ctx := context.Background()
	s := Wrap(newFakeStore(), Options{Rules: []StoreRule{FailNth(OpStat, 2)}})
	put(t, s, "k", "v")
	for i := 1; i <= 4; i++ {
		_, err := s.Stat(ctx, "k")
		if i == 2 {
			requireInjected(t, err, OpStat, "k", providers.ErrServer)
			continue
		}
		require.NoError(t, err, "call %d", i)
	}
	require.Equal(t, 4, s.Calls(OpStat))
	require.Equal(t, 1, s.Injected())

	// Reset restarts the rule's count.
	s.Reset()
	_, err := s.Stat(ctx, "k")
	require.NoError(t, err)
	_, err = s.Stat(ctx, "k")
	require.ErrorIs(t, err, ErrInjected)
}

func TestStoreRuleSelection(t *testing.T) {
	ctx := context.Background()
	custom := errors.New("custom")
	tests := []struct {
		name  string
		rule  StoreRule
		calls []string // keys to Stat, in order
		fail  []bool
	}{
		{"every call", StoreRule{Op: OpStat}, []string{"a", "b", "c"}, []bool{true, true, true}},
		{"times caps", StoreRule{Op: OpStat, Times: 2}, []string{"a", "b", "c"}, []bool{true, true, false}},
		{"key", StoreRule{Op: OpStat, Key: "b"}, []string{"a", "b", "c", "b"}, []bool{false, true, false, true}},
		{"nth of key", StoreRule{Key: "b", Nth: 2}, []string{"b", "a", "b", "b"}, []bool{false, false, true, false}},
		{"match", StoreRule{Match: func(op, key string) bool { return strings.HasPrefix(key, "x") }}, []string{"x1", "a", "x2"}, []bool{true, false, true}},
		{"other op", StoreRule{Op: OpGet}, []string{"a", "b"}, []bool{false, false}},
		{"rule error", StoreRule{Op: OpStat, Err: custom, Nth: 1}, []string{"a", "a"}, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			s := Wrap(f, Options{Rules: []StoreRule{tt.rule}})
			for _, k := range []string{"a", "b", "c", "x1", "x2"} {
				put(t, f, k, k)
			}
			injected := 0
			for i, k := range tt.calls {
				_, err := s.Stat(ctx, k)
				if !tt.fail[i] {
					require.NoError(t, err, "call %d", i)
					continue
				}
				injected++
				if tt.rule.Err != nil {
					require.Same(t, tt.rule.Err, err)
				} else {
					requireInjected(t, err, OpStat, k, providers.ErrServer)
				}
			}
			require.Equal(t, injected, s.Injected())
		})
	}
}

func TestStoreDefaultErrorOption(t *testing.T) {
	s := Wrap(newFakeStore(), Options{
		Rules: []StoreRule{{Op: OpDelete}},
		Err: func(op, key string) error {
			return providers.NewOpError(op, key, providers.ErrThrottled, ErrInjected)
		},
	})
	err := s.Delete(context.Background(), "k")
	requireInjected(t, err, OpDelete, "k", providers.ErrThrottled)
}

func TestStoreFailRateReproducible(t *testing.T) {
	pattern := func(seed int64) []bool {
		f := newFakeStore()
		put(t, f, "k", "v")
		s := Wrap(f, Options{Seed: seed, Rules: []StoreRule{FailRate(OpStat, 0.3)}})
		out := make([]bool, 300)
		for i := range out {
			_, err := s.Stat(context.Background(), "k")
			out[i] = errors.Is(err, ErrInjected)
		}
		n := 0
		for _, f := range out {
			if f {
				n++
			}
		}
		require.Equal(t, n, s.Injected())
		require.InDelta(t, 90, n, 40, "about 30%% fail")
		return out
	}
	a, b, c := pattern(7), pattern(7), pattern(8)
	require.Equal(t, a, b, "same seed, same faults")
	require.NotEqual(t, a, c, "another seed, other faults")

	// Reset reseeds: the pattern repeats.
	f := newFakeStore()
	put(t, f, "k", "v")
	s := Wrap(f, Options{Seed: 7, Rules: []StoreRule{FailRate(OpStat, 0.3)}})
	run := func() []bool {
		out := make([]bool, 50)
		for i := range out {
			_, err := s.Stat(context.Background(), "k")
			out[i] = err != nil
		}
		return out
	}
	first := run()
	s.Reset()
	require.Equal(t, first, run())
	require.Equal(t, a[:50], first)
}

func TestStoreCutGet(t *testing.T) {
	ctx := context.Background()
	data := strings.Repeat("0123456789", 10)
	tests := []struct {
		name    string
		after   int64
		want    int
		wantErr bool
	}{
		{"mid-stream", 25, 25, true},
		{"at zero", 0, 0, true},
		{"exactly at the end", 100, 100, false},
		{"past the end", 500, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			put(t, f, "obj", data)
			s := Wrap(f, Options{Rules: []StoreRule{CutGet(tt.after)}})
			rc, info, err := s.Get(ctx, "obj", 0, -1, providers.GetOptions{})
			require.NoError(t, err)
			require.EqualValues(t, 100, info.Size)
			b, err := io.ReadAll(rc)
			require.NoError(t, rc.Close())
			require.Equal(t, data[:tt.want], string(b))
			if !tt.wantErr {
				require.NoError(t, err)
				require.Zero(t, s.Injected())
				return
			}
			requireInjected(t, err, OpGet, "obj", providers.ErrUnavailable)
			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			require.Equal(t, 1, s.Injected())
			// The error sticks.
			_, err = rc.Read(make([]byte, 4))
			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			require.Equal(t, 1, s.Injected())
		})
	}
}

func TestStoreCutList(t *testing.T) {
	f := newFakeStore()
	for i := range 5 {
		put(t, f, fmt.Sprint("k", i), "v")
	}
	s := Wrap(f, Options{Rules: []StoreRule{CutList(2)}})
	keys, err := listKeys(s, "k")
	require.Equal(t, []string{"k0", "k1"}, keys)
	requireInjected(t, err, OpList, "k", providers.ErrUnavailable)
	require.Equal(t, 1, s.Injected())

	// A listing no longer than the cut ends normally.
	s.SetRules(CutList(5))
	keys, err = listKeys(s, "k")
	require.NoError(t, err)
	require.Len(t, keys, 5)

	// fn's own error still comes back unchanged.
	stop := errors.New("stop")
	s.SetRules(CutList(3))
	err = s.List(context.Background(), providers.ListOptions{}, func(providers.Entry) error { return stop })
	require.Same(t, stop, err)
}

func TestStoreLatency(t *testing.T) {
	f := newFakeStore()
	put(t, f, "k", "v")
	s := Wrap(f, Options{Rules: []StoreRule{AddLatency(OpStat, 60*time.Millisecond), FailNth(OpStat, 2)}})
	start := time.Now()
	_, err := s.Stat(context.Background(), "k")
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)
	// Latency adds to a fault of another rule.
	start = time.Now()
	_, err = s.Stat(context.Background(), "k")
	require.ErrorIs(t, err, ErrInjected)
	require.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)
	require.Equal(t, 1, s.Injected(), "latency is not a fault")

	// A cancelled context ends the wait.
	s.SetRules(AddLatency("", time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = s.Stat(ctx, "k")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, ErrInjected)
}

func TestStoreBefore(t *testing.T) {
	f := newFakeStore()
	put(t, f, "k", "v")
	var mu sync.Mutex
	var seen []string
	hookErr := errors.New("hook")
	s := Wrap(f, Options{Before: func(op, key string) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, op+" "+key)
		if key == "bad" {
			return hookErr
		}
		return nil
	}})
	ctx := context.Background()
	_, err := s.Stat(ctx, "k")
	require.NoError(t, err)
	_, err = s.Copy(ctx, "k", "bad", providers.CopyOptions{})
	require.Same(t, hookErr, err)
	_, err = s.Stat(ctx, "bad")
	require.Same(t, hookErr, err)
	require.Equal(t, []string{"stat k", "copy bad", "stat bad"}, seen)
	require.Equal(t, 2, s.Injected())
	_, err = f.Stat(ctx, "bad")
	require.ErrorIs(t, err, providers.ErrNotExist, "the failed copy never reached the store")

	s.SetBefore(nil)
	_, err = s.Stat(ctx, "bad")
	require.ErrorIs(t, err, providers.ErrNotExist)
}

func TestStoreMultipartUnsupported(t *testing.T) {
	s := Wrap(newFakeStore(), Options{})
	var mp providers.Multiparter = s
	_, err := mp.CreateMultipart(context.Background(), "k", providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrUnsupported)
	require.NotErrorIs(t, err, ErrInjected)
	_, err = mp.ResumeMultipart(context.Background(), "k", "id")
	require.ErrorIs(t, err, providers.ErrUnsupported)
	require.Equal(t, 1, s.Calls(OpCreateMultipart))
	require.Equal(t, 1, s.Calls(OpResumeMultipart))
}

func TestStoreMultipart(t *testing.T) {
	ctx := context.Background()
	inner := newFakeMPStore()
	s := Wrap(inner, Options{Rules: []StoreRule{
		FailNth(OpUploadPart, 2),
		FailNth(OpComplete, 1),
		{Op: OpAbort, Key: "other"},
	}})
	require.Equal(t, providers.MultipartMemory, s.Capabilities().Multipart)
	u, err := s.CreateMultipart(ctx, "big", providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, "big", u.Key())

	_, err = u.UploadPart(ctx, 1, bytes.NewReader([]byte("aaa")), 3, providers.PartOptions{})
	require.NoError(t, err)
	_, err = u.UploadPart(ctx, 2, bytes.NewReader([]byte("bbb")), 3, providers.PartOptions{})
	requireInjected(t, err, OpUploadPart, "big", providers.ErrServer)
	p2, err := u.UploadPart(ctx, 2, bytes.NewReader([]byte("bbb")), 3, providers.PartOptions{})
	require.NoError(t, err)

	// A resumed upload is wrapped too and shares the counts.
	u2, err := s.ResumeMultipart(ctx, "big", u.ID())
	require.NoError(t, err)
	parts, err := u2.ListParts(ctx)
	require.NoError(t, err)
	require.Len(t, parts, 2)

	parts = []providers.Part{{Number: 1, Size: 3}, p2}
	_, err = u2.Complete(ctx, parts, providers.CompleteOptions{})
	requireInjected(t, err, OpComplete, "big", providers.ErrServer)
	_, err = u2.Complete(ctx, parts, providers.CompleteOptions{})
	require.NoError(t, err)
	require.NoError(t, u.Abort(ctx), "the abort rule is for another key")

	rc, _, err := s.Get(ctx, "big", 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	b, _ := io.ReadAll(rc)
	require.Equal(t, "aaabbb", string(b))

	for op, n := range map[string]int{OpCreateMultipart: 1, OpResumeMultipart: 1, OpUploadPart: 3, OpListParts: 1, OpComplete: 2, OpAbort: 1} {
		require.Equal(t, n, s.Calls(op), op)
	}
	require.Equal(t, 2, s.Injected())
}

func TestStoreConcurrent(t *testing.T) {
	f := newFakeStore()
	put(t, f, "k", "v")
	s := Wrap(f, Options{Seed: 1, Rules: []StoreRule{FailRate("", 0.5), AddLatency(OpGet, time.Microsecond)}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for range 16 {
		wg.Go(func() {
			for range 50 {
				_, err := s.Stat(context.Background(), "k")
				if err == nil {
					var rc io.ReadCloser
					rc, _, err = s.Get(context.Background(), "k", 0, -1, providers.GetOptions{})
					if err == nil {
						_ = rc.Close()
					}
				}
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		})
	}
	s.SetRules(FailRate("", 0.5)) // replacing rules while calls run is safe
	wg.Wait()
	require.Equal(t, 800, s.Calls(OpStat))
	require.Equal(t, s.Injected(), failed)
	gets := s.Calls(OpGet)
	require.Greater(t, gets, 200, "about half the Stats pass")
	require.Less(t, gets, 600)
}
