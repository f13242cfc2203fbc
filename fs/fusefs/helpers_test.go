package fusefs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/cache"
	byobfs "github.com/byobfs/byob/fs"
	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/local"
	"github.com/byobfs/byob/providers/mem"
)

const testBlockSize = 256 << 10

func requireFUSE(t *testing.T) {
	t.Helper()
	testenv.RequireFUSE(t)
}

// newFS builds an FS over st with a fresh cache in a temp dir.
func newFS(t *testing.T, st providers.Store, mut func(*byobfs.Options, *cache.Options)) *byobfs.FS {
	t.Helper()
	copts := cache.Options{Dir: t.TempDir(), NoSync: true, BlockSize: testBlockSize, MaxSize: 1 << 30, MinFree: -1}
	o := byobfs.Options{Store: st, StoreID: "test", AttrTTL: time.Second, DirTTL: time.Second, NegativeTTL: time.Second}
	if mut != nil {
		mut(&o, &copts)
	}
	c, err := cache.Open(copts)
	require.NoError(t, err)
	o.Cache = c
	f, err := byobfs.New(o)
	require.NoError(t, err)
	t.Cleanup(func() {
		f.Close()
		c.Close()
	})
	return f
}

// testMount mounts f in a temp dir, in process. A watchdog force-unmounts
// (lazy unmount, then abort through fusectl) if the test hangs past its
// deadline; the mount is unmounted in t.Cleanup.
func testMount(t *testing.T, f *byobfs.FS, opts MountOptions) string {
	t.Helper()
	requireFUSE(t)
	mnt := t.TempDir()
	srv, err := Mount(mnt, f, opts)
	require.NoError(t, err)
	watch(t, mnt, srv)
	return mnt
}

// watch guards a mount: a watchdog force-unmounts it if the test hangs, and
// t.Cleanup unmounts it.
func watch(t *testing.T, mnt string, srv *Server) {
	t.Helper()
	limit := 3 * time.Minute
	if dl, ok := t.Deadline(); ok && time.Until(dl) < limit+10*time.Second {
		limit = time.Until(dl) - 10*time.Second
	}
	var st syscall.Stat_t
	_ = syscall.Stat(mnt, &st)
	dev := st.Dev
	dog := time.AfterFunc(limit, func() {
		fmt.Fprintf(os.Stderr, "watchdog: %s hung, force-unmounting %s\n", t.Name(), mnt)
		testenv.ForceUnmount(mnt, dev)
	})
	t.Cleanup(func() {
		dog.Stop()
		if leaked := openUnder(mnt); leaked > 0 {
			// An open descriptor would keep the connection after Unmount's
			// lazy detach; closed at exit, it would flush to a server that
			// is gone and hang the test binary for good. Abort the
			// connection first, while the mount (and so its device number)
			// is still this test's.
			var now syscall.Stat_t
			if syscall.Stat(mnt, &now) == nil && now.Dev == dev {
				testenv.ForceUnmount(mnt, dev)
			}
			if !t.Failed() {
				t.Errorf("%d descriptors left open on the mount", leaked)
			}
			return // aborted and detached: Unmount would only add a second error
		}
		if err := srv.Unmount(); err != nil {
			testenv.ForceUnmount(mnt, dev)
			t.Errorf("unmount: %v", err)
		}
	})
}

// openUnder counts this process's descriptors on paths under mnt.
func openUnder(mnt string) int {
	if real, err := filepath.EvalSymlinks(mnt); err == nil {
		mnt = real // the links in /proc/self/fd are resolved paths
	}
	ents, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range ents {
		p, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && (p == mnt || strings.HasPrefix(p, mnt+"/")) {
			n++
		}
	}
	return n
}

func newMem() *mem.Store { return mem.New(mem.DefaultOptions()) }

func newLocal(t *testing.T) providers.Store {
	st, err := local.Open(t.TempDir(), local.Options{NoSync: true})
	require.NoError(t, err)
	return st
}

func put(t *testing.T, st providers.Store, key string, data []byte) {
	t.Helper()
	_, err := st.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), providers.PutOptions{})
	require.NoError(t, err)
}

func get(t *testing.T, st providers.Store, key string) ([]byte, error) {
	t.Helper()
	rc, _, err := st.Get(context.Background(), key, 0, -1, providers.GetOptions{})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func content(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7/3) + seed
	}
	return b
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }
