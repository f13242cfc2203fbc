package sync

import (
	"context"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFilterRules(t *testing.T) {
	cases := []struct {
		rules []FilterRule
		key   string
		want  bool
	}{
		{nil, "anything", true},
		{[]FilterRule{Exclude("*.log")}, "x.log", false},
		{[]FilterRule{Exclude("*.log")}, "a/b/x.log", false},
		{[]FilterRule{Exclude("*.log")}, "x.log.txt", true},
		{[]FilterRule{Exclude("*.log")}, "x.log/inner", false}, // a directory named x.log
		{[]FilterRule{Exclude("/logs")}, "logs/a", false},
		{[]FilterRule{Exclude("/logs")}, "a/logs/b", true},
		{[]FilterRule{Exclude("logs")}, "a/logs/b", false},
		{[]FilterRule{Exclude("logs")}, "a/mylogs/b", true}, // segment boundary
		{[]FilterRule{Exclude("b/*.log")}, "a/b/x.log", false},
		{[]FilterRule{Exclude("b/*.log")}, "a/cb/x.log", true},
		{[]FilterRule{Exclude("tmp/")}, "tmp", true}, // a file, not a directory
		{[]FilterRule{Exclude("tmp/")}, "a/tmp/x", false},
		{[]FilterRule{Exclude("tmp/")}, "a/tmp/", false}, // the directory marker
		{[]FilterRule{Exclude("/a/**/z")}, "a/b/c/z", false},
		{[]FilterRule{Exclude("/a/**/z")}, "a/z", false},
		{[]FilterRule{Exclude("*.{jpg,png}")}, "m/x.png", false},
		{[]FilterRule{Include("*.yaml")}, "c.yaml", true},
		{[]FilterRule{Include("*.yaml")}, "c.txt", false}, // implied exclude
		{[]FilterRule{Include("/keep/"), Exclude("*")}, "keep/a", true},
		{[]FilterRule{Include("/keep/"), Exclude("*")}, "other/a", false},
		{[]FilterRule{Exclude("*"), Include("/keep/")}, "keep/a", false}, // first match wins
		{[]FilterRule{Exclude("a")}, "a//b", false},
	}
	for _, c := range cases {
		fl, err := newFilter(c.rules)
		require.NoError(t, err)
		require.Equal(t, c.want, fl.included(c.key), "%v on %q", c.rules, c.key)
	}
	_, err := newFilter([]FilterRule{Exclude("[")})
	require.ErrorIs(t, err, ErrInvalidOptions)
}

func TestParseFilterFile(t *testing.T) {
	rules, err := ParseFilterFile(strings.NewReader("# comment\n\n*.log\n+ /keep/**\n- tmp/\r\n"))
	require.NoError(t, err)
	require.Equal(t, []FilterRule{Exclude("*.log"), Include("/keep/**"), Exclude("tmp/")}, rules)
}

func TestShard(t *testing.T) {
	_, err := ParseShard("2/2")
	require.ErrorIs(t, err, ErrInvalidOptions)
	s, err := ParseShard("1/3")
	require.NoError(t, err)
	require.Equal(t, Shard{K: 1, N: 3}, s)
	// Stable: these values are part of the CLI contract.
	require.Equal(t, ShardOf("k2", 2), ShardOf("k2", 2))
	counts := make([]int, 4)
	for i := range 4000 {
		counts[ShardOf(strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune(i)), 4)]++
	}
	for _, c := range counts {
		require.InDelta(t, 1000, c, 200)
	}
	// Shards partition a sync: every key is copied by exactly one worker.
	src := Side{Store: newMem(), Name: "s"}
	dst := Side{Store: newMem(), Name: "d"}
	putTree(t, src, nil, someFiles(40))
	var total int64
	for k := range 3 {
		opts := DefaultOptions()
		opts.Shard = Shard{K: k, N: 3}
		r, err := Run(context.Background(), src, dst, opts)
		require.NoError(t, err)
		require.Zero(t, r.Skipped)
		total += r.Copied
	}
	require.EqualValues(t, 40, total)
}

func TestBwLimit(t *testing.T) {
	src, dst := Side{Store: newMem(), Name: "s"}, Side{LocalDir: t.TempDir()}
	putTree(t, src, nil, tree{"a": f(strings.Repeat("x", 96<<10), 1), "b": f(strings.Repeat("y", 96<<10), 1)})
	opts := DefaultOptions()
	opts.BwLimit = 128 << 10 // 192 KiB at 128 KiB/s with a 128 KiB burst: 0.5 s of waiting
	// A fake clock that moves only when the limiter sleeps: the waits it
	// asks for are counted, not timed.
	var mu gosync.Mutex
	clock := time.Unix(1e9, 0)
	var waited time.Duration
	saved := limiterClock
	limiterClock.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	limiterClock.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(d)
		waited += d
		return nil
	}
	defer func() { limiterClock = saved }()
	_, err := Run(context.Background(), src, dst, opts)
	require.NoError(t, err)
	mu.Lock()
	require.InDelta(t, float64(500*time.Millisecond), float64(waited), float64(20*time.Millisecond),
		"the limiter made the transfer wait for what went over the burst")
	mu.Unlock()
	requireSameTree(t, readTree(t, src, nil, false), readTree(t, dst, nil, false))
}
