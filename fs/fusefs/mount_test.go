package fusefs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/byobfs/byob/cache"
	byobfs "github.com/byobfs/byob/fs"
	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/layout"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
)

type backend struct {
	name string
	new  func(t *testing.T) providers.Store
}

var backends = []backend{
	{"mem", func(t *testing.T) providers.Store { return newMem() }},
	{"local", newLocal},
}

func TestReadSeeded(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := b.new(t)
			files := map[string][]byte{
				"ent/proj/run1/config.yaml":    []byte("lr: 0.1\n"),
				"ent/proj/run1/output.log":     content(3*testBlockSize+17, 1),
				"ent/proj/run1/empty":          {},
				"wandb_artifacts/1/abc/0123ff": content(2<<20+5, 9),
			}
			for k, v := range files {
				put(t, st, k, v)
			}
			mnt := testMount(t, newFS(t, st, nil), MountOptions{})
			for k, v := range files {
				got, err := os.ReadFile(filepath.Join(mnt, k))
				require.NoError(t, err, k)
				require.Equal(t, sum(v), sum(got), k)
				fi, err := os.Stat(filepath.Join(mnt, k))
				require.NoError(t, err)
				require.Equal(t, int64(len(v)), fi.Size())
			}
			ents, err := os.ReadDir(filepath.Join(mnt, "ent/proj/run1"))
			require.NoError(t, err)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			require.Equal(t, []string{"config.yaml", "empty", "output.log"}, names)
		})
	}
}

func TestOddKeys(t *testing.T) {
	st := newMem()
	long := strings.Repeat("x", 300)
	keys := []string{"d/a//b", "d/./c", "d/../e", "d/obj", "d/obj/child", "d/" + long, "d/100%", "d/%%x", "d/sub/"}
	for i, k := range keys {
		put(t, st, k, []byte{byte(i)})
	}
	mnt := testMount(t, newFS(t, st, nil), MountOptions{})
	// Expected names: layout.DirEntries of the listing.
	var entries []providers.Entry
	require.NoError(t, st.List(context.Background(), providers.ListOptions{Prefix: "d/", Delimiter: "/"}, func(e providers.Entry) error {
		entries = append(entries, e)
		return nil
	}))
	var want []string
	for _, de := range layout.DirEntries(entries, "d/") {
		want = append(want, de.Name)
	}
	sort.Strings(want)
	ents, err := os.ReadDir(filepath.Join(mnt, "d"))
	require.NoError(t, err)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	require.Equal(t, want, got)
	// Every file reads back the object it names.
	for _, de := range layout.DirEntries(entries, "d/") {
		if de.IsDir {
			continue
		}
		b, err := os.ReadFile(filepath.Join(mnt, "d", de.Name))
		require.NoError(t, err, de.Name)
		want, _ := get(t, st, de.Key)
		require.Equal(t, want, b, de.Name)
	}
	// The shadowed object and the directory of the same name.
	b, err := os.ReadFile(filepath.Join(mnt, "d", "obj"+layout.ShadowSuffix))
	require.NoError(t, err)
	require.Equal(t, []byte{3}, b)
	b, err = os.ReadFile(filepath.Join(mnt, "d", "obj", "child"))
	require.NoError(t, err)
	require.Equal(t, []byte{4}, b)
	v := make([]byte, 256)
	n, err := syscall.Getxattr(filepath.Join(mnt, "d", "obj", "child"), layout.XattrKey, v)
	require.NoError(t, err)
	require.Equal(t, "d/obj/child", string(v[:n]))
	fi, err := os.Stat(filepath.Join(mnt, "d", "sub"))
	require.NoError(t, err)
	require.True(t, fi.IsDir())
}

