package storetest

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// cancellingReader cancels its context once it has yielded after bytes.
type cancellingReader struct {
	r      io.Reader
	after  int64
	read   int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	if len(p) > 16<<10 {
		p = p[:16<<10]
	}
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read >= c.after {
		c.cancel()
	}
	return n, err
}

// testContextCancellation checks a cancelled context fails every call with
// an error wrapping context.Canceled and has no effect, that cancelling
// while a Put streams stores nothing, and that cancelling while a Get's body
// is read fails the read.
func testContextCancellation(t *testing.T, s providers.Store) {
	data := payload(2<<20, 9)
	put(t, s, "exists", data, providers.PutOptions{})
	dead := ctxCanceled(t)

	_, err := s.Stat(dead, "exists")
	require.ErrorIs(t, err, context.Canceled, "Stat")
	rc, _, err := s.Get(dead, "exists", 0, -1, providers.GetOptions{})
	if rc != nil {
		_ = rc.Close()
	}
	require.ErrorIs(t, err, context.Canceled, "Get")
	_, err = s.Put(dead, "new", strings.NewReader("x"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, context.Canceled, "Put")
	requireNotExist(t, s, "new")
	calls := 0
	err = s.List(dead, providers.ListOptions{}, func(providers.Entry) error { calls++; return nil })
	require.ErrorIs(t, err, context.Canceled, "List")
	require.Zero(t, calls, "List called fn with a cancelled context")
	require.ErrorIs(t, s.Delete(dead, "exists"), context.Canceled, "Delete")
	requireContent(t, s, "exists", data)
	_, err = s.Copy(dead, "exists", "copy", providers.CopyOptions{})
	require.ErrorIs(t, err, context.Canceled, "Copy")
	requireNotExist(t, s, "copy")
	if mp, ok := s.(providers.Multiparter); ok {
		_, err = mp.CreateMultipart(dead, "mp", providers.PutOptions{})
		require.ErrorIs(t, err, context.Canceled, "CreateMultipart")
		u := create(t, mp, "mp", providers.PutOptions{})
		_, err = u.UploadPart(dead, 1, bytes.NewReader(data[:10]), 10, providers.PartOptions{})
		require.ErrorIs(t, err, context.Canceled, "UploadPart")
	} else {
		notApplicable(t, "not a Multiparter: CreateMultipart and UploadPart cancellation not checked")
	}

	t.Run("PutStreaming", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		r := &cancellingReader{r: bytes.NewReader(data), after: 64 << 10, cancel: cancel}
		_, err := s.Put(ctx, "streamed", r, int64(len(data)), providers.PutOptions{})
		require.ErrorIs(t, err, context.Canceled, "Put cancelled while streaming")
		requireNotExist(t, s, "streamed")
	})

	t.Run("GetBody", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		rc, _, err := s.Get(ctx, "exists", 0, -1, providers.GetOptions{})
		require.NoError(t, err)
		defer rc.Close()
		_, err = io.ReadFull(rc, make([]byte, 32<<10))
		require.NoError(t, err)
		cancel()
		n, err := io.Copy(io.Discard, rc)
		require.Error(t, err, "reading a body after its context was cancelled (read %d more bytes)", n)
		if !strings.Contains(err.Error(), "cancel") {
			t.Logf("storetest: body read after cancel failed with %v", err)
		}
	})
}
