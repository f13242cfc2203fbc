package sync

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// genSide lists n synthetic files in key order without holding them.
type genSide struct {
	n    int
	skip func(i int) bool // not on this side
	size func(i int) int64
}

func (g genSide) list(ctx context.Context, fn func(entry) error) error {
	for i := range g.n {
		if g.skip != nil && g.skip(i) {
			continue
		}
		e := entry{key: fmt.Sprintf("run%04d/media/file%08d.bin", i/1000, i), size: g.size(i),
			modTime: time.Unix(1_700_000_000, 0), mtimeKnown: true}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}
func (g genSide) exists(context.Context) (bool, error) { return true, nil }

func (g genSide) mtime(_ context.Context, e *entry) (time.Time, error) { return e.modTime, nil }
func (g genSide) sums(context.Context, *entry) ([]providers.Checksum, bool, error) {
	return nil, false, nil
}
func (g genSide) compute(context.Context, *entry, providers.ChecksumAlgorithm) (providers.Checksum, error) {
	return providers.Checksum{}, nil
}

// vmHWM returns the process's peak RSS in bytes (Linux), or 0.
func vmHWM() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestMillionObjectPlan plans a sync of 1,000,000 objects against
// 1,000,000 with --delete (dry run, so the plan itself is measured) and
// checks that memory stays flat: peak heap and peak RSS under 300 MiB.
func TestMillionObjectPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000,000-object plan: skipped in -short")
	}
	const n = 1_000_000
	src := genSide{n: n, skip: func(i int) bool { return i%10 == 9 }, size: func(i int) int64 { return int64(i % 4096) }}
	dst := genSide{n: n, skip: func(i int) bool { return i%7 == 3 }, size: func(i int) int64 {
		if i%5 == 0 {
			return int64(i%4096) + 1
		}
		return int64(i % 4096)
	}}
	runtime.GC()
	var peak uint64
	stop := make(chan struct{})
	var wg gosync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	opts := DefaultOptions()
	opts.Delete, opts.DryRun = true, true
	require.NoError(t, opts.validate())
	rec := &recorder{}
	var lines int64
	var last string
	var disorder int
	rec.onEvent = func(e Event) {
		if e.Key <= last && lines > 0 {
			disorder++ // the plan must stream in key order
		}
		last = e.Key
		lines++
	}
	start := time.Now()
	err := execute(context.Background(), src, dst, nil, nil, &opts, rec)
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	r := rec.report()

	var copies, updates, skips, deletes int64
	for i := range n {
		inS, inD := i%10 != 9, i%7 != 3
		switch {
		case inS && !inD:
			copies++
		case !inS && inD:
			deletes++
		case inS && inD && i%5 == 0:
			updates++
		case inS && inD:
			skips++
		}
	}
	require.Equal(t, copies, r.Copied)
	require.Equal(t, updates, r.Updated)
	require.Equal(t, skips, r.Skipped)
	require.Equal(t, deletes, r.Deleted)
	require.Equal(t, copies+updates+skips+deletes, lines)
	require.Zero(t, disorder)
	t.Logf("1M plan: %v, %d actions, peak heap in use %d MiB, peak RSS %d MiB",
		time.Since(start).Round(time.Millisecond), lines, peak>>20, vmHWM()>>20)
	require.Less(t, peak, uint64(300<<20))
	if hwm := vmHWM(); hwm > 0 {
		require.Less(t, hwm, uint64(300<<20))
	}
}
