package fs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// A file renamed while open for writing: the handle follows the rename,
// so close publishes everything to the new name and nothing is left at
// the old one; renamed before its first part, after some parts, and with
// nothing streamed at all (a single Put).
func TestRenameFollowsOpenHandle(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b int
	}{
		{"before the first part", streamPS / 2, 3 * streamPS},
		{"after two parts", 2*streamPS + 17, 3 * streamPS},
		{"small", 100, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			st := streamStore()
			putObj(t, st, "replaced.log", []byte("the object the rename replaces"))
			f := streamFS(t, st)
			root := f.Root()
			_, h, err := root.Create(ctx, "train.log", os.O_WRONLY|os.O_CREATE, 0)
			require.NoError(t, err)
			a, b := data(c.a, 1), data(c.b, 2)
			writeChunks(t, h, a, 0, 4096)
			require.NoError(t, root.Rename(ctx, "train.log", root, "replaced.log", 0))
			writeChunks(t, h, b, int64(c.a), 4096)
			require.NoError(t, h.Flush(ctx, 0))
			require.NoError(t, h.Release(ctx))
			require.True(t, bytes.Equal(append(a, b...), getObj(t, st, "replaced.log")))
			_, err = st.Stat(ctx, "train.log")
			require.ErrorIs(t, err, providers.ErrNotExist)
		})
	}
}

// Opening, reading and renaming one file at once is free of data races
// (run under -race): a node's key is read without the FS's lock.
func TestOpenRacesRename(t *testing.T) {
	ctx := context.Background()
	st := streamStore()
	putObj(t, st, "a", data(1000, 3))
	f := newTestFS(t, st, func(o *Options) { o.AttrTTL, o.DirTTL, o.NegativeTTL = 1, 1, 1 })
	root := f.Root()
	n, err := root.Lookup(ctx, "a")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 50 {
			from, to := "a", "b"
			if i%2 == 1 {
				from, to = "b", "a"
			}
			require.NoError(t, root.Rename(ctx, from, root, to, 0))
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 50 {
				h, err := n.Open(ctx, os.O_RDONLY, 0)
				if err != nil {
					continue // between the copy and the delete of a rename
				}
				buf := make([]byte, 100)
				h.Read(ctx, buf, 0)
				h.Release(ctx)
				_ = n.Key()
				_, _ = n.Attr(ctx)
			}
		})
	}
	wg.Wait()
	k := n.Key()
	require.Contains(t, []string{"a", "b"}, k, fmt.Sprint(k))
	require.Equal(t, data(1000, 3), getObj(t, st, k))
}
