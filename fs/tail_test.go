package fs

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers/faulty"
	"github.com/byobfs/byob/transfer"
)

// Sequential writes fill part-sized tails: whole parts are sent from
// memory, not read back from the staging file, and the staging file holds
// every byte whenever something reads it (a read through the writing
// handle in the middle of the stream), then the object is exact.
func TestTailPartsFromMemory(t *testing.T) {
	st := streamStore()
	f := streamFS(t, st)
	ctx := context.Background()
	want := data(5*streamPS+777, 11)
	_, h, err := f.Root().Create(ctx, "t", os.O_RDWR|os.O_CREATE, 0)
	require.NoError(t, err)
	s := h.w.st.Load()
	require.NotNil(t, s)
	writeChunks(t, h, want[:2*streamPS+100], 0, 16<<10)
	got := make([]byte, 2*streamPS+100)
	n, err := h.Read(ctx, got, 0)
	require.NoError(t, err)
	require.Equal(t, len(got), n)
	require.Equal(t, want[:len(got)], got, "a read in the middle sees every byte written")
	writeChunks(t, h, want[len(got):], int64(len(got)), 16<<10)
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.Equal(t, want, getObj(t, st, "t"))
	require.Equal(t, 0, st.Calls(faulty.OpPut))
	// Parts 1 and 2 (before the read), 4 and 5 (after the bytes up to the
	// next part boundary went to the staging file); part 3 and the short
	// last part came from the staging file.
	require.Equal(t, int64(4), s.Stats().FromMemory, "whole parts went from memory")
}

// A writer ahead of the uploads waits for a part to go (at most
// UploadConcurrency+1 tails held), and goes on once parts are sent.
func TestTailWriterWaitsForUploads(t *testing.T) {
	st, h, parts, release := heldUploads(t, "w")
	ctx := context.Background()
	want := data(10*streamPS, 5)
	done := make(chan struct{})
	var written atomic.Int64
	go func() {
		defer close(done)
		for off := 0; off < len(want); off += 16 << 10 {
			if _, err := h.Write(ctx, want[off:off+16<<10], int64(off)); err != nil {
				return
			}
			written.Store(int64(off + 16<<10))
		}
	}()
	require.Eventually(t, func() bool { return parts.Load() == 2 }, 5*time.Second, time.Millisecond)
	held := h.w.st.Load()
	require.Eventually(t, func() bool { return held.Stats().Held == 3 }, 5*time.Second, time.Millisecond,
		"the writer holds UploadConcurrency+1 tails and waits")
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, 3, held.Stats().Held, "and no more")
	require.Less(t, written.Load(), int64(len(want)), "the writer waits for the uploads")
	release()
	<-done
	require.Equal(t, int64(len(want)), written.Load())
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.Equal(t, want, getObj(t, st, "w"))
}

// A rewrite of bytes held in a tail (written, not in the staging file yet)
// lands after them: the staging file, and so the object, has the rewrite.
func TestTailRewriteWithinTail(t *testing.T) {
	st := streamStore()
	f := streamFS(t, st)
	ctx := context.Background()
	want := data(3*streamPS, 9)
	_, h, err := f.Root().Create(ctx, "r", os.O_WRONLY|os.O_CREATE, 0)
	require.NoError(t, err)
	writeChunks(t, h, want[:streamPS/2], 0, 8<<10)
	copy(want[100:], "again")
	_, err = h.Write(ctx, []byte("again"), 100)
	require.NoError(t, err)
	writeChunks(t, h, want[streamPS/2:], streamPS/2, 8<<10)
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.Equal(t, want, getObj(t, st, "r"))
}

// Tails share one memory budget across files: with no room left, writes go
// to the staging file as before tails, and the object is exact.
func TestTailBudgetUsedUp(t *testing.T) {
	mem := transfer.NewMemory(streamPS) // room for one tail
	st := streamStore()
	f := streamFS(t, st, func(o *Options) { o.LiveMemory = mem })
	release := gated(t, st, faulty.OpUploadPart, nil) // the first tail stays held: no budget for a second
	ctx := context.Background()
	want := data(6*streamPS+5, 13)
	_, h, err := f.Root().Create(ctx, "b", os.O_WRONLY|os.O_CREATE, 0)
	require.NoError(t, err)
	s := h.w.st.Load()
	writeChunks(t, h, want, 0, 24<<10)
	release()
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.Equal(t, want, getObj(t, st, "b"))
	require.Equal(t, int64(1), s.Stats().FromMemory, "one tail fitted the budget; the other parts came from the staging file")
	inUse, peak := mem.InUse()
	require.Zero(t, inUse, "every tail gave its budget back")
	require.Equal(t, int64(streamPS), peak)
}

