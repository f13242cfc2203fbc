package transfer

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Memory hands out part buffers within a byte budget, like rclone's
// lib/multipart token pool: a part waits for its bytes before it is read.
// Buffers are aligned and recycled (Buffers); the bytes of the buffers in
// use never exceed the budget (the free ones Buffers keeps are outside it).
// It serves the parts of streamed uploads (Options.MemoryLimit) and the
// write tails of live uploads (Options.LiveMemory). Safe for concurrent use.
type Memory struct {
	limit  int64
	budget *semaphore.Weighted
	bufs   *Buffers

	mu sync.Mutex
	// inUse and peak are the bytes handed out now and at most, GUARDED_BY(mu).
	// INVARIANT: 0 <= inUse <= peak <= limit.
	inUse, peak int64
}

// NewMemory returns a Memory of limit bytes.
func NewMemory(limit int64) *Memory {
	return &Memory{limit: limit, budget: semaphore.NewWeighted(limit), bufs: NewBuffers(8, bufIdle)}
}

// bufIdle is how long unused free buffers are kept.
const bufIdle = 2 * time.Second

// Get returns a buffer of size bytes (at most the limit), waiting until the
// budget has room or ctx ends.
func (m *Memory) Get(ctx context.Context, size int64) ([]byte, error) {
	if size > m.limit {
		return nil, fmt.Errorf("transfer: a %d-byte buffer is over the %d-byte memory limit", size, m.limit)
	}
	if err := m.budget.Acquire(ctx, size); err != nil {
		return nil, err
	}
	return m.take(size), nil
}

// TryGet returns a buffer of size bytes, or false at once when the budget
// has no room for it.
func (m *Memory) TryGet(size int64) ([]byte, bool) {
	if !m.budget.TryAcquire(size) {
		return nil, false
	}
	return m.take(size), true
}

func (m *Memory) take(size int64) []byte {
	m.mu.Lock()
	m.inUse += size
	m.peak = max(m.peak, m.inUse)
	m.mu.Unlock()
	return m.bufs.Get(int(size))
}

// Put gives back a buffer from Get or TryGet.
func (m *Memory) Put(b []byte) {
	size := int64(cap(b))
	m.bufs.Put(b)
	m.mu.Lock()
	m.inUse -= size
	m.mu.Unlock()
	m.budget.Release(size)
}

// InUse and Peak return the bytes of buffers handed out now and at most.
func (m *Memory) InUse() (now, peak int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inUse, m.peak
}

// checkInvariants reports whether the accounting holds; tests call it.
func (m *Memory) checkInvariants() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return 0 <= m.inUse && m.inUse <= m.peak && m.peak <= m.limit
}
