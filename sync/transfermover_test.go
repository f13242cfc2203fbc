package sync

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// A large transfer takes its parts' worth of the stream budget for its
// whole transfer; a budget smaller than one file's parts still lets one
// file through.
func TestTransferMoverStreamBudget(t *testing.T) {
	ctx := context.Background()
	m := NewTransferMover(TransferMoverOptions{Concurrency: 4, Streams: 6})
	release, err := m.large(ctx)
	require.NoError(t, err)
	require.False(t, m.streams.TryAcquire(4), "a second large file (4 streams) must wait: 4 + 4 > 6")
	require.True(t, m.streams.TryAcquire(2), "the rest of the budget is free")
	m.streams.Release(2)
	release()
	require.True(t, m.streams.TryAcquire(6), "all free after the file")
	m.streams.Release(6)

	tiny := NewTransferMover(TransferMoverOptions{Concurrency: 4, Streams: 1})
	release, err = tiny.large(ctx)
	require.NoError(t, err, "a budget below one file's parts admits one file")
	require.False(t, tiny.streams.TryAcquire(1))
	release()

	done, cancel := context.WithCancel(ctx)
	cancel()
	_, err = NewTransferMover(TransferMoverOptions{Concurrency: 4, Streams: 4}).large(done)
	require.ErrorIs(t, err, context.Canceled, "waiting ends with the context")
}
