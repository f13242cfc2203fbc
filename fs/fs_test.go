package fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
	"github.com/byobfs/byob/providers/mem"
)

const bs = 64 << 10

func newTestFS(t *testing.T, st providers.Store, mut func(*Options)) *FS {
	t.Helper()
	c, err := cache.Open(cache.Options{Dir: t.TempDir(), NoSync: true, BlockSize: bs, MaxSize: 1 << 30, MinFree: -1})
	require.NoError(t, err)
	o := Options{Store: st, StoreID: "t", Cache: c, AttrTTL: time.Hour, DirTTL: time.Hour, NegativeTTL: time.Hour}
	if mut != nil {
		mut(&o)
	}
	f, err := New(o)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close(); c.Close() })
	return f
}

func putObj(t *testing.T, st providers.Store, key string, b []byte) providers.ObjectInfo {
	t.Helper()
	info, err := st.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), providers.PutOptions{})
	require.NoError(t, err)
	return info
}

func data(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i) ^ seed
	}
	return b
}

func TestErrno(t *testing.T) {
	cases := []struct {
		err  error
		want syscall.Errno
	}{
		{nil, 0},
		{providers.NewOpError("get", "k", providers.ErrNotExist, nil), syscall.ENOENT},
		{providers.NewOpError("get", "k", providers.ErrPermission, nil), syscall.EACCES},
		{providers.NewOpError("copy", "k", providers.ErrPrecondition, nil), syscall.ESTALE},
		{errors.Join(ErrChanged, providers.ErrPrecondition), syscall.EIO},
		{fmt.Errorf("x: %w", cache.ErrNoSpace), syscall.ENOSPC},
		{context.Canceled, syscall.EINTR},
		{providers.ErrInvalidKey, syscall.EINVAL},
		{errors.Join(providers.ErrInvalidKey, errTooLong), syscall.ENAMETOOLONG},
		{ErrReadOnly, syscall.EROFS},
		{ErrNotEmpty, syscall.ENOTEMPTY},
		{ErrCrossStore, syscall.EXDEV},
		{ErrNoAttr, syscall.ENODATA},
		{providers.NewOpError("get", "k", providers.ErrServer, nil), syscall.EIO},
		{errors.New("anything"), syscall.EIO},
	}
	for _, c := range cases {
		require.Equal(t, c.want, Errno(c.err), "%v", c.err)
	}
}

func TestReadaheadAdapts(t *testing.T) {
	st := mem.New(mem.DefaultOptions())
	putObj(t, st, "big", data(40*bs, 1))
	f := newTestFS(t, st, func(o *Options) { o.MaxReadahead = 8 * bs })
	root := f.Root()
	n, err := root.Lookup(context.Background(), "big")
	require.NoError(t, err)
	h, err := n.Open(context.Background(), os.O_RDONLY, 0)
	require.NoError(t, err)
	defer h.Release(context.Background())
	buf := make([]byte, bs/2)
	var last int64
	for off := int64(0); off < 8*bs; off += int64(len(buf)) {
		_, err := h.Read(context.Background(), buf, off)
		require.NoError(t, err)
		w := h.r.Window()
		require.GreaterOrEqual(t, w, last, "window shrank on sequential reads")
		last = w
	}
	require.Equal(t, int64(8*bs), last)
	for _, off := range []int64{30 * bs, 3 * bs, 20 * bs} {
		_, err := h.Read(context.Background(), buf, off)
		require.NoError(t, err)
	}
	require.Less(t, h.r.Window(), last, "window did not shrink on random reads")
}

