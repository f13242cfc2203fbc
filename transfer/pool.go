package transfer

import (
	"context"
	"sync"
)

// bufPool hands out part buffers whose total size, in use and free, never
// exceeds limit: the byte-weighted token pool of rclone's lib/multipart. A
// buffer is reused for a part of the same size; free buffers of another size
// are dropped when their bytes are needed.
type bufPool struct {
	limit int64 // immutable

	mu sync.Mutex
	// GUARDED_BY(mu): everything below.
	// INVARIANT: held == sum of len of free buffers + inUse <= limit.
	held  int64
	inUse int64
	peak  int64              // largest inUse seen, for tests
	free  map[int64][][]byte // free buffers by size
	wake  chan struct{}      // closed and replaced when a buffer is returned
}

func newBufPool(limit int64) *bufPool {
	return &bufPool{limit: limit, free: map[int64][][]byte{}, wake: make(chan struct{})}
}

// get returns a buffer of size bytes, waiting until the limit allows it or
// ctx ends. size must be at most limit.
func (p *bufPool) get(ctx context.Context, size int64) ([]byte, error) {
	for {
		p.mu.Lock()
		if l := p.free[size]; len(l) > 0 {
			b := l[len(l)-1]
			p.free[size] = l[:len(l)-1]
			p.takeLocked(size)
			p.mu.Unlock()
			return b, nil
		}
		for p.held+size > p.limit && p.dropOneLocked(size) {
		}
		if p.held+size <= p.limit {
			p.held += size
			p.takeLocked(size)
			p.mu.Unlock()
			return make([]byte, size), nil
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// takeLocked accounts size bytes handed out. REQUIRES: p.mu held.
func (p *bufPool) takeLocked(size int64) {
	p.inUse += size
	p.peak = max(p.peak, p.inUse)
}

// dropOneLocked frees one free buffer of a size other than keep and
// reports whether there was one. REQUIRES: p.mu held.
func (p *bufPool) dropOneLocked(keep int64) bool {
	for sz, l := range p.free {
		if sz == keep || len(l) == 0 {
			continue
		}
		p.free[sz] = l[:len(l)-1]
		p.held -= sz
		return true
	}
	return false
}

// put returns a buffer from get.
func (p *bufPool) put(b []byte) {
	size := int64(len(b))
	p.mu.Lock()
	p.inUse -= size
	p.free[size] = append(p.free[size], b)
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
}

// stats returns the bytes in use now and at the peak.
func (p *bufPool) stats() (inUse, peak int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse, p.peak
}

// checkInvariants verifies the accounting; tests call it.
func (p *bufPool) checkInvariants() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	var free int64
	for sz, l := range p.free {
		free += sz * int64(len(l))
	}
	return free+p.inUse == p.held && p.held <= p.limit
}

// trim drops every free buffer, so an idle pool holds no memory.
func (p *bufPool) trim() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for sz, l := range p.free {
		p.held -= sz * int64(len(l))
	}
	clear(p.free)
}