func TestWrites(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := b.new(t)
			put(t, st, "old", content(1000, 3))
			mnt := testMount(t, newFS(t, st, nil), MountOptions{})
			p := func(s string) string { return filepath.Join(mnt, s) }

			// New file, read back through the store.
			data := content(3*testBlockSize+99, 5)
			require.NoError(t, os.WriteFile(p("new.bin"), data, 0o644))
			got, err := get(t, st, "new.bin")
			require.NoError(t, err)
			require.Equal(t, sum(data), sum(got))

			// O_TRUNC overwrite.
			require.NoError(t, os.WriteFile(p("old"), []byte("short"), 0o644))
			got, _ = get(t, st, "old")
			require.Equal(t, "short", string(got))

			// Append.
			fh, err := os.OpenFile(p("old"), os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = fh.Write([]byte("+more"))
			require.NoError(t, err)
			require.NoError(t, fh.Close())
			got, _ = get(t, st, "old")
			require.Equal(t, "short+more", string(got))
			b, err := os.ReadFile(p("old"))
			require.NoError(t, err)
			require.Equal(t, "short+more", string(b))

			// Random writes into an existing object.
			fh, err = os.OpenFile(p("new.bin"), os.O_RDWR, 0)
			require.NoError(t, err)
			_, err = fh.WriteAt([]byte("XYZ"), 5)
			require.NoError(t, err)
			_, err = fh.WriteAt([]byte("END"), int64(len(data)))
			require.NoError(t, err)
			require.NoError(t, fh.Close())
			copy(data[5:], "XYZ")
			data = append(data, "END"...)
			got, _ = get(t, st, "new.bin")
			require.Equal(t, sum(data), sum(got))

			// Checkpoint pattern: write tmp, fsync, rename.
			fh, err = os.Create(p("ckpt.tmp"))
			require.NoError(t, err)
			_, err = fh.Write(content(5000, 7))
			require.NoError(t, err)
			require.NoError(t, fh.Sync())
			require.NoError(t, fh.Close())
			require.NoError(t, os.Rename(p("ckpt.tmp"), p("ckpt")))
			_, err = get(t, st, "ckpt.tmp")
			require.ErrorIs(t, err, providers.ErrNotExist)
			got, _ = get(t, st, "ckpt")
			require.Equal(t, content(5000, 7), got)
			_, err = os.Stat(p("ckpt.tmp"))
			require.True(t, os.IsNotExist(err))

			// mkdir / rmdir / ENOTEMPTY / unlink.
			require.NoError(t, os.Mkdir(p("dir"), 0o755))
			require.NoError(t, os.WriteFile(p("dir/f"), []byte("x"), 0o644))
			err = syscall.Rmdir(p("dir"))
			require.ErrorIs(t, err, syscall.ENOTEMPTY)
			require.NoError(t, os.Remove(p("dir/f")))
			_, err = get(t, st, "dir/f")
			require.ErrorIs(t, err, providers.ErrNotExist)
			require.NoError(t, os.Remove(p("dir")))
			_, err = os.Stat(p("dir"))
			require.True(t, os.IsNotExist(err))

			// Directory rename.
			require.NoError(t, os.MkdirAll(p("a/b"), 0o755))
			require.NoError(t, os.WriteFile(p("a/b/f"), []byte("deep"), 0o644))
			require.NoError(t, os.Rename(p("a"), p("z")))
			got, _ = get(t, st, "z/b/f")
			require.Equal(t, "deep", string(got))
			_, err = get(t, st, "a/b/f")
			require.ErrorIs(t, err, providers.ErrNotExist)
			b, err = os.ReadFile(p("z/b/f"))
			require.NoError(t, err)
			require.Equal(t, "deep", string(b))

			// truncate(2) on a path.
			require.NoError(t, os.Truncate(p("ckpt"), 10))
			got, _ = get(t, st, "ckpt")
			require.Equal(t, content(10, 7), got)
		})
	}
}

func TestReadOnly(t *testing.T) {
	st := newMem()
	put(t, st, "f", []byte("hi"))
	mnt := testMount(t, newFS(t, st, func(o *byobfs.Options, _ *cache.Options) { o.ReadOnly = true }), MountOptions{})
	b, err := os.ReadFile(filepath.Join(mnt, "f"))
	require.NoError(t, err)
	require.Equal(t, "hi", string(b))
	for _, op := range []func() error{
		func() error { return os.WriteFile(filepath.Join(mnt, "g"), nil, 0o644) },
		func() error { return os.Mkdir(filepath.Join(mnt, "d"), 0o755) },
		func() error { return os.Remove(filepath.Join(mnt, "f")) },
		func() error { return os.Rename(filepath.Join(mnt, "f"), filepath.Join(mnt, "h")) },
		func() error { _, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_WRONLY, 0); return err },
	} {
		require.ErrorIs(t, op(), syscall.EROFS)
	}
}