// A handle on an old version gets EIO for blocks it had not cached, never
// bytes of the new version.
func TestChangedObjectIsEIO(t *testing.T) {
	st := mem.New(mem.DefaultOptions())
	old := data(4*bs, 1)
	putObj(t, st, "f", old)
	f := newTestFS(t, st, nil)
	n, err := f.Root().Lookup(context.Background(), "f")
	require.NoError(t, err)
	h, err := n.Open(context.Background(), os.O_RDONLY, 0)
	require.NoError(t, err)
	defer h.Release(context.Background())
	buf := make([]byte, bs)
	_, err = h.Read(context.Background(), buf, 0)
	require.NoError(t, err)
	require.Equal(t, old[:bs], buf)
	putObj(t, st, "f", data(4*bs, 2))
	// Block 0 is cached: still the old bytes.
	_, err = h.Read(context.Background(), buf, 0)
	require.NoError(t, err)
	require.Equal(t, old[:bs], buf)
	_, err = h.Read(context.Background(), buf, 3*bs)
	require.Error(t, err)
	require.Equal(t, syscall.EIO, Errno(err))
}

// Open revalidates once AttrTTL has passed (close-to-open).
func TestCloseToOpen(t *testing.T) {
	st := faulty.Wrap(mem.New(mem.DefaultOptions()), faulty.Options{})
	putObj(t, st, "f", []byte("one"))
	f := newTestFS(t, st, func(o *Options) { o.AttrTTL = 50 * time.Millisecond })
	n, err := f.Root().Lookup(context.Background(), "f")
	require.NoError(t, err)
	read := func() string {
		h, err := n.Open(context.Background(), os.O_RDONLY, 0)
		require.NoError(t, err)
		defer h.Release(context.Background())
		b := make([]byte, 10)
		k, err := h.Read(context.Background(), b, 0)
		require.NoError(t, err)
		return string(b[:k])
	}
	require.Equal(t, "one", read())
	putObj(t, st, "f", []byte("two!"))
	time.Sleep(60 * time.Millisecond)
	st.Reset()
	require.Equal(t, "two!", read())
	require.Equal(t, 1, st.Calls(faulty.OpStat))
}

// Only the opener's flush publishes; another process's flush does not.
func TestFlushByOtherProcess(t *testing.T) {
	st := mem.New(mem.DefaultOptions())
	f := newTestFS(t, st, nil)
	me := os.Getpid()
	_, h, err := f.Root().Create(context.Background(), "f", os.O_WRONLY|os.O_CREATE, me)
	require.NoError(t, err)
	_, err = h.Write(context.Background(), []byte("half"), 0)
	require.NoError(t, err)
	require.NoError(t, h.Flush(context.Background(), 1)) // pid 1: init, another process
	_, err = st.Stat(context.Background(), "f")
	require.ErrorIs(t, err, providers.ErrNotExist)
	require.NoError(t, h.Flush(context.Background(), me))
	_, err = st.Stat(context.Background(), "f")
	require.NoError(t, err)
	require.NoError(t, h.Release(context.Background()))
}

// Unlinking a file being written cancels its upload.
func TestUnlinkCancelsUpload(t *testing.T) {
	st := mem.New(mem.DefaultOptions())
	f := newTestFS(t, st, nil)
	ctx := context.Background()
	_, h, err := f.Root().Create(ctx, "f", os.O_WRONLY|os.O_CREATE, 0)
	require.NoError(t, err)
	_, err = h.Write(ctx, []byte("data"), 0)
	require.NoError(t, err)
	require.NoError(t, f.Root().Unlink(ctx, "f"))
	require.NoError(t, h.Flush(ctx, 0))
	require.NoError(t, h.Release(ctx))
	_, err = st.Stat(ctx, "f")
	require.ErrorIs(t, err, providers.ErrNotExist)
	_, err = f.Root().Lookup(ctx, "f")
	require.ErrorIs(t, err, providers.ErrNotExist)
}