// Write-back staging hands the staging file itself to the entry (no copy);
// the still-open handle then writes on a new staging file filled from the
// entry, and each close publishes exactly what was written by then.
func TestWriteBackHandOver(t *testing.T) {
	st := streamStore()
	inner := st.Inner()
	f := newTestFS(t, st, func(o *Options) { o.WriteBack = true })
	release := gated(t, st, faulty.OpPut, nil)
	ctx := context.Background()
	_, h, err := f.Root().Create(ctx, "a", os.O_RDWR|os.O_CREATE, 0)
	require.NoError(t, err)
	_, err = h.Write(ctx, []byte("hello"), 0)
	require.NoError(t, err)
	first := h.w.path
	require.NoError(t, h.Flush(ctx, 0))
	require.Nil(t, h.w.file, "the staging file went to the entry")
	_, err = os.Stat(first)
	require.ErrorIs(t, err, os.ErrNotExist)
	p, err := f.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, p, 1)
	got := make([]byte, 5)
	n, err := h.Read(ctx, got, 0)
	require.NoError(t, err)
	require.Equal(t, "hello", string(got[:n]), "the new staging file fills from the entry")
	require.NotEqual(t, first, h.w.path)
	_, err = h.Write(ctx, []byte(" world"), 5)
	require.NoError(t, err)
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	release()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, f.Drain(dctx))
	require.Equal(t, []byte("hello world"), getObj(t, inner, "a"))
}

// gated makes st's calls of op wait until release is called, counting them
// in calls when set. Call it once the FS over st exists: its cleanup then
// releases the calls before the FS's closes (cleanups run last first), so
// a test failing before its release does not leave them stuck.
func gated(t *testing.T, st *faulty.Store, op string, calls *atomic.Int64) (release func()) {
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	st.SetBefore(func(o, key string) error {
		if o == op {
			if calls != nil {
				calls.Add(1)
			}
			<-gate
		}
		return nil
	})
	t.Cleanup(release)
	return release
}

// heldUploads creates file name on a stream FS (UploadConcurrency 2) over a
// store whose part uploads wait until release is called (see gated).
// parts counts the part uploads started.
func heldUploads(t *testing.T, name string) (st *faulty.Store, h *Handle, parts *atomic.Int64, release func()) {
	st = streamStore()
	f := streamFS(t, st, func(o *Options) { o.UploadConcurrency = 2 })
	parts = new(atomic.Int64)
	release = gated(t, st, faulty.OpUploadPart, parts)
	_, h, err := f.Root().Create(context.Background(), name, os.O_WRONLY|os.O_CREATE, 0)
	require.NoError(t, err)
	return st, h, parts, release
}

// A rewrite of a sealed tail the stream holds but has not sent yet (the
// writer is ahead of the upload) reaches the object: the stream lets that
// tail go and reads the part from the staging file. So does a truncate
// below a held tail followed by more writes.
func TestTailRewriteOfHeldTail(t *testing.T) {
	for _, truncate := range []bool{false, true} {
		t.Run(map[bool]string{false: "rewrite", true: "truncate"}[truncate], func(t *testing.T) {
			st, h, parts, release := heldUploads(t, "h")
			ctx := context.Background()
			want := data(4*streamPS, 21)
			writeChunks(t, h, want[:3*streamPS], 0, 16<<10) // parts 1 and 2 sending (stuck), part 3 held
			require.Eventually(t, func() bool { return parts.Load() == 2 }, 5*time.Second, time.Millisecond)
			at := 2*streamPS + 10
			if truncate {
				require.NoError(t, h.n.truncate(ctx, int64(at), h))
				copy(want[at:], data(2*streamPS, 99))
				release()
				writeChunks(t, h, want[at:], int64(at), 16<<10)
			} else {
				copy(want[at:], "rewritten")
				_, err := h.Write(ctx, []byte("rewritten"), int64(at))
				require.NoError(t, err)
				release()
				writeChunks(t, h, want[3*streamPS:], 3*streamPS, 16<<10)
			}
			require.NoError(t, h.Flush(ctx, 0))
			require.NoError(t, h.Release(ctx))
			require.Equal(t, want, getObj(t, st, "h"))
		})
	}
}

// With another handle open on the file, write-back staging copies the
// staging file instead of handing it over: that handle writes on without
// copying the whole file back.
func TestWriteBackCopiesWhileShared(t *testing.T) {
	st := streamStore()
	f := newTestFS(t, st, func(o *Options) { o.WriteBack = true })
	ctx := context.Background()
	n, h, err := f.Root().Create(ctx, "s", os.O_RDWR|os.O_CREATE, 0)
	require.NoError(t, err)
	h2, err := n.Open(ctx, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = h.Write(ctx, []byte("shared"), 0)
	require.NoError(t, err)
	path := h.w.path
	require.NoError(t, h.Flush(ctx, 0))
	require.NotNil(t, h.w.file, "kept: another handle has the file open")
	_, err = os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, h.Release(ctx))
	_, err = h2.Write(ctx, []byte("!"), 6)
	require.NoError(t, err)
	require.NoError(t, h2.Flush(ctx, 0))
	require.NoError(t, h2.Release(ctx))
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, f.Drain(dctx))
	require.Equal(t, []byte("shared!"), getObj(t, st, "s"))
}