// A child that inherits a descriptor and closes it (exits) must not publish
// the half-written file: only the opener's flush uploads.
func TestForkCloseInChild(t *testing.T) {
	st := newMem()
	mnt := testMount(t, newFS(t, st, nil), MountOptions{})
	fh, err := os.Create(filepath.Join(mnt, "f"))
	require.NoError(t, err)
	_, err = fh.Write([]byte("first half;"))
	require.NoError(t, err)
	cmd := exec.Command("sh", "-c", "exec 3>&-; true")
	cmd.ExtraFiles = []*os.File{fh}
	require.NoError(t, cmd.Run())
	_, err = st.Stat(context.Background(), "f")
	require.ErrorIs(t, err, providers.ErrNotExist, "child's close published a half file")
	_, err = fh.Write([]byte("second half"))
	require.NoError(t, err)
	require.NoError(t, fh.Close())
	got, err := get(t, st, "f")
	require.NoError(t, err)
	require.Equal(t, "first half;second half", string(got))
}

// A shell redirection over an existing object (`cmd > file`) opens the file
// with O_TRUNC, dup2s it and closes the original descriptor before cmd
// writes. That flush must not replace the object with an empty one, which
// every reader would see until the data arrives: the bucket keeps the old
// bytes until the written ones replace them. An open with O_TRUNC and no
// write still empties the object (at the release). The shell itself runs
// the redirections.
func TestRedirectOverObjectNeverEmpty(t *testing.T) {
	st := newMem()
	put(t, st, "cfg.yaml", []byte("old: 1\n"))
	put(t, st, "gone.txt", []byte("to be emptied"))
	mnt := testMount(t, newFS(t, st, nil), MountOptions{})
	p := filepath.Join(mnt, "cfg.yaml")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	require.NoError(t, err)
	dup, err := syscall.Dup(int(f.Fd()))
	require.NoError(t, err)
	dupOpen := true
	t.Cleanup(func() { // before the unmount: a close at exit would flush to a server gone
		if dupOpen {
			syscall.Close(dup)
		}
	})
	require.NoError(t, f.Close()) // the shell's close of the original descriptor
	got, err := get(t, st, "cfg.yaml")
	require.NoError(t, err)
	require.Equal(t, "old: 1\n", string(got), "the first flush emptied the object")
	_, err = syscall.Write(dup, []byte("new: 2\n"))
	require.NoError(t, err)
	dupOpen = false
	require.NoError(t, syscall.Close(dup))
	got, err = get(t, st, "cfg.yaml")
	require.NoError(t, err)
	require.Equal(t, "new: 2\n", string(got))

	// The same through sh: `echo > file` and `: > file`.
	out, err := exec.Command("sh", "-c", "echo 'new: 3' > "+p+" && : > "+filepath.Join(mnt, "gone.txt")).CombinedOutput()
	require.NoError(t, err, string(out))
	got, err = get(t, st, "cfg.yaml")
	require.NoError(t, err)
	require.Equal(t, "new: 3\n", string(got))
	require.Eventually(t, func() bool {
		got, err := get(t, st, "gone.txt")
		return err == nil && len(got) == 0
	}, 10*time.Second, 10*time.Millisecond, "an O_TRUNC open with no write empties the object at its release")
}