func TestUploadErrorIsReported(t *testing.T) {
	st := faulty.Wrap(mem.New(mem.DefaultOptions()), faulty.Options{})
	st.SetRules(faulty.StoreRule{Op: faulty.OpPut, Err: providers.NewOpError("put", "f", providers.ErrPermission, faulty.ErrInjected)})
	f := newTestFS(t, st, nil)
	ctx := context.Background()
	_, h, err := f.Root().Create(ctx, "f", os.O_WRONLY|os.O_CREATE, 0)
	require.NoError(t, err)
	_, err = h.Write(ctx, []byte("data"), 0)
	require.NoError(t, err)
	err = h.Flush(ctx, 0)
	require.Equal(t, syscall.EACCES, Errno(err))
	require.Equal(t, syscall.EACCES, Errno(h.Fsync(ctx)))
	h.Release(ctx)
}

func TestEXDEVAcrossStores(t *testing.T) {
	a := newTestFS(t, mem.New(mem.DefaultOptions()), nil)
	b := newTestFS(t, mem.New(mem.DefaultOptions()), nil)
	err := a.Root().Rename(context.Background(), "x", b.Root(), "y", 0)
	require.Equal(t, syscall.EXDEV, Errno(err))
}

// Directories show the newest upload time of their objects once listed, the
// mount's start time before; never 1970.
func TestDirMtime(t *testing.T) {
	st := mem.New(mem.DefaultOptions())
	putObj(t, st, "d/x", []byte("x"))
	putObj(t, st, "e/f/y", []byte("y"))
	f := newTestFS(t, st, nil)
	ctx := context.Background()
	d, err := f.Root().Lookup(ctx, "d")
	require.NoError(t, err)
	a, err := d.Attr(ctx)
	require.NoError(t, err)
	require.False(t, a.Mtime.Before(f.started.Add(-time.Second)), "before listing: the mount's start %v", a.Mtime)
	_, err = d.ReadDir(ctx)
	require.NoError(t, err)
	info, err := st.Stat(ctx, "d/x")
	require.NoError(t, err)
	a, err = d.Attr(ctx)
	require.NoError(t, err)
	require.True(t, a.Mtime.Equal(info.ModTime) || a.Mtime.After(info.ModTime), "%v vs %v", a.Mtime, info.ModTime)
	e, err := f.Root().Lookup(ctx, "e")
	require.NoError(t, err)
	_, err = e.ReadDir(ctx) // only a sub-directory: keeps the start time
	require.NoError(t, err)
	a, err = e.Attr(ctx)
	require.NoError(t, err)
	require.True(t, a.Mtime.Year() > 2000)
	ra, err := f.Root().Attr(ctx)
	require.NoError(t, err)
	require.True(t, ra.Mtime.Year() > 2000)
}

// A block a read is using stays open when newer blocks push it out of the
// reader's two held blocks: it is closed by its last read, never under it.
func TestHeldBlockOutlivesEviction(t *testing.T) {
	st := mem.New(mem.DefaultOptions())
	want := data(4*bs, 3)
	putObj(t, st, "big", want)
	f := newTestFS(t, st, nil)
	ctx := context.Background()
	n, err := f.Root().Lookup(ctx, "big")
	require.NoError(t, err)
	h, err := n.Open(ctx, os.O_RDONLY, 0)
	require.NoError(t, err)
	defer h.Release(ctx)
	r := h.r
	var bh0 *cache.BlockHandle
	var done0 func()
	require.Eventually(t, func() bool { // until block 0 is on disk (held, not read from memory)
		bh, done, err := r.block(ctx, 0)
		require.NoError(t, err)
		if bh.Cached() {
			bh0, done0 = bh, done
			return true
		}
		done()
		return false
	}, 5*time.Second, time.Millisecond)
	for idx := int64(1); idx <= 3; idx++ { // push block 0 out
		require.Eventually(t, func() bool {
			bh, done, err := r.block(ctx, idx)
			require.NoError(t, err)
			done()
			return bh.Cached()
		}, 5*time.Second, time.Millisecond)
	}
	got := make([]byte, bs)
	m, err := bh0.ReadAt(got, 0)
	require.NoError(t, err, "the read in progress keeps its block open")
	require.Equal(t, bs, m)
	require.Equal(t, want[:bs], got)
	done0()
	_, err = bh0.ReadAt(got, 0)
	require.ErrorIs(t, err, cache.ErrClosed, "closed by its last read")
}

