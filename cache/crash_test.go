package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/transfer"
)

// The crash child: TestCrashChild runs only in a subprocess started by
// TestCrashSIGKILLAtNamedPoints, with these variables set.
const (
	childDirEnv   = "BYOB_TEST_CACHE_CRASH_DIR"   // the cache directory
	childPointEnv = "BYOB_TEST_CACHE_CRASH_POINT" // the crash point armed for phase 2
	childModeEnv  = "BYOB_TEST_CACHE_CRASH_MODE"  // what phase 2 does: write, fetch, rewrite
)

// crashOptions are the options of the crash tests' cache: real fsyncs, as
// the binary runs.
func crashOptions(dir string) Options {
	return Options{Dir: dir, BlockSize: 64 << 10, MaxSize: 64 << 20, MinFree: -1, LockTimeout: time.Second}
}

func dirtyBlock(i int64) BlockID {
	return BlockID{Store: "s3://b", Key: "dirty", Version: "v1", Index: i}
}
func cleanBlock(i int64) BlockID {
	return BlockID{Store: "s3://b", Key: "clean", Version: "e1", Index: i}
}

// rewritten is the second content of dirtyBlock(1) in mode rewrite.
func rewritten() []byte {
	b := blockData(dirtyBlock(1), 64<<10)
	for i := range b {
		b[i] ^= 0x5a
	}
	return b
}

// TestCrashChild is the killed process: it stores 4 dirty and 4 fetched
// blocks, arms BYOB_CRASH_AT, then stores one more block (or rewrites one)
// and is killed inside storeBlock. It never closes the cache.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("only run as the crash test's subprocess")
	}
	ctx := context.Background()
	c, err := Open(crashOptions(dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(3)
	}
	bs := int(c.opts.BlockSize)
	for i := int64(0); i < 4; i++ {
		if err := c.WriteBlock(ctx, dirtyBlock(i), blockData(dirtyBlock(i), bs)); err != nil {
			fmt.Fprintln(os.Stderr, "child: write:", err)
			os.Exit(3)
		}
		id := cleanBlock(i)
		if _, err := c.ReadBlock(ctx, id, func(context.Context) ([]byte, error) { return blockData(id, bs), nil }); err != nil {
			fmt.Fprintln(os.Stderr, "child: fetch:", err)
			os.Exit(3)
		}
	}
	os.Setenv(transfer.CrashEnv, os.Getenv(childPointEnv))
	switch os.Getenv(childModeEnv) {
	case "write":
		err = c.WriteBlock(ctx, dirtyBlock(4), blockData(dirtyBlock(4), bs))
	case "fetch":
		id := cleanBlock(4)
		_, err = c.ReadBlock(ctx, id, func(context.Context) ([]byte, error) { return blockData(id, bs), nil })
	case "rewrite":
		err = c.WriteBlock(ctx, dirtyBlock(1), rewritten())
	}
	fmt.Fprintln(os.Stderr, "child: phase 2 returned without being killed:", err)
	os.Exit(4)
}

// blockFiles lists the block data files under dir (temporary files too).
func blockFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, blocksDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	}))
	return out
}

// TestCrashSIGKILLAtNamedPoints kills a process writing blocks with SIGKILL
// at each named crash point of the block store (new dirty block, new
// fetched block, dirty block rewritten), damages one clean block behind the
// index's back, and checks that the next Open + Verify leaves an index that
// serves only correct bytes: every recorded block reads back with its
// content, the block caught between data and commit is either absent (its
// file an orphan, swept) or whole, and the damaged block is dropped and
// fetched again.
func TestCrashSIGKILLAtNamedPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	for _, point := range []string{CrashAfterBlockData, CrashAfterIndexCommit} {
		for _, mode := range []string{"write", "fetch", "rewrite"} {
			t.Run(point+"/"+mode, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "cache")
				cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childPointEnv+"="+point, childModeEnv+"="+mode)
				cmd.Env = append(cmd.Env, transfer.CrashEnv+"=") // armed by the child itself after phase 1
				var stderr strings.Builder
				cmd.Stderr = &stderr
				start := time.Now()
				err := cmd.Run()
				var ee *exec.ExitError
				require.True(t, errors.As(err, &ee), "child: %v\n%s", err, stderr.String())
				ws := ee.Sys().(syscall.WaitStatus)
				require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "child not killed by SIGKILL: %v\n%s", err, stderr.String())
				require.Contains(t, stderr.String(), "byob: crash point "+point, "killed inside the window")
				t.Logf("child killed at %s after %v", point, time.Since(start).Round(time.Millisecond))
				check(t, dir, point, mode)
			})
		}
	}
}

