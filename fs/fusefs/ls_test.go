package fusefs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/byobfs/byob/cache"
	byobfs "github.com/byobfs/byob/fs"
	"github.com/byobfs/byob/layout"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
	"github.com/byobfs/byob/providers/mem"
)

// listCounter counts the store's List calls by prefix.
type listCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *listCounter) before(op, key string) error {
	if op == faulty.OpList {
		c.mu.Lock()
		c.n[key]++
		c.mu.Unlock()
	}
	return nil
}

func (c *listCounter) get(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[prefix]
}

// `ls -l` through the mount reads the directory's listing once and takes
// every entry's attributes from it (READDIRPLUS): no Stat, no per-entry
// lookup, and no second listing even when reading the directory takes
// longer than DirTTL (here DirTTL is shorter than any readdir).
func TestLsLongOneListing(t *testing.T) {
	const n = 3000
	inner := mem.New(mem.DefaultOptions())
	ctx := context.Background()
	for i := range n {
		_, err := inner.Put(ctx, fmt.Sprintf("d/f%05d", i), bytes.NewReader([]byte("xy")), 2, providers.PutOptions{})
		require.NoError(t, err)
	}
	st := faulty.Wrap(inner, faulty.Options{})
	lc := &listCounter{n: map[string]int{}}
	st.SetBefore(lc.before)
	f := newFS(t, st, func(o *byobfs.Options, _ *cache.Options) {
		o.DirTTL = time.Millisecond
		o.AttrTTL = 10 * time.Second
	})
	mnt := testMount(t, f, MountOptions{})
	dir := filepath.Join(mnt, "d")

	out, err := exec.Command("ls", "-l", dir).Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, n+1) // "total" and one line per file
	require.Contains(t, lines[1], " 2 ")
	require.Equal(t, 1, lc.get("d/"), "one listing of d/")
	require.Zero(t, st.Calls(faulty.OpStat))

	// The attributes READDIRPLUS gave are what stat shows.
	var sum int64
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, n)
	for _, e := range ents {
		fi, err := e.Info()
		require.NoError(t, err)
		sum += fi.Size()
	}
	require.Equal(t, int64(2*n), sum)
	require.Zero(t, st.Calls(faulty.OpStat))
}

// Extended attributes outside "user." are not supported (EOPNOTSUPP, not
// ENODATA), so that ls -l asks for security.selinux and POSIX ACLs once
// per mount rather than once per file; user.byob.key still answers.
func TestXattrNamespaces(t *testing.T) {
	st := mem.New(mem.DefaultOptions())
	_, err := st.Put(context.Background(), "a/b", bytes.NewReader([]byte("x")), 1, providers.PutOptions{})
	require.NoError(t, err)
	mnt := testMount(t, newFS(t, st, nil), MountOptions{})
	p := filepath.Join(mnt, "a", "b")
	buf := make([]byte, 256)
	for _, name := range []string{"security.selinux", "system.posix_acl_access", "trusted.x"} {
		_, err := syscall.Getxattr(p, name, buf)
		require.ErrorIs(t, err, syscall.EOPNOTSUPP, name)
	}
	_, err = syscall.Getxattr(p, "user.other", buf)
	require.ErrorIs(t, err, syscall.ENODATA)
	k, err := syscall.Getxattr(p, layout.XattrKey, buf)
	require.NoError(t, err)
	require.Equal(t, "a/b", string(buf[:k]))
}

// Entries a readdir returns from a listing carry its attributes, and files
// being written show their local size meanwhile; a rewind lists again once
// the listing is stale.
func TestReaddirLocalAndRewind(t *testing.T) {
	st := mem.New(mem.DefaultOptions())
	ctx := context.Background()
	for _, k := range []string{"d/a", "d/c"} {
		_, err := st.Put(ctx, k, bytes.NewReader([]byte("abc")), 3, providers.PutOptions{})
		require.NoError(t, err)
	}
	mnt := testMount(t, newFS(t, st, func(o *byobfs.Options, _ *cache.Options) { o.DirTTL = 50 * time.Millisecond }), MountOptions{})
	dir := filepath.Join(mnt, "d")
	w, err := os.Create(filepath.Join(dir, "b"))
	require.NoError(t, err)
	defer w.Close()
	_, err = w.Write([]byte("12345"))
	require.NoError(t, err)

	d, err := os.Open(dir)
	require.NoError(t, err)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, names)
	for name, size := range map[string]int64{"a": 3, "b": 5, "c": 3} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, size, fi.Size(), name)
	}

	// Out of band: a new object; after DirTTL a rewind shows it.
	_, err = st.Put(ctx, "d/e", bytes.NewReader([]byte("e")), 1, providers.PutOptions{})
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond)
	_, err = d.Seek(0, 0)
	require.NoError(t, err)
	names, err = d.Readdirnames(-1)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c", "e"}, names)
}