// Stores whose IDs differ only past the readable part, or only in
// characters the name replaces, get different staging directories.
func TestStagingNameUnique(t *testing.T) {
	long := "s3://***@endpoint.example.com/bucket/wandb/teams/" + strings.Repeat("x", 40)
	pairs := [][2]string{{long + "/team-a", long + "/team-b"}, {"a b", "a_b"}}
	for _, p := range pairs {
		require.NotEqual(t, stagingName(p[0]), stagingName(p[1]), "%q and %q", p[0], p[1])
	}
	require.Equal(t, stagingName("s"), stagingName("s"))
	require.NotContains(t, stagingName("s3://k@h/b"), "/")
}

// ReadView refers to the cache's memory for blocks it holds there (just
// fetched), copies the rest into the buffer, and gives the same bytes as
// Read in every case, across block boundaries and at the end of the object.
func TestReadViewMatchesRead(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.DefaultOptions())
	want := data(5*bs+123, 7)
	putObj(t, st, "obj", want)
	f := newTestFS(t, st, nil)
	n, err := f.Root().Lookup(ctx, "obj")
	require.NoError(t, err)
	h, err := n.Open(ctx, os.O_RDONLY, 0)
	require.NoError(t, err)
	defer h.Release(ctx)
	inPlace := 0
	for _, c := range []struct{ off, n int64 }{{0, bs / 2}, {bs / 2, bs}, {3*bs - 10, 2 * bs}, {5 * bs, bs}, {int64(len(want)) - 5, 100}, {int64(len(want)), 10}} {
		p := make([]byte, c.n)
		v, err := h.ReadView(ctx, p, c.off)
		require.NoError(t, err)
		got := bytes.Join(v.Slices, nil)
		end := min(c.off+c.n, int64(len(want)))
		require.Equal(t, want[c.off:end], got, "view at %d+%d", c.off, c.n)
		require.Equal(t, len(got), v.Len())
		if v.InPlace() {
			inPlace++
		} else {
			require.Equal(t, got, p[:v.Len()], "a copied view is the buffer's start")
		}
		v.Release()
		v.Release()
	}
	require.Positive(t, inPlace, "no read was served in place")
}

// A write-back entry recorded under a store's former ID is adopted and
// uploaded by the FS of that store, and left alone by another store's.
func TestFormerStoreIDAdopted(t *testing.T) {
	ctx := context.Background()
	c, err := cache.Open(cache.Options{Dir: t.TempDir(), NoSync: true, BlockSize: bs, MaxSize: 1 << 30, MinFree: -1})
	require.NoError(t, err)
	defer c.Close()
	staged := t.TempDir() + "/staged"
	require.NoError(t, os.WriteFile(staged, []byte("acknowledged"), 0o600))
	require.NoError(t, c.PutWriteBack(ctx, &cache.WriteBack{Store: "old-id", Key: "k.txt", StagingPath: staged,
		Size: 12, State: cache.WriteBackStaged, Mtime: time.Now(), Created: time.Now()}))

	st := mem.New(mem.DefaultOptions())
	mk := func(id string, former []string) *FS {
		f, err := New(Options{Store: st, StoreID: id, FormerStoreIDs: former, Cache: c, WriteBack: true})
		require.NoError(t, err)
		return f
	}
	other := mk("other-id", nil)
	require.NoError(t, other.Drain(ctx))
	other.Close()
	_, err = st.Stat(ctx, "k.txt")
	require.ErrorIs(t, err, providers.ErrNotExist)

	f := mk("new-id", []string{"old-id"})
	require.NoError(t, f.Drain(ctx))
	f.Close()
	got := storeObjects(t, st)
	require.Equal(t, map[string]string{"k.txt": "acknowledged"}, got)
}