func TestRequestCounts(t *testing.T) {
	inner := newMem()
	const n = 2500
	for i := 0; i < n; i++ {
		put(t, inner, fmt.Sprintf("big/f%c-%05d", 'a'+i%26, i), []byte("x"))
	}
	put(t, inner, "data.bin", content(2*testBlockSize+5, 1))
	st := faulty.Wrap(inner, faulty.Options{})
	mnt := testMount(t, newFS(t, st, func(o *byobfs.Options, _ *cache.Options) {
		o.AttrTTL, o.DirTTL = time.Minute, time.Minute
	}), MountOptions{})

	// Cold ls -l: one List call, no Stat per entry (the lookup of "big"
	// itself is done first).
	_, err := os.Stat(filepath.Join(mnt, "big"))
	require.NoError(t, err)
	st.Reset()
	out, err := exec.Command("ls", "-l", filepath.Join(mnt, "big")).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, n+1, strings.Count(string(out), "\n"))
	require.Equal(t, 1, st.Calls(faulty.OpList), "List calls for ls -l")
	require.Equal(t, 0, st.Calls(faulty.OpStat), "Stat calls for ls -l")

	// Warm re-read: no Get.
	b, err := os.ReadFile(filepath.Join(mnt, "data.bin"))
	require.NoError(t, err)
	require.Equal(t, sum(content(2*testBlockSize+5, 1)), sum(b))
	st.Reset()
	b, err = os.ReadFile(filepath.Join(mnt, "data.bin"))
	require.NoError(t, err)
	require.Equal(t, sum(content(2*testBlockSize+5, 1)), sum(b))
	require.Equal(t, 0, st.Calls(faulty.OpGet), "Gets on a warm re-read")
}

func TestENOSPC(t *testing.T) {
	st := newMem()
	f := newFS(t, st, func(_ *byobfs.Options, c *cache.Options) { c.MaxSize = 1 << 20 })
	mnt := testMount(t, f, MountOptions{})
	err := os.WriteFile(filepath.Join(mnt, "huge"), content(2<<20, 1), 0o644)
	require.ErrorIs(t, err, syscall.ENOSPC)
}

func TestWriteBack(t *testing.T) {
	inner := newMem()
	st := faulty.Wrap(inner, faulty.Options{})
	gate := make(chan struct{})
	st.SetBefore(func(op, key string) error {
		if op == faulty.OpPut || op == faulty.OpCreateMultipart {
			<-gate
		}
		return nil
	})
	cacheDir := t.TempDir()
	f := newFS(t, st, func(o *byobfs.Options, c *cache.Options) { o.WriteBack = true; c.Dir = cacheDir })
	mnt := testMount(t, f, MountOptions{})
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "wb"), []byte("later"), 0o644))
	// Close returned before the upload; reads see the data.
	b, err := os.ReadFile(filepath.Join(mnt, "wb"))
	require.NoError(t, err)
	require.Equal(t, "later", string(b))
	p, err := f.Pending(context.Background())
	require.NoError(t, err)
	require.Len(t, p, 1)
	require.Equal(t, "wb", p[0].Key)
	_, err = inner.Stat(context.Background(), "wb")
	require.ErrorIs(t, err, providers.ErrNotExist)
	close(gate)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.Drain(ctx))
	got, err := get(t, inner, "wb")
	require.NoError(t, err)
	require.Equal(t, "later", string(got))
	p, err = f.Pending(context.Background())
	require.NoError(t, err)
	require.Empty(t, p)
}

// Entries journaled by a previous run are uploaded by the next New.
func TestWriteBackRecovery(t *testing.T) {
	inner := newMem()
	cacheDir := t.TempDir()
	copts := cache.Options{Dir: cacheDir, NoSync: true, BlockSize: testBlockSize, MaxSize: 1 << 30, MinFree: -1}
	c, err := cache.Open(copts)
	require.NoError(t, err)
	// Journal an entry by hand, as a crashed run would have left it.
	staged := filepath.Join(cacheDir, "staged-by-hand")
	require.NoError(t, os.WriteFile(staged, []byte("recovered"), 0o600))
	require.NoError(t, c.PutWriteBack(context.Background(), &cache.WriteBack{Store: "test", Key: "r/k", StagingPath: staged, Size: 9, State: cache.WriteBackStaged, Created: time.Now()}))
	f, err := byobfs.New(byobfs.Options{Store: inner, StoreID: "test", Cache: c, WriteBack: true})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.Drain(ctx))
	got, err := get(t, inner, "r/k")
	require.NoError(t, err)
	require.Equal(t, "recovered", string(got))
	p, err := f.Pending(ctx)
	require.NoError(t, err)
	require.Empty(t, p)
	f.Close()
	c.Close()
}

