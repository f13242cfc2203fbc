package fs

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
	"github.com/byobfs/byob/providers/mem"
	"github.com/byobfs/byob/transfer"
)

const streamPS = 64 << 10

func streamStore() *faulty.Store {
	mo := mem.DefaultOptions()
	mo.MinPartSize = streamPS
	return faulty.Wrap(mem.New(mo), faulty.Options{})
}

// streamFS is a test FS streaming streamPS parts (its store does not
// retry: a part fails at once); mut adjusts more options.
func streamFS(t *testing.T, st providers.Store, mut ...func(*Options)) *FS {
	return newTestFS(t, st, func(o *Options) {
		o.PartSize = streamPS
		for _, m := range mut {
			m(o)
		}
	})
}

func getObj(t *testing.T, st providers.Store, key string) []byte {
	t.Helper()
	body, _, err := st.Get(context.Background(), key, 0, -1, providers.GetOptions{})
	require.NoError(t, err)
	defer body.Close()
	b, err := io.ReadAll(body)
	require.NoError(t, err)
	return b
}

func writeChunks(t *testing.T, h *Handle, b []byte, off int64, chunk int) {
	t.Helper()
	for i := 0; i < len(b); i += chunk {
		j := min(i+chunk, len(b))
		n, err := h.Write(context.Background(), b[i:j], off+int64(i))
		require.NoError(t, err)
		require.Equal(t, j-i, n)
	}
}

// Sequential writes are uploaded as parts while the file is still open;
// close completes the upload (no Put), the object is exact.
func TestStreamedWrite(t *testing.T) {
	st := streamStore()
	f := streamFS(t, st)
	ctx := context.Background()
	want := data(5*streamPS+1234, 7)
	_, h, err := f.Root().Create(ctx, "big", os.O_WRONLY|os.O_CREATE, 0)
	require.NoError(t, err)
	writeChunks(t, h, want, 0, 16<<10)
	// Parts go out before close.
	require.Eventually(t, func() bool { return st.Calls(faulty.OpUploadPart) >= 5 }, 5*time.Second, 5*time.Millisecond)
	_, err = st.Inner().Stat(ctx, "big")
	require.ErrorIs(t, err, providers.ErrNotExist, "nothing is published before close")
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.Equal(t, want, getObj(t, st, "big"))
	require.Equal(t, 6, st.Calls(faulty.OpUploadPart))
	require.Equal(t, 1, st.Calls(faulty.OpComplete))
	require.Equal(t, 0, st.Calls(faulty.OpPut))
	a, err := f.Root().Lookup(ctx, "big")
	require.NoError(t, err)
	attr, err := a.Attr(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(len(want)), attr.Size)
	require.True(t, time.Since(attr.Mtime) < time.Minute, "mtime %v", attr.Mtime)
	n := 0
	require.NoError(t, f.cache.ListUploads(ctx, func(transfer.UploadJournal) error { n++; return nil }))
	require.Zero(t, n, "the stream's journal record is removed after Complete")
}

// A write the stream cannot follow (a rewrite of bytes already sent) aborts
// the multipart upload; close uploads the staging file: exact content.
func TestStreamFallsBackOnRewrite(t *testing.T) {
	st := streamStore()
	f := streamFS(t, st)
	ctx := context.Background()
	want := data(4*streamPS, 3)
	_, h, err := f.Root().Create(ctx, "f", os.O_RDWR|os.O_CREATE, 0)
	require.NoError(t, err)
	writeChunks(t, h, want, 0, 32<<10)
	require.Eventually(t, func() bool { return st.Calls(faulty.OpUploadPart) >= 3 }, 5*time.Second, 5*time.Millisecond)
	copy(want[10:], "rewritten")
	_, err = h.Write(ctx, []byte("rewritten"), 10)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return st.Calls(faulty.OpAbort) == 1 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.Equal(t, want, getObj(t, st, "f"))
}

// Out-of-order writes within the part not yet sent are followed.
func TestStreamToleratesReorderedWrites(t *testing.T) {
	st := streamStore()
	f := streamFS(t, st)
	ctx := context.Background()
	want := data(3*streamPS, 9)
	_, h, err := f.Root().Create(ctx, "f", os.O_WRONLY|os.O_CREATE, 0)
	require.NoError(t, err)
	c := 16 << 10
	for i := 0; i < len(want); i += 2 * c { // pairs of chunks, second first
		writeChunks(t, h, want[i+c:i+2*c], int64(i+c), c)
		writeChunks(t, h, want[i:i+c], int64(i), c)
	}
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.Equal(t, want, getObj(t, st, "f"))
	require.Equal(t, 0, st.Calls(faulty.OpAbort))
	require.Equal(t, 1, st.Calls(faulty.OpComplete))
}

// A part that fails (retries exhausted) abandons the stream; close falls
// back to the staging file: nothing is lost.
func TestStreamPartFailureFallsBack(t *testing.T) {
	st := streamStore()
	st.SetRules(faulty.FailNth(faulty.OpUploadPart, 2))
	f := streamFS(t, st)
	ctx := context.Background()
	want := data(4*streamPS+5, 1)
	_, h, err := f.Root().Create(ctx, "f", os.O_WRONLY|os.O_CREATE, 0)
	require.NoError(t, err)
	writeChunks(t, h, want, 0, 64<<10)
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.Equal(t, want, getObj(t, st, "f"))
	// The abandoned upload is aborted in the background.
	require.Eventually(t, func() bool { return st.Calls(faulty.OpAbort) >= 1 }, 5*time.Second, 5*time.Millisecond)
}

