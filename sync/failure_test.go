package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
)

// unordered wraps a store and swaps two neighbouring entries of its listings.
type unordered struct {
	providers.Store
	swapAt int
}

func (u unordered) List(ctx context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	var held *providers.Entry
	i := 0
	err := u.Store.List(ctx, opts, func(e providers.Entry) error {
		i++
		if i == u.swapAt {
			held = &e
			return nil
		}
		if err := fn(e); err != nil {
			return err
		}
		if held != nil {
			h := *held
			held = nil
			return fn(h)
		}
		return nil
	})
	if err == nil && held != nil {
		err = fn(*held)
	}
	return err
}

func someFiles(n int) tree {
	tr := tree{}
	for i := range n {
		tr[fmt.Sprintf("f%03d", i)] = f(fmt.Sprintf("data %d", i), int64(1000+i))
	}
	return tr
}

func TestUnorderedListingDeletesNothing(t *testing.T) {
	for _, which := range []string{"source", "destination"} {
		t.Run(which, func(t *testing.T) {
			srcM, dstM := newMem(), newMem()
			src := Side{Store: srcM, Name: "s"}
			dst := Side{Store: dstM, Name: "d"}
			putTree(t, src, nil, someFiles(10))
			putTree(t, dst, nil, tree{"zz-only-in-dst": f("x", 1), "f001": f("y", 1)})
			if which == "source" {
				src.Store = unordered{srcM, 4}
			} else {
				dst.Store = unordered{dstM, 1}
			}
			opts := DefaultOptions()
			opts.Delete = true
			r, err := Run(context.Background(), src, dst, opts)
			require.ErrorIs(t, err, ErrUnordered)
			require.ErrorIs(t, err, ErrListing)
			var pe *PartialError
			require.False(t, errors.As(err, &pe), "a failed listing is a total failure")
			require.Zero(t, r.Deleted)
			_, err = dstM.Stat(context.Background(), "zz-only-in-dst")
			require.NoError(t, err, "nothing deleted")
		})
	}
}

func TestFailedListingDeletesNothing(t *testing.T) {
	for _, which := range []string{"source", "destination"} {
		t.Run(which, func(t *testing.T) {
			srcM, dstM := newMem(), newMem()
			putTree(t, Side{Store: srcM}, nil, someFiles(600))
			putTree(t, Side{Store: dstM}, nil, tree{"zz": f("x", 1)})
			src, dst := Side{Store: srcM, Name: "s"}, Side{Store: dstM, Name: "d"}
			fs := faulty.Wrap(srcM, faulty.Options{Rules: []faulty.StoreRule{faulty.CutList(300)}})
			if which == "source" {
				src.Store = fs
			} else {
				dst.Store = faulty.Wrap(dstM, faulty.Options{Rules: []faulty.StoreRule{faulty.FailNth(faulty.OpList, 1)}})
			}
			opts := DefaultOptions()
			opts.Delete = true
			r, err := Run(context.Background(), src, dst, opts)
			require.ErrorIs(t, err, ErrListing)
			require.ErrorIs(t, err, faulty.ErrInjected)
			require.Zero(t, r.Deleted)
			_, err = dstM.Stat(context.Background(), "zz")
			require.NoError(t, err)
		})
	}
}

func TestTransferFailureSkipsDeletes(t *testing.T) {
	srcM, dstM := newMem(), newMem()
	putTree(t, Side{Store: srcM}, nil, someFiles(5))
	putTree(t, Side{Store: dstM}, nil, tree{"zz": f("x", 1)})
	dst := faulty.Wrap(dstM, faulty.Options{Rules: []faulty.StoreRule{faulty.FailNth(faulty.OpPut, 2)}})
	opts := DefaultOptions()
	opts.Delete = true
	r, err := Run(context.Background(), Side{Store: srcM, Name: "s"}, Side{Store: dst, Name: "d"}, opts)
	var pe *PartialError
	require.ErrorAs(t, err, &pe)
	require.True(t, pe.DeletesSkipped)
	require.ErrorIs(t, err, ErrDeletesSkipped)
	require.ErrorIs(t, err, faulty.ErrInjected)
	require.EqualValues(t, 1, r.Failed)
	require.EqualValues(t, 4, r.Copied)
	require.NotEmpty(t, r.DeletesSkipped)
	_, err = dstM.Stat(context.Background(), "zz")
	require.NoError(t, err)

	// Resume: the re-run moves only the missing file, then deletes.
	r, err = Run(context.Background(), Side{Store: srcM, Name: "s"}, Side{Store: dstM, Name: "d"}, opts)
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Copied)
	require.EqualValues(t, 4, r.Skipped)
	require.EqualValues(t, 1, r.Deleted)
}