// Write-back uploads run concurrently, but never two of one key: its
// versions land in the order they were closed.
func TestWriteBackConcurrentInKeyOrder(t *testing.T) {
	inner := newMem()
	st := faulty.Wrap(inner, faulty.Options{})
	gate := make(chan struct{})
	var mu sync.Mutex
	var entered []string
	st.SetBefore(func(op, key string) error {
		if op == faulty.OpPut {
			mu.Lock()
			entered = append(entered, key)
			mu.Unlock()
			<-gate
		}
		return nil
	})
	f := newFS(t, st, func(o *byobfs.Options, c *cache.Options) { o.WriteBack = true })
	mnt := testMount(t, f, MountOptions{})
	for i := range 8 {
		require.NoError(t, os.WriteFile(filepath.Join(mnt, fmt.Sprintf("f%d", i)), []byte("x"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "v"), []byte("first"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "v"), []byte("second"), 0o644))
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(entered) == 9
	}, 10*time.Second, 5*time.Millisecond, "nine keys upload at once")
	time.Sleep(50 * time.Millisecond) // a second upload of v would enter now
	mu.Lock()
	nv := 0
	for _, k := range entered {
		if k == "v" {
			nv++
		}
	}
	mu.Unlock()
	require.Equal(t, 1, nv, "one upload of v at a time")
	close(gate)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.Drain(ctx))
	got, err := get(t, inner, "v")
	require.NoError(t, err)
	require.Equal(t, "second", string(got), "the last version closed is the one kept")
	mu.Lock()
	require.Len(t, entered, 10)
	mu.Unlock()
}

// In write-back mode fsync(2) returns once the file is on the server.
func TestWriteBackFsyncWaitsForUpload(t *testing.T) {
	inner := newMem()
	st := faulty.Wrap(inner, faulty.Options{})
	gate := make(chan struct{})
	st.SetBefore(func(op, key string) error {
		if op == faulty.OpPut {
			<-gate
		}
		return nil
	})
	f := newFS(t, st, func(o *byobfs.Options, c *cache.Options) { o.WriteBack = true })
	mnt := testMount(t, f, MountOptions{})
	fh, err := os.Create(filepath.Join(mnt, "ckpt"))
	require.NoError(t, err)
	defer fh.Close()
	_, err = fh.Write([]byte("weights"))
	require.NoError(t, err)
	synced := make(chan error, 1)
	go func() { synced <- fh.Sync() }()
	select {
	case err := <-synced:
		t.Fatalf("fsync returned before the upload could run: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	_, err = inner.Stat(context.Background(), "ckpt")
	require.ErrorIs(t, err, providers.ErrNotExist)
	close(gate)
	select {
	case err := <-synced:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("fsync did not return after the upload")
	}
	got, err := get(t, inner, "ckpt")
	require.NoError(t, err)
	require.Equal(t, "weights", string(got))
}

// In write-back mode, renaming a file whose upload has not started moves
// the upload to the new name: no server-side copy, and the old name never
// reaches the bucket.
func TestWriteBackRenameRetargetsQueuedUpload(t *testing.T) {
	inner := newMem()
	st := faulty.Wrap(inner, faulty.Options{})
	gate := make(chan struct{})
	var mu sync.Mutex
	var puts []string
	st.SetBefore(func(op, key string) error {
		if op == faulty.OpPut {
			mu.Lock()
			puts = append(puts, key)
			mu.Unlock()
			<-gate
		}
		return nil
	})
	f := newFS(t, st, func(o *byobfs.Options, c *cache.Options) { o.WriteBack = true; o.WriteBackConcurrency = 1 })
	mnt := testMount(t, f, MountOptions{})
	// The one worker is busy with "first", so "ckpt.tmp" stays queued.
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "first"), []byte("1"), 0o644))
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(puts) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "ckpt.tmp"), []byte("step 100"), 0o644))
	require.NoError(t, os.Rename(filepath.Join(mnt, "ckpt.tmp"), filepath.Join(mnt, "ckpt")))
	b, err := os.ReadFile(filepath.Join(mnt, "ckpt"))
	require.NoError(t, err)
	require.Equal(t, "step 100", string(b))
	_, err = os.Stat(filepath.Join(mnt, "ckpt.tmp"))
	require.ErrorIs(t, err, os.ErrNotExist)
	p, err := f.Pending(context.Background())
	require.NoError(t, err)
	require.Len(t, p, 2)
	require.Equal(t, "ckpt", p[1].Key, "the queued entry now names the new key")
	close(gate)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.Drain(ctx))
	got, err := get(t, inner, "ckpt")
	require.NoError(t, err)
	require.Equal(t, "step 100", string(got))
	_, err = inner.Stat(context.Background(), "ckpt.tmp")
	require.ErrorIs(t, err, providers.ErrNotExist)
	require.Equal(t, 0, st.Calls(faulty.OpCopy), "no server-side copy")
	mu.Lock()
	require.Equal(t, []string{"first", "ckpt"}, puts)
	mu.Unlock()
}