// A file whose stream is in flight but never closed is never published: an
// O_TRUNC rewrite of an existing object keeps the old version until close,
// and a new FS on the same cache (a restarted mount) aborts the orphan upload.
func TestStreamNeverClosedIsNotPublished(t *testing.T) {
	st := streamStore()
	old := data(100, 5)
	putObj(t, st, "f", old)
	f := streamFS(t, st)
	ctx := context.Background()
	c, err := f.Root().Lookup(ctx, "f")
	require.NoError(t, err)
	h, err := c.Open(ctx, os.O_WRONLY|os.O_TRUNC, 0)
	require.NoError(t, err)
	writeChunks(t, h, data(3*streamPS, 2), 0, 64<<10)
	require.Eventually(t, func() bool { return st.Calls(faulty.OpUploadPart) >= 3 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, old, getObj(t, st, "f"))
	var js []transfer.UploadJournal
	require.NoError(t, f.cache.ListUploads(ctx, func(j transfer.UploadJournal) error { js = append(js, j); return nil }))
	require.Len(t, js, 1, "the cache lists the unfinished upload")

	// A restart on the same cache: the orphan is aborted and forgotten.
	f2, err := New(f.opts)
	require.NoError(t, err)
	defer f2.Close()
	// New aborted it before returning. (A part of the first FS still in
	// flight may then fail and make that FS abort the upload once more.)
	require.GreaterOrEqual(t, st.Calls(faulty.OpAbort), 1)
	js = nil
	require.NoError(t, f.cache.ListUploads(ctx, func(j transfer.UploadJournal) error { js = append(js, j); return nil }))
	require.Empty(t, js)
	require.Equal(t, old, getObj(t, st, "f"))

	// The first FS still publishes its file correctly at close (falling
	// back to the staging file, its upload being gone).
	want := data(3*streamPS, 2)
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.True(t, bytes.Equal(want, getObj(t, st, "f")))
}

// Unlinking a file being streamed aborts its upload.
func TestStreamUnlinkAborts(t *testing.T) {
	st := streamStore()
	f := streamFS(t, st)
	ctx := context.Background()
	_, h, err := f.Root().Create(ctx, "f", os.O_WRONLY|os.O_CREATE, 0)
	require.NoError(t, err)
	writeChunks(t, h, data(3*streamPS, 2), 0, 64<<10)
	require.Eventually(t, func() bool { return st.Calls(faulty.OpUploadPart) >= 3 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, f.Root().Unlink(ctx, "f"))
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.Eventually(t, func() bool { return st.Calls(faulty.OpAbort) == 1 }, 5*time.Second, 5*time.Millisecond)
	_, err = st.Stat(ctx, "f")
	require.ErrorIs(t, err, providers.ErrNotExist)
}

// The kernel sends O_TRUNC as an open without it followed by a truncate to
// 0: the old object is never downloaded and the rewrite is streamed.
func TestStreamTruncateAfterOpen(t *testing.T) {
	st := streamStore()
	putObj(t, st, "f", data(3*streamPS, 8))
	f := streamFS(t, st)
	ctx := context.Background()
	c, err := f.Root().Lookup(ctx, "f")
	require.NoError(t, err)
	h, err := c.Open(ctx, os.O_WRONLY, 0)
	require.NoError(t, err)
	zero := int64(0)
	_, err = c.Setattr(ctx, SetAttr{Size: &zero}, h)
	require.NoError(t, err)
	want := data(3*streamPS+3, 6)
	writeChunks(t, h, want, 0, 32<<10)
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.Equal(t, 0, st.Calls(faulty.OpGet), "the old content is not downloaded")
	require.Equal(t, want, getObj(t, st, "f"))
	require.Equal(t, 1, st.Calls(faulty.OpComplete))
	require.Equal(t, 0, st.Calls(faulty.OpPut)-1, "only the seed Put")
}

// Opening an existing file without O_TRUNC still sees (and keeps) its
// content: the copy happens at the first write.
func TestLazyFillOnWrite(t *testing.T) {
	st := streamStore()
	old := data(1000, 8)
	putObj(t, st, "f", old)
	f := streamFS(t, st)
	ctx := context.Background()
	c, err := f.Root().Lookup(ctx, "f")
	require.NoError(t, err)
	h, err := c.Open(ctx, os.O_RDWR, 0)
	require.NoError(t, err)
	a, err := c.Attr(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1000), a.Size)
	_, err = h.Write(ctx, []byte("XY"), 10)
	require.NoError(t, err)
	buf := make([]byte, 1000)
	n, err := h.Read(ctx, buf, 0)
	require.NoError(t, err)
	copy(old[10:], "XY")
	require.Equal(t, old, buf[:n])
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.Equal(t, old, getObj(t, st, "f"))
}

// A flush before any data (a descriptor closed early, as a shell's
// redirection or dd does) publishes the empty file and keeps streaming the
// writes that follow: the data goes up as parts while it is written, not
// as a second whole upload at close.
func TestStreamSurvivesEarlyFlush(t *testing.T) {
	st := streamStore()
	f := streamFS(t, st)
	ctx := context.Background()
	_, h, err := f.Root().Create(ctx, "f", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0)
	require.NoError(t, err)
	require.NoError(t, h.Flush(ctx, 0))
	require.Equal(t, []byte{}, getObj(t, st, "f"), "the flush published the empty file")
	want := data(3*streamPS+100, 9)
	writeChunks(t, h, want, 0, 64<<10)
	require.Eventually(t, func() bool { return st.Calls(faulty.OpUploadPart) >= 3 }, 5*time.Second, 5*time.Millisecond,
		"parts go up while the file is written")
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	require.True(t, bytes.Equal(want, getObj(t, st, "f")))
	require.Equal(t, 1, st.Calls(faulty.OpPut), "one Put: the empty file")
	require.Equal(t, 1, st.Calls(faulty.OpCreateMultipart))
	require.Equal(t, 4, st.Calls(faulty.OpUploadPart))
}
