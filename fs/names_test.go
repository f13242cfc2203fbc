package fs

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/layout"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/mem"
)

// storeObjects returns the store's objects that are not directory markers.
func storeObjects(t *testing.T, st providers.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := st.List(context.Background(), providers.ListOptions{}, func(e providers.Entry) error {
		if strings.HasSuffix(e.Key, "/") {
			return nil
		}
		rc, _, err := st.Get(context.Background(), e.Key, 0, -1, providers.GetOptions{})
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		out[e.Key] = string(b)
		return err
	})
	require.NoError(t, err)
	return out
}

// writeFile creates (or truncates) name in dir through the core and closes it.
func writeFile(ctx context.Context, dir *Node, name, content string) error {
	_, h, err := dir.Create(ctx, name, syscall.O_WRONLY|syscall.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := h.Write(ctx, []byte(content), 0); err != nil {
		h.Release(ctx)
		return err
	}
	if err := h.Flush(ctx, 0); err != nil {
		h.Release(ctx)
		return err
	}
	return h.Release(ctx)
}

// An empty key segment ("a//b") shows as a directory named "%%"; that name
// never resolves to its parent, whether the parent was listed or not.
func TestEmptySegmentIsADirectory(t *testing.T) {
	for _, listed := range []bool{false, true} {
		name := "probed"
		if listed {
			name = "listed"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := mem.New(mem.DefaultOptions())
			putObj(t, st, "a/", nil)
			putObj(t, st, "a/top.txt", []byte("top"))
			putObj(t, st, "a//inner.txt", []byte("inner"))
			f := newTestFS(t, st, nil)
			a, err := f.Root().Lookup(ctx, "a")
			require.NoError(t, err)
			if listed {
				_, err := a.ReadDir(ctx)
				require.NoError(t, err)
			}
			e, err := a.Lookup(ctx, "%%")
			require.NoError(t, err)
			require.True(t, e.IsDir())
			require.NotSame(t, a, e)
			require.Equal(t, "a//", e.Key())
			in, err := e.Lookup(ctx, "inner.txt")
			require.NoError(t, err)
			require.Equal(t, "a//inner.txt", in.Key())
			_, err = e.Lookup(ctx, "top.txt")
			require.ErrorIs(t, err, providers.ErrNotExist)

			// A file named "%%" cannot exist: its key would end in "/".
			// Where the directory "%%" exists, creating the file is EISDIR.
			_, _, err = a.Create(ctx, "%%", syscall.O_WRONLY, 0)
			require.Equal(t, syscall.EISDIR, Errno(err))
			_, _, err = in.Create(ctx, "%%", syscall.O_WRONLY, 0)
			require.Equal(t, syscall.ENOTDIR, Errno(err))
			_, _, err = f.Root().Create(ctx, "%%", syscall.O_WRONLY, 0)
			require.Equal(t, syscall.EINVAL, Errno(err))
			// Writing %%/top.txt goes below the empty segment.
			require.NoError(t, writeFile(ctx, e, "top.txt", "new"))
			objs := storeObjects(t, st)
			require.Equal(t, map[string]string{"a/top.txt": "top", "a//inner.txt": "inner", "a//top.txt": "new"}, objs)
			// A file cannot be renamed to "%%"; unlinking "%%" is EISDIR.
			top, err := a.Lookup(ctx, "top.txt")
			require.NoError(t, err)
			require.Equal(t, syscall.EINVAL, Errno(a.Rename(ctx, "top.txt", a, "%%", 0)))
			require.Equal(t, syscall.EISDIR, Errno(a.Unlink(ctx, "%%")))
			require.Equal(t, "a/top.txt", top.Key())
			// Emptying and removing "%%" leaves the parent alone.
			require.NoError(t, e.Unlink(ctx, "top.txt"))
			require.NoError(t, e.Unlink(ctx, "inner.txt"))
			// (an implicit directory goes with its last object)
			if err := a.Rmdir(ctx, "%%"); err != nil {
				require.ErrorIs(t, err, providers.ErrNotExist)
			}
			require.Equal(t, map[string]string{"a/top.txt": "top"}, storeObjects(t, st))
		})
	}
}

// mkdir "%%" makes the empty segment's directory, not EEXIST for the parent.
func TestMkdirEmptySegment(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.DefaultOptions())
	putObj(t, st, "a/x", []byte("x"))
	f := newTestFS(t, st, nil)
	a, err := f.Root().Lookup(ctx, "a")
	require.NoError(t, err)
	d, err := a.Mkdir(ctx, "%%")
	require.NoError(t, err)
	require.Equal(t, "a//", d.Key())
	_, err = st.Stat(ctx, "a//")
	require.NoError(t, err)
}