// The kernel keeps a directory's entries while its listing stays the same:
// a second readdir costs this mount nothing. A change made through the
// mount shows at once; an object added or removed out of band shows once
// the listing is stale (DirTTL), as without the kernel's copy.
func TestKernelKeepsListing(t *testing.T) {
	const ttl = 300 * time.Millisecond
	st := mem.New(mem.DefaultOptions())
	ctx := context.Background()
	var want []string
	for i := range 200 {
		k := fmt.Sprintf("f%03d", i)
		put(t, st, "d/"+k, []byte("x"))
		want = append(want, k)
	}
	mnt := testMount(t, newFS(t, st, func(o *byobfs.Options, _ *cache.Options) { o.DirTTL, o.AttrTTL = ttl, ttl }), MountOptions{})
	dir := filepath.Join(mnt, "d")
	// names lists dir and returns the names and how many entries this
	// mount returned meanwhile.
	names := func() ([]string, int64) {
		t.Helper()
		n0 := readdirEntries.Load()
		d, err := os.Open(dir)
		require.NoError(t, err)
		defer d.Close()
		got, err := d.Readdirnames(-1)
		require.NoError(t, err)
		slices.Sort(got)
		return got, readdirEntries.Load() - n0
	}
	got, served := names()
	require.Equal(t, want, got)
	require.EqualValues(t, 200, served)
	got, served = names()
	require.Equal(t, want, got)
	require.Zero(t, served, "the second readdir reads the kernel's copy")

	// Through the mount: shown at once.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "g"), []byte("y"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(dir, "f000")))
	got, _ = names()
	require.Equal(t, append(slices.Clone(want[1:]), "g"), got)
	want = got

	// Out of band: a removal (the directory's mtime does not move, so
	// only the dropped copy shows it), then an addition.
	_, _ = names() // the kernel's copy of this listing, filled
	got, served = names()
	require.Equal(t, want, got)
	require.Zero(t, served)
	require.NoError(t, st.Delete(ctx, "d/f100"))
	time.Sleep(ttl + 100*time.Millisecond)
	got, _ = names()
	require.NotContains(t, got, "f100")
	require.Len(t, got, len(want)-1)
	got, served = names()
	require.NotContains(t, got, "f100")
	require.Zero(t, served)
	put(t, st, "d/h", []byte("z"))
	time.Sleep(ttl + 100*time.Millisecond)
	got, _ = names()
	require.Contains(t, got, "h")
	require.Len(t, got, len(want))
}

// An empty directory is never kept by the kernel: it answers from an empty
// copy without looking at its pages, so only the directory's mtime could
// drop that copy, and a directory's mtime need not move when an object
// appears (here it was set ahead). A rewind of a handle gives the same
// names again, once each.
func TestKernelNeverKeepsEmptyListing(t *testing.T) {
	const ttl = 300 * time.Millisecond
	st := mem.New(mem.DefaultOptions())
	put(t, st, "e/", nil)
	put(t, st, "d/a", []byte("x"))
	put(t, st, "d/b", []byte("x"))
	mnt := testMount(t, newFS(t, st, func(o *byobfs.Options, _ *cache.Options) { o.DirTTL, o.AttrTTL = ttl, ttl }), MountOptions{})
	dir := filepath.Join(mnt, "e")
	ahead := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(dir, ahead, ahead))
	for range 2 {
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Empty(t, ents)
	}
	put(t, st, "e/x", []byte("y"))
	time.Sleep(ttl + 100*time.Millisecond)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	require.Equal(t, "x", ents[0].Name())

	d, err := os.Open(filepath.Join(mnt, "d"))
	require.NoError(t, err)
	defer d.Close()
	for range 3 {
		names, err := d.Readdirnames(-1)
		require.NoError(t, err)
		require.Equal(t, []string{"a", "b"}, names)
		_, err = d.Seek(0, io.SeekStart)
		require.NoError(t, err)
	}
}

// A handle whose entries go into the kernel's copy, rewound before it read
// to the end, starts over its own listing, the one that copy is of: not a
// newer listing (which would fill the copy with another listing's names
// under the old one's generation). A new open then sees the newer listing.
func TestKernelCopyRewindKeepsListing(t *testing.T) {
	const ttl = 200 * time.Millisecond
	st := mem.New(mem.DefaultOptions())
	var want []string
	for i := range 2000 {
		k := fmt.Sprintf("f%04d", i)
		put(t, st, "d/"+k, []byte("x"))
		want = append(want, k)
	}
	mnt := testMount(t, newFS(t, st, func(o *byobfs.Options, _ *cache.Options) { o.DirTTL, o.AttrTTL = ttl, ttl }), MountOptions{})
	dir := filepath.Join(mnt, "d")
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	n, err := unix.Getdents(fd, buf)
	require.NoError(t, err)
	require.Positive(t, n) // a first page of entries only

	put(t, st, "d/new", []byte("y"))
	time.Sleep(ttl + 100*time.Millisecond)
	_, err = unix.Seek(fd, 0, 0)
	require.NoError(t, err)
	var got []string
	for {
		n, err := unix.Getdents(fd, buf)
		require.NoError(t, err)
		if n == 0 {
			break
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		got = append(got, names...)
	}
	require.Equal(t, want, got, "the rewound handle reads its own listing, each name once")

	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, len(want)+1, "a new open sees the newer listing")
}