func TestMaxDelete(t *testing.T) {
	src, dst := Side{Store: newMem(), Name: "s"}, Side{Store: newMem(), Name: "d"}
	putTree(t, dst, nil, someFiles(3))
	opts := DefaultOptions()
	opts.Delete, opts.MaxDelete, opts.AllowEmptySource = true, 2, true
	r, err := Run(context.Background(), src, dst, opts)
	require.ErrorIs(t, err, ErrMaxDelete)
	require.Zero(t, r.Deleted)
	require.Len(t, readTree(t, dst, nil, false), 3)
	opts.MaxDelete = 3
	r, err = Run(context.Background(), src, dst, opts)
	require.NoError(t, err)
	require.EqualValues(t, 3, r.Deleted)
	require.Empty(t, readTree(t, dst, nil, false))
}

func TestBackupDir(t *testing.T) {
	t.Run("store", func(t *testing.T) {
		m := newMem()
		src, dst := Side{Store: newMem(), Name: "s"}, Side{Store: m, Name: "d", Prefix: "live"}
		putTree(t, src, nil, tree{"a": f("new-a", 2000)})
		putTree(t, dst, nil, tree{"a": f("old-a", 1000), "b": f("old-b", 1000)})
		opts := DefaultOptions()
		opts.Delete, opts.BackupDir = true, "bak"
		_, err := Run(context.Background(), src, dst, opts)
		require.NoError(t, err)
		requireSameTree(t, tree{"a": f("new-a", 2000)}, readTree(t, dst, nil, false))
		requireSameTree(t, tree{"a": f("old-a", 1000), "b": f("old-b", 1000)},
			readTree(t, Side{Store: m, Prefix: "bak"}, nil, false))
	})
	t.Run("local", func(t *testing.T) {
		src, dst := Side{Store: newMem(), Name: "s"}, Side{LocalDir: t.TempDir()}
		bak := t.TempDir()
		putTree(t, src, nil, tree{"a": f("new-a", 2000)})
		putTree(t, dst, nil, tree{"a": f("old-a", 1000), "x/b": f("old-b", 1000)})
		opts := DefaultOptions()
		opts.Delete, opts.BackupDir = true, bak
		_, err := Run(context.Background(), src, dst, opts)
		require.NoError(t, err)
		requireSameTree(t, tree{"a": f("new-a", 2000)}, readTree(t, dst, nil, false))
		requireSameTree(t, tree{"a": f("old-a", 1000), "x/b": f("old-b", 1000)}, readTree(t, Side{LocalDir: bak}, nil, false))
	})
}

func TestOverlapRefused(t *testing.T) {
	dir := t.TempDir()
	m := newMem()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "ab"), 0o755)) // sources exist
	putTree(t, Side{Store: m}, nil, tree{"a/x": f("x", 1)})
	cases := []struct {
		name     string
		src, dst Side
		backup   string
		overlap  bool
	}{
		{"local dst inside src", Side{LocalDir: dir}, Side{LocalDir: filepath.Join(dir, "sub")}, "", true},
		{"local src inside dst", Side{LocalDir: filepath.Join(dir, "a", "b")}, Side{LocalDir: dir + "/a/"}, "", true},
		{"local same", Side{LocalDir: dir}, Side{LocalDir: dir}, "", true},
		{"local siblings", Side{LocalDir: filepath.Join(dir, "ab")}, Side{LocalDir: filepath.Join(dir, "a")}, "", false},
		{"store nested", Side{Store: m, Prefix: "a"}, Side{Store: m, Prefix: "a/b"}, "", true},
		{"store whole bucket", Side{Store: m}, Side{Store: m, Prefix: "x"}, "", true},
		{"store siblings", Side{Store: m, Prefix: "a"}, Side{Store: m, Prefix: "ab"}, "", false},
		{"other stores", Side{Store: m, Prefix: "a"}, Side{Store: newMem(), Prefix: "a"}, "", false},
		{"same Name", Side{Store: m, Name: "n", Prefix: "a"}, Side{Store: newMem(), Name: "n", Prefix: "a/b"}, "", true},
		{"backup inside dst", Side{Store: m, Prefix: "a"}, Side{Store: m, Prefix: "b"}, "b/old", true},
		{"backup inside src", Side{Store: m, Prefix: "a"}, Side{Store: m, Prefix: "b"}, "a/old", true},
		{"backup outside", Side{Store: m, Prefix: "a"}, Side{Store: m, Prefix: "b"}, "c", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.BackupDir = c.backup
			opts.DryRun = true
			_, err := Run(context.Background(), c.src, c.dst, opts)
			if c.overlap {
				require.ErrorIs(t, err, ErrOverlap)
			} else {
				require.NoError(t, err)
			}
		})
	}
	// A symlink to the source is still the source.
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(dir, link))
	_, err := Run(context.Background(), Side{LocalDir: dir}, Side{LocalDir: filepath.Join(link, "x")}, DefaultOptions())
	require.ErrorIs(t, err, ErrOverlap)
}