// check opens the crashed cache and proves it consistent.
func check(t *testing.T, dir, point, mode string) {
	ctx := context.Background()
	opts := crashOptions(dir)
	bs := int(opts.BlockSize)
	before := blockFiles(t, dir)

	// Damage a clean block (same size) behind the index's back, as a
	// torn page cache write would after a power loss.
	victim := cleanBlock(0)
	matches, err := filepath.Glob(filepath.Join(dir, blocksDir, "*", "*", blockFileName(victim, 0)[:40]+"-0-*"))
	require.NoError(t, err)
	require.Len(t, matches, 1)
	corruptFile(t, matches[0])

	c, err := Open(opts)
	require.NoError(t, err)
	defer c.Close()
	require.True(t, c.Unclean(), "the killed process did not close the cache")
	rep, err := c.Verify(ctx)
	require.NoError(t, err)
	require.Empty(t, rep.Missing, "every recorded block has its file")
	require.Empty(t, rep.SizeMismatch)
	require.Equal(t, []BlockID{victim}, rep.CRCMismatch, "the damaged block is found")
	require.Empty(t, rep.DirtyDamaged)
	require.Equal(t, 1, rep.Dropped)
	require.NoError(t, c.checkInvariants())

	// Files left = blocks recorded: every orphan is gone (the background
	// sweep after the unclean start or Verify removed it).
	st, err := c.Stats(ctx)
	require.NoError(t, err)
	after := blockFiles(t, dir)
	require.Len(t, after, int(st.Blocks), "no file the index does not know is left")
	orphans := len(before) - 1 - len(after) // -1: the dropped damaged block
	wantOrphans := map[string]int{
		CrashAfterBlockData + "/write": 1, CrashAfterBlockData + "/fetch": 1, CrashAfterBlockData + "/rewrite": 1,
		CrashAfterIndexCommit + "/write": 0, CrashAfterIndexCommit + "/fetch": 0, CrashAfterIndexCommit + "/rewrite": 1,
	}[point+"/"+mode]
	require.Equal(t, wantOrphans, orphans, "orphan files swept")
	t.Logf("%s/%s: %d files before Open, %d after; %d orphan(s) swept; verify: %d blocks, crc mismatches %d",
		point, mode, len(before), len(after), orphans, rep.Blocks, len(rep.CRCMismatch))

	// What is served is right. A fetch of a block that is recorded intact
	// fails the test.
	noFetch := func(context.Context) ([]byte, error) { return nil, errors.New("fetched a block the cache holds") }
	for i := int64(0); i < 4; i++ {
		want := blockData(dirtyBlock(i), bs)
		if i == 1 && mode == "rewrite" && point == CrashAfterIndexCommit {
			want = rewritten()
		}
		b, err := c.ReadBlock(ctx, dirtyBlock(i), noFetch)
		require.NoError(t, err, "dirty block %d is durable", i)
		require.Equal(t, want, b, "dirty block %d", i)
	}
	for i := int64(1); i < 4; i++ {
		b, err := c.ReadBlock(ctx, cleanBlock(i), noFetch)
		require.NoError(t, err)
		require.Equal(t, blockData(cleanBlock(i), bs), b)
	}
	var calls atomic.Int64
	b, err := c.ReadBlock(ctx, victim, countingFetch(victim, bs, &calls, 0))
	require.NoError(t, err)
	require.Equal(t, blockData(victim, bs), b, "the damaged block is fetched again, never served")
	require.EqualValues(t, 1, calls.Load())

	// The block of phase 2.
	switch mode {
	case "write", "fetch":
		id := dirtyBlock(4)
		if mode == "fetch" {
			id = cleanBlock(4)
		}
		b, err := c.ReadBlock(ctx, id, nil)
		if point == CrashAfterBlockData {
			require.ErrorIs(t, err, ErrNotCached, "a block whose record was never committed does not exist")
		} else {
			require.NoError(t, err)
			require.Equal(t, blockData(id, bs), b)
		}
	}
	rep, err = c.Verify(ctx)
	require.NoError(t, err)
	require.True(t, rep.OK(), "a second Verify finds nothing: %+v", rep)
}
