package mem

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/storetest"
)

// newStore returns a store that checks its invariants when the test ends.
func newStore(t *testing.T, opts Options) *Store {
	s := New(opts)
	t.Cleanup(func() { require.NoError(t, s.checkInvariants()) })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) providers.Store { return newStore(t, DefaultOptions()) })
}

// TestConformanceSmallParts runs the suite with the lowered limits transfer
// tests use.
func TestConformanceSmallParts(t *testing.T) {
	storetest.Run(t, func(t *testing.T) providers.Store {
		return newStore(t, Options{MinPartSize: 1 << 10, MaxPartSize: 1 << 20, MaxParts: 100})
	})
}

func TestOptionsDefaultsAndLimits(t *testing.T) {
	s := New(Options{MinPartSize: 10, MaxPartSize: 20, MaxParts: 3, MaxKeyLength: 8})
	c := s.Capabilities()
	require.Equal(t, int64(10), c.MinPartSize)
	require.Equal(t, int64(20), c.MaxPartSize)
	require.Equal(t, 3, c.MaxParts)
	require.Equal(t, 8, c.MaxKeyLength)
	require.Equal(t, DefaultOptions().MaxPutSize, c.MaxPutSize, "zero fields take the defaults")
	c.VerifiedChecksums[0] = providers.ChecksumNone
	require.Equal(t, providers.ChecksumCRC32C, s.Capabilities().VerifiedChecksums[0], "Capabilities returns a copy")

	ctx := t.Context()
	_, err := s.Put(ctx, "123456789", strings.NewReader("x"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	u, err := s.CreateMultipart(ctx, "k", providers.PutOptions{})
	require.NoError(t, err)
	_, err = u.UploadPart(ctx, 1, bytes.NewReader(make([]byte, 21)), 21, providers.PartOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument, "part over MaxPartSize")
	_, err = u.UploadPart(ctx, 4, bytes.NewReader([]byte("x")), 1, providers.PartOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument, "part number over MaxParts")
	p1, err := u.UploadPart(ctx, 1, bytes.NewReader(make([]byte, 10)), 10, providers.PartOptions{})
	require.NoError(t, err)
	p2, err := u.UploadPart(ctx, 2, bytes.NewReader([]byte("tail")), 4, providers.PartOptions{})
	require.NoError(t, err)
	info, err := u.Complete(ctx, []providers.Part{p1, p2}, providers.CompleteOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(14), info.Size)
	sum, ok := info.Checksum(providers.ChecksumCRC32C)
	require.True(t, ok, "mem reports the CRC32C of every object")
	require.Equal(t, crc32.Checksum(append(make([]byte, 10), "tail"...), providers.CRC32CTable), binary.BigEndian.Uint32(sum.Sum))
	require.NoError(t, s.checkInvariants())
}

func TestPutSizeMismatchIsTyped(t *testing.T) {
	s := newStore(t, DefaultOptions())
	_, err := s.Put(t.Context(), "k", strings.NewReader("abc"), 4, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrSizeMismatch)
	_, err = s.Put(t.Context(), "k", strings.NewReader("abcde"), 4, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrSizeMismatch)
	require.Zero(t, s.Len())
}

func TestServerTimeAndVersionCounter(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	s := newStore(t, Options{Now: func() time.Time { return at }})
	ctx := t.Context()
	a, err := s.Put(ctx, "a", strings.NewReader("x"), 1, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, at, a.ModTime)
	b, err := s.Copy(ctx, "a", "b", providers.CopyOptions{})
	require.NoError(t, err)
	c, err := s.Copy(ctx, "a", "a", providers.CopyOptions{Metadata: map[string]string{"x": "1"}})
	require.NoError(t, err)
	require.NotEqual(t, a.Version, b.Version, "every write gets a new Version")
	require.NotEqual(t, a.Version, c.Version, "a metadata-only self-copy is a write")
}

func TestResumeOtherKeyIsNotFound(t *testing.T) {
	s := newStore(t, DefaultOptions())
	u, err := s.CreateMultipart(t.Context(), "k", providers.PutOptions{})
	require.NoError(t, err)
	_, err = s.ResumeMultipart(t.Context(), "other", u.ID())
	require.ErrorIs(t, err, providers.ErrUploadNotFound)
}

// TestListCallbackMayWrite checks List does not hold the lock while calling
// fn: deleting every listed key from fn neither deadlocks nor disturbs the
// listing.
func TestListCallbackMayWrite(t *testing.T) {
	s := newStore(t, DefaultOptions())
	ctx := t.Context()
	var keys []string
	for i := range 700 {
		k := fmt.Sprintf("k%04d", i)
		keys = append(keys, k)
		_, err := s.Put(ctx, k, strings.NewReader(k), int64(len(k)), providers.PutOptions{})
		require.NoError(t, err)
	}
	var seen []string
	err := s.List(ctx, providers.ListOptions{}, func(e providers.Entry) error {
		seen = append(seen, e.Key)
		return s.Delete(ctx, e.Key)
	})
	require.NoError(t, err)
	require.Equal(t, keys, seen)
	require.Zero(t, s.Len())
}

// TestConcurrentUse runs writers, readers and listers together under -race
// and checks the invariants afterwards.
func TestConcurrentUse(t *testing.T) {
	s := newStore(t, Options{MinPartSize: 1})
	ctx := t.Context()
	g, ctx := errgroup.WithContext(ctx)
	for w := range 4 {
		g.Go(func() error {
			for i := range 200 {
				k := fmt.Sprintf("d%d/k%03d", w, i%50)
				if _, err := s.Put(ctx, k, strings.NewReader(k), int64(len(k)), providers.PutOptions{}); err != nil {
					return err
				}
				if i%7 == 0 {
					if err := s.Delete(ctx, k); err != nil {
						return err
					}
				}
				if i%11 == 0 {
					if _, err := s.Copy(ctx, k, k+"-copy", providers.CopyOptions{}); err != nil && !errors.Is(err, providers.ErrNotExist) {
						return err
					}
				}
			}
			return nil
		})
		g.Go(func() error {
			for range 50 {
				prev := ""
				err := s.List(ctx, providers.ListOptions{Delimiter: "/", Prefix: fmt.Sprintf("d%d/", w)}, func(e providers.Entry) error {
					if e.Key <= prev {
						return fmt.Errorf("out of order: %q after %q", e.Key, prev)
					}
					prev = e.Key
					rc, _, err := s.Get(ctx, e.Key, 0, -1, providers.GetOptions{IfMatch: e.Version})
					if err != nil {
						if errors.Is(err, providers.ErrNotExist) || errors.Is(err, providers.ErrPrecondition) {
							return nil
						}
						return err
					}
					defer rc.Close()
					_, err = io.Copy(io.Discard, rc)
					return err
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	require.NoError(t, s.checkInvariants())
}