// nameOps drives the core with create, mkdir, rename, unlink and rm -r on
// paths built from names that the layout escape treats specially, and
// checks after every operation that the store holds exactly what a model
// keyed by layout's mapping says: no name aliases another path.
func nameOps(t *testing.T, seed uint64, steps int) {
	ctx := context.Background()
	names := []string{"a", "b", "%%", "%%.", "%%..", "%%%25%25", "a%obj", "%", "%%x", "%%%00"}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	st := mem.New(mem.DefaultOptions())
	f := newTestFS(t, st, func(o *Options) { o.AttrTTL, o.DirTTL, o.NegativeTTL = 1, 1, 1 })
	model := map[string]string{}
	randPath := func() []string {
		p := make([]string, 1+rng.IntN(3))
		for i := range p {
			p[i] = names[rng.IntN(len(names))]
		}
		return p
	}
	keyOf := func(p []string) string {
		segs := make([]string, len(p))
		for i, n := range p {
			s, err := layout.DecodeName(n)
			require.NoError(t, err)
			segs[i] = s
		}
		return strings.Join(segs, "/")
	}
	// dirOf walks to the directory holding path p, making its directories
	// when mk is set.
	dirOf := func(p []string, mk bool) (*Node, error) {
		d := f.Root()
		for _, n := range p[:len(p)-1] {
			c, err := d.Lookup(ctx, n)
			if errors.Is(err, providers.ErrNotExist) && mk {
				c, err = d.Mkdir(ctx, n)
			}
			if err != nil {
				return nil, err
			}
			if !c.IsDir() {
				return nil, ErrNotDir
			}
			d = c
		}
		return d, nil
	}
	var rmTree func(d *Node) error
	rmTree = func(d *Node) error {
		ents, err := d.ReadDir(ctx)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.IsDir {
				c, err := d.Lookup(ctx, e.Name)
				if err != nil {
					return err
				}
				if err := rmTree(c); err != nil {
					return err
				}
				if err := d.Rmdir(ctx, e.Name); err != nil {
					return err
				}
			} else if err := d.Unlink(ctx, e.Name); err != nil {
				return err
			}
		}
		return nil
	}
	for i := 0; i < steps; i++ {
		p := randPath()
		k := keyOf(p)
		var desc string
		switch op := rng.IntN(5); op {
		case 0, 1:
			content := strings.Repeat(string(rune('A'+rng.IntN(26))), 1+rng.IntN(5))
			desc = "write " + strings.Join(p, "/")
			d, err := dirOf(p, true)
			if err == nil {
				err = writeFile(ctx, d, p[len(p)-1], content)
			}
			if err == nil {
				model[k] = content
			}
		case 2:
			desc = "mkdir " + strings.Join(p, "/")
			if d, err := dirOf(p, true); err == nil {
				d.Mkdir(ctx, p[len(p)-1])
			}
		case 3:
			q := randPath()
			kq := keyOf(q)
			desc = "rename " + strings.Join(p, "/") + " " + strings.Join(q, "/")
			d, err := dirOf(p, false)
			if err != nil {
				break
			}
			src, err := d.Lookup(ctx, p[len(p)-1])
			if err != nil {
				break
			}
			dq, err := dirOf(q, true)
			if err != nil {
				break
			}
			if err := d.Rename(ctx, p[len(p)-1], dq, q[len(q)-1], 0); err != nil {
				break
			}
			if k == kq {
				break
			}
			if src.IsDir() {
				moved := map[string]string{}
				for mk, v := range model {
					if rest, ok := strings.CutPrefix(mk, k+"/"); ok {
						moved[kq+"/"+rest] = v
						delete(model, mk)
					}
				}
				for mk := range model {
					if strings.HasPrefix(mk, kq+"/") {
						delete(model, mk)
					}
				}
				for mk, v := range moved {
					model[mk] = v
				}
			} else {
				model[kq] = model[k]
				delete(model, k)
			}
		case 4:
			desc = "rm -r " + strings.Join(p, "/")
			d, err := dirOf(p, false)
			if err != nil {
				break
			}
			c, err := d.Lookup(ctx, p[len(p)-1])
			if err != nil {
				break
			}
			if !c.IsDir() {
				if d.Unlink(ctx, p[len(p)-1]) == nil {
					delete(model, k)
				}
				break
			}
			require.NoError(t, rmTree(c), "seed %d step %d: %s", seed, i, desc)
			for mk := range model {
				if strings.HasPrefix(mk, k+"/") {
					delete(model, mk)
				}
			}
			d.Rmdir(ctx, p[len(p)-1])
		}
		got := storeObjects(t, st)
		if len(model) == 0 && len(got) == 0 {
			continue
		}
		keys := make([]string, 0, len(model))
		for k := range model {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		require.Equal(t, model, got, "seed %d step %d: %s (model keys %q)", seed, i, desc, keys)
	}
}

func TestNameOps(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 5
	}
	for s := range uint64(seeds) {
		nameOps(t, s, 60)
	}
}

func FuzzNameOps(f *testing.F) {
	for s := range uint64(8) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { nameOps(t, seed, 40) })
}
