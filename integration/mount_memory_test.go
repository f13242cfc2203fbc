package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
)

// chunkSize is the unit of genObject: chunk i is generated on its own, so
// any reader can check any chunk without holding the object.
const chunkSize = 1 << 20

func genChunk(i int64) []byte { return randBytes(chunkSize, i) }

// genObject reads as the concatenation of genChunk(0), genChunk(1), ...
type genObject struct {
	size, off int64
	cur       []byte
}

func (g *genObject) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	if len(g.cur) == 0 {
		g.cur = genChunk(g.off / chunkSize)
	}
	n := copy(p, g.cur[:min(int64(len(g.cur)), g.size-g.off)])
	g.cur = g.cur[n:]
	g.off += int64(n)
	return n, nil
}

// Sixteen handles reading one cold 1 GiB object at once, each from its own
// place: the mount stays within its fetch memory cap (FetchMemory, 128 MiB)
// plus 100 MiB, every block is fetched once for all of them, and every
// byte read is the object's.
func TestMountConcurrentColdReadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads and reads 1 GiB")
	}
	requireFUSEMount(t)
	const (
		size    = 1 << 30
		readers = 16
		capMem  = cache.DefaultFetchMemory
	)
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	st, _ := openMinIO(t, s, bucket, "")
	_, err := st.Put(context.Background(), "big.bin", &genObject{size: size}, size, providers.PutOptions{})
	require.NoError(t, err)

	addr, proxy := proxied(t, s, bucket)
	mnt, cacheDir := t.TempDir(), t.TempDir()
	requireCacheRoom(t, cacheDir, 2*size)
	mp := startMount(t, nil, addr, mnt, cacheDir)
	p := filepath.Join(mnt, "big.bin")
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, int64(size), fi.Size())
	proxy.Reset()
	resetHWM(mp.pid)

	const chunks = size / chunkSize
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				defer f.Close()
				buf := make([]byte, chunkSize)
				start := int64(r) * chunks / readers
				for k := range int64(chunks) {
					i := (start + k) % chunks
					if _, err := f.ReadAt(buf, i*chunkSize); err != nil {
						return fmt.Errorf("reader %d, chunk %d: %w", r, i, err)
					}
					// Each reader checks the chunks of its sixteenth.
					if i%readers == int64(r) && !bytes.Equal(buf, genChunk(i)) {
						return fmt.Errorf("reader %d: chunk %d differs from the object", r, i)
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	hwm, anon := procMem(mp.pid) // kB
	hwm, anon = hwm<<10, anon<<10
	t.Logf("%d readers of a cold %d MiB object: peak RSS %d MiB (RssAnon %d MiB), %v, %d MiB from the server",
		readers, size>>20, hwm>>20, anon>>20, proxy.Counts(), proxy.BytesOut()>>20)
	require.Positive(t, hwm)
	require.LessOrEqual(t, hwm, int64(capMem+100<<20), "peak RSS of the mount")
	require.LessOrEqual(t, float64(proxy.BytesOut()), 1.05*size, "each block fetched once for all readers")
	require.Positive(t, proxy.Count(faulty.KindGet))
}
