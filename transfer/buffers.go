package transfer

import (
	"sync"
	"time"
	"unsafe"
)

// DirectAlign is the alignment O_DIRECT needs of a buffer (and of a
// write's length): every buffer Buffers hands out starts at such a
// boundary, so the cache's block files and the mount's staging files can
// be written from it without a copy into the page cache.
const DirectAlign = 4096

// AlignedBuffer returns n bytes starting at a DirectAlign boundary.
func AlignedBuffer(n int) []byte {
	b := make([]byte, n+DirectAlign)
	skip := int((DirectAlign - uintptr(unsafe.Pointer(&b[0]))%DirectAlign) % DirectAlign)
	return b[skip : skip+n : skip+n]
}

// Buffers recycles large aligned buffers: the cache's fetched blocks, the
// mount's part-sized write tails, the parts of streamed uploads. It is not
// a sync.Pool: the collector empties those every other cycle, and a fresh
// 16 MiB buffer costs a page fault on every page (writing into new buffers
// cost 0.33 CPU-s per GiB here, three times a copy into used ones). It
// keeps at most Max free buffers and lets them all go once none was asked
// for during Idle. It bounds no memory in use: the callers' budgets do.
// Safe for concurrent use.
type Buffers struct {
	max  int
	idle time.Duration

	mu    sync.Mutex
	free  [][]byte    // GUARDED_BY(mu): each of len == cap
	used  time.Time   // GUARDED_BY(mu): last Get
	timer *time.Timer // GUARDED_BY(mu): the idle trim, when armed
}

// NewBuffers returns a pool keeping at most max free buffers, let go after
// idle without a Get.
func NewBuffers(max int, idle time.Duration) *Buffers { return &Buffers{max: max, idle: idle} }

// Get returns an aligned buffer of len and cap size, recycled when one of
// that size is free.
func (b *Buffers) Get(size int) []byte {
	b.mu.Lock()
	b.used = time.Now()
	for i := len(b.free) - 1; i >= 0; i-- {
		if buf := b.free[i]; cap(buf) == size {
			b.free = append(b.free[:i], b.free[i+1:]...)
			b.mu.Unlock()
			return buf[:size]
		}
	}
	b.mu.Unlock()
	return AlignedBuffer(size)
}

// Put gives buf back for a later Get of its capacity.
func (b *Buffers) Put(buf []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.free) >= b.max {
		b.free = b.free[1:] // the oldest goes
	}
	b.free = append(b.free, buf[:cap(buf)])
	if b.timer == nil {
		b.timer = time.AfterFunc(b.idle, b.trim)
	}
}

// trim lets the buffers go once none was asked for during idle.
func (b *Buffers) trim() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timer = nil
	if idle := time.Since(b.used); idle < b.idle {
		b.timer = time.AfterFunc(b.idle-idle, b.trim)
		return
	}
	clear(b.free)
	b.free = b.free[:0]
}

// Free returns the number of free buffers held (for tests and statistics).
func (b *Buffers) Free() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.free)
}