// Filling a new directory (cp -r, untar) costs one Put per file and no List
// per file: the directory made here starts with an empty listing, and the
// files created since show on top of it, in lookups and in readdir.
func TestFillNewDirNoListPerFile(t *testing.T) {
	inner := newMem()
	st := faulty.Wrap(inner, faulty.Options{})
	f := newFS(t, st, func(o *byobfs.Options, c *cache.Options) { o.DirTTL = time.Minute })
	mnt := testMount(t, f, MountOptions{})
	dir := filepath.Join(mnt, "run")
	require.NoError(t, os.Mkdir(dir, 0o755))
	lists0 := st.Calls(faulty.OpList)
	const n = 40
	for i := range n {
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d", i)), []byte(fmt.Sprint(i)), 0o644))
	}
	require.Equal(t, lists0, st.Calls(faulty.OpList), "no List while the files are created")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, n, "every file created shows in readdir")
	for i := range n {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%02d", i)))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), string(b))
		got, err := get(t, inner, fmt.Sprintf("run/f%02d", i))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), string(got))
	}
	require.Equal(t, lists0, st.Calls(faulty.OpList), "nor while they are read back")
	require.NoError(t, os.Remove(filepath.Join(dir, "f07")))
	ents, err = os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, n-1, "an unlinked file is gone from readdir")
	_, err = os.Stat(filepath.Join(dir, "f07"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// The kernel's readahead of the mount is raised to MaxReadAhead (the
// kernel leaves a FUSE mount at 128 KiB whatever INIT announced). Writing
// sysfs needs root, as the mount itself does (requireFUSE).
func TestReadAheadRaised(t *testing.T) {
	requireFUSE(t)
	mnt := t.TempDir()
	srv, err := Mount(mnt, newFS(t, newMem(), nil), MountOptions{MaxReadAhead: 2 << 20})
	require.NoError(t, err)
	watch(t, mnt, srv)
	require.NoError(t, srv.ReadAheadErr)
	p, err := readAheadPath(mnt)
	require.NoError(t, err)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "2048", strings.TrimSpace(string(b)))
}

// A write-only handle writes past the kernel's page cache (FOPEN_DIRECT_IO):
// a streamed checkpoint does not fill the page cache with pages nothing will
// read, nor pay for them. A read-write handle still writes through it (mmap
// and reads through the same descriptor use those pages). cachestat(2)
// counts the file's pages in the page cache, whatever the descriptor's mode.
func TestWriteOnlyHandleSkipsPageCache(t *testing.T) {
	st := newMem()
	mnt := testMount(t, newFS(t, st, nil), MountOptions{})
	data := content(1<<20, 7)
	cached := func(name string, flags int) uint64 {
		f, err := os.OpenFile(filepath.Join(mnt, name), flags|os.O_CREATE|os.O_TRUNC, 0o644)
		require.NoError(t, err)
		defer func() { require.NoError(t, f.Close()) }()
		_, err = f.Write(data)
		require.NoError(t, err)
		var cs unix.Cachestat_t
		err = unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{Off: 0, Len: 0}, &cs, 0)
		if errors.Is(err, unix.ENOSYS) {
			testenv.Unavailable(t, "cachestat(2) (Linux 6.5)", err)
		}
		require.NoError(t, err)
		return cs.Cache
	}
	require.Equal(t, uint64(len(data)/os.Getpagesize()), cached("rw.bin", os.O_RDWR), "a read-write handle writes through the page cache")
	require.Zero(t, cached("wo.bin", os.O_WRONLY), "a write-only handle leaves it alone")
	for _, k := range []string{"rw.bin", "wo.bin"} {
		got, err := get(t, st, k)
		require.NoError(t, err)
		require.Equal(t, sum(data), sum(got), k)
	}
}