// TestNoOpResyncRequests: the second run of an unchanged tree lists each
// side once and sends no HEAD or GET, in both directions, once the index
// knows the objects; with an empty index, it costs one HEAD per object once.
func TestNoOpResyncRequests(t *testing.T) {
	const n = 50
	ctx := context.Background()
	t.Run("upload", func(t *testing.T) {
		local := Side{LocalDir: t.TempDir()}
		putTree(t, local, nil, someFiles(n))
		m := faulty.Wrap(newMem(), faulty.Options{})
		remote := Side{Store: m, Name: "m"}
		opts := DefaultOptions()
		opts.Index = NewMemIndex()
		r, err := Run(ctx, local, remote, opts)
		require.NoError(t, err)
		require.EqualValues(t, n, r.Copied)
		m.Reset()
		r, err = Run(ctx, local, remote, opts)
		require.NoError(t, err)
		require.EqualValues(t, n, r.Skipped)
		require.Equal(t, 1, m.Calls(faulty.OpList))
		require.Zero(t, m.Calls(faulty.OpStat)+m.Calls(faulty.OpGet)+m.Calls(faulty.OpPut))

		// A fresh index: one HEAD per object, then none.
		opts.Index = NewMemIndex()
		m.Reset()
		_, err = Run(ctx, local, remote, opts)
		require.NoError(t, err)
		require.Equal(t, n, m.Calls(faulty.OpStat))
		require.Zero(t, m.Calls(faulty.OpPut))
		m.Reset()
		_, err = Run(ctx, local, remote, opts)
		require.NoError(t, err)
		require.Zero(t, m.Calls(faulty.OpStat))

		// --checksum: the checksums remembered at upload (or by the one
		// HEAD) answer too; local hashes come from the fingerprint index.
		opts.Compare = CompareChecksum
		m.Reset()
		r, err = Run(ctx, local, remote, opts)
		require.NoError(t, err)
		require.EqualValues(t, n, r.Skipped)
		require.Zero(t, m.Calls(faulty.OpStat)+m.Calls(faulty.OpGet))
	})
	t.Run("download", func(t *testing.T) {
		inner := newMem()
		putTree(t, Side{Store: inner}, nil, someFiles(n))
		m := faulty.Wrap(inner, faulty.Options{})
		remote := Side{Store: m, Name: "m"}
		local := Side{LocalDir: t.TempDir()}
		opts := DefaultOptions()
		opts.Index = NewMemIndex()
		_, err := Run(ctx, remote, local, opts)
		require.NoError(t, err)
		require.Equal(t, n, m.Calls(faulty.OpGet))
		m.Reset()
		r, err := Run(ctx, remote, local, opts)
		require.NoError(t, err)
		require.EqualValues(t, n, r.Skipped)
		require.Equal(t, 1, m.Calls(faulty.OpList))
		require.Zero(t, m.Calls(faulty.OpStat)+m.Calls(faulty.OpGet))
	})
	t.Run("bucket-to-bucket", func(t *testing.T) {
		inner := newMem()
		putTree(t, Side{Store: inner, Prefix: "a"}, nil, someFiles(n))
		m := faulty.Wrap(inner, faulty.Options{})
		opts := DefaultOptions()
		opts.Index = NewMemIndex()
		src, dst := Side{Store: m, Name: "m", Prefix: "a"}, Side{Store: m, Name: "m", Prefix: "b"}
		_, err := Run(ctx, src, dst, opts)
		require.NoError(t, err)
		require.Equal(t, n, m.Calls(faulty.OpCopy), "server-side copies")
		require.Zero(t, m.Calls(faulty.OpGet)+m.Calls(faulty.OpPut))
		m.Reset()
		_, err = Run(ctx, src, dst, opts)
		require.NoError(t, err)
		require.Equal(t, 2, m.Calls(faulty.OpList))
		// Source objects were never HEADed by the first run (new files need
		// no compare), so the source side costs one HEAD each, once.
		require.Equal(t, n, m.Calls(faulty.OpStat))
		m.Reset()
		_, err = Run(ctx, src, dst, opts)
		require.NoError(t, err)
		require.Zero(t, m.Calls(faulty.OpStat)+m.Calls(faulty.OpGet)+m.Calls(faulty.OpCopy))
	})
}

// changingStore modifies a local file while a Put reads it.
type changingStore struct {
	providers.Store
	path  string
	times int // how many Puts change the file
}

func (c *changingStore) Put(ctx context.Context, key string, r io.Reader, size int64, opts providers.PutOptions) (providers.ObjectInfo, error) {
	if c.times > 0 {
		c.times--
		buf := make([]byte, 3)
		if _, err := io.ReadFull(r, buf); err != nil {
			return providers.ObjectInfo{}, err
		}
		// Same size, new bytes and a new mtime: only the re-check can tell.
		data, _ := os.ReadFile(c.path)
		copy(data, strings.ToUpper(string(data)))
		if err := os.WriteFile(c.path, data, 0o644); err != nil {
			return providers.ObjectInfo{}, err
		}
		mt := time.Unix(5000+int64(c.times), 0)
		if err := os.Chtimes(c.path, mt, mt); err != nil {
			return providers.ObjectInfo{}, err
		}
		r = io.MultiReader(strings.NewReader(string(buf)), r)
	}
	return c.Store.Put(ctx, key, r, size, opts)
}

func TestSourceChangedDuringUpload(t *testing.T) {
	for _, changes := range []int{1, 5} {
		t.Run(fmt.Sprintf("changes=%d", changes), func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f")
			require.NoError(t, os.WriteFile(p, []byte("hello world"), 0o644))
			m := newMem()
			opts := DefaultOptions()
			opts.ChangedRetries = 2
			r, err := Run(context.Background(), Side{LocalDir: dir}, Side{Store: &changingStore{Store: m, path: p, times: changes}, Name: "m"}, opts)
			if changes <= opts.ChangedRetries {
				require.NoError(t, err)
				requireSameTree(t, tree{"f": f("HELLO WORLD", 5000+int64(changes-1))}, readTree(t, Side{Store: m}, nil, false))
				return
			}
			require.ErrorIs(t, err, ErrSourceChanged)
			require.EqualValues(t, 1, r.Failed)
			require.Zero(t, m.Len(), "nothing stored, never a mix")
		})
	}
}

func TestSymlinks(t *testing.T) {
	dir := t.TempDir()
	putTree(t, Side{LocalDir: dir}, nil, tree{"real": f("data", 1000), "d/x": f("x", 1000)})
	require.NoError(t, os.Symlink("real", filepath.Join(dir, "link")))
	require.NoError(t, os.Symlink("d", filepath.Join(dir, "dlink")))
	require.NoError(t, os.Symlink(".", filepath.Join(dir, "d", "loop")))
	for _, follow := range []bool{false, true} {
		m := Side{Store: newMem(), Name: "m"}
		opts := DefaultOptions()
		opts.CopyLinks = follow
		r, err := Run(context.Background(), Side{LocalDir: dir}, m, opts)
		require.NoError(t, err)
		got := keysOf(readTree(t, m, nil, false))
		if follow {
			require.Equal(t, []string{"d/x", "dlink/x", "link", "real"}, got)
		} else {
			require.EqualValues(t, 3, r.SymlinksSkipped)
			require.Equal(t, []string{"d/x", "real"}, got)
		}
	}
}

func TestDownloadIsAtomicAndSetsMtime(t *testing.T) {
	inner := newMem()
	putTree(t, Side{Store: inner}, nil, tree{"a/b": f("content", 1234), "c": f("other", 99)})
	m := faulty.Wrap(inner, faulty.Options{Rules: []faulty.StoreRule{{Op: faulty.OpGet, Key: "c", Action: faulty.Cut, After: 2}}})
	dir := t.TempDir()
	_, err := Run(context.Background(), Side{Store: m, Name: "m"}, Side{LocalDir: dir}, DefaultOptions())
	require.Error(t, err)
	requireSameTree(t, tree{"a/b": f("content", 1234)}, readTree(t, Side{LocalDir: dir}, nil, false))
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		require.False(t, isTempName(e.Name()), "temporary file left: %s", e.Name())
	}
}

func TestEvents(t *testing.T) {
	src, dst := Side{Store: newMem(), Name: "s"}, Side{Store: newMem(), Name: "d"}
	putTree(t, src, nil, someFiles(3))
	var planned, done int
	opts := DefaultOptions()
	opts.OnEvent = func(e Event) {
		if e.Planned {
			planned++
		}
		if e.Done {
			done++
			require.Empty(t, e.Err)
		}
	}
	r, err := Run(context.Background(), src, dst, opts)
	require.NoError(t, err)
	require.Equal(t, 3, planned)
	require.Equal(t, 3, done)
	require.EqualValues(t, len("data 0")*3, r.Bytes)
}
