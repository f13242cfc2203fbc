package fs

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/providers"
)

// reader reads one version of an object through the block cache, with an
// adaptive readahead window.
type reader struct {
	f       *FS
	key     string
	version string
	size    int64

	mu sync.Mutex
	// The fields below are GUARDED_BY(mu).
	blocks   map[int64]*cache.BlockHandle // blocks this handle holds open (at most 2)
	order    []int64
	nextOff  int64 // where a sequential read would start
	window   int64 // readahead bytes
	inflight map[int64]bool
	ready    map[int64]bool // blocks this handle prefetched: not opened again by advise
	closed   bool
}

func newReader(f *FS, key, version string, size int64) *reader {
	return &reader{f: f, key: key, version: version, size: size,
		blocks: map[int64]*cache.BlockHandle{}, inflight: map[int64]bool{}, ready: map[int64]bool{}}
}

// blockBufs recycles the block-sized buffers of fetches: a sequential read
// fetches one block after another, and each buffer is only needed until the
// cache has written it to its block file.
var blockBufs sync.Pool // of *[]byte

// fetchBufs records the buffers one fetch function took from blockBufs.
type fetchBufs struct {
	mu   sync.Mutex
	bufs []*[]byte
}

// recycle returns the fetch's buffers to the pool. Call it only once
// OpenBlock returned a handle on a block stored on disk (Cached): then the
// fetch has ended and nothing refers to its buffer; a block the cache had
// no room for is served from the buffer itself, which then stays with it.
func (fb *fetchBufs) recycle(bh *cache.BlockHandle) {
	if bh == nil || !bh.Cached() {
		return
	}
	fb.mu.Lock()
	defer fb.mu.Unlock()
	for _, b := range fb.bufs {
		blockBufs.Put(b)
	}
	fb.bufs = nil
}

func (r *reader) getBuf(n int64) *[]byte {
	if p, ok := blockBufs.Get().(*[]byte); ok && int64(cap(*p)) >= n && int64(cap(*p)) == r.f.bsize {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n, max(n, r.f.bsize))
	return &b
}

// fetchFunc returns the FetchFunc of block idx: a ranged Get conditional on
// the version. A changed object is ErrChanged. Its buffers come from
// blockBufs; give them back with recycle once OpenBlock returned.
func (r *reader) fetchFunc(idx int64) (cache.FetchFunc, *fetchBufs) {
	f := r.f
	fb := &fetchBufs{}
	return func(ctx context.Context) ([]byte, error) {
		off := idx * f.bsize
		n := min(f.bsize, r.size-off)
		if n <= 0 {
			return nil, nil
		}
		body, _, err := f.store.Get(ctx, r.key, off, n, providers.GetOptions{IfMatch: r.version})
		if err != nil {
			if errors.Is(err, providers.ErrPrecondition) || errors.Is(err, providers.ErrNotExist) {
				return nil, errors.Join(ErrChanged, err)
			}
			return nil, err
		}
		defer body.Close()
		p := r.getBuf(n)
		if _, err := io.ReadFull(body, *p); err != nil {
			blockBufs.Put(p)
			return nil, err
		}
		fb.mu.Lock()
		fb.bufs = append(fb.bufs, p)
		fb.mu.Unlock()
		return *p, nil
	}, fb
}

// openBlock opens block idx through the cache, fetching it when missing.
func (r *reader) openBlock(ctx context.Context, idx int64) (*cache.BlockHandle, error) {
	fetch, fb := r.fetchFunc(idx)
	bh, err := r.f.cache.OpenBlock(ctx, r.id(idx), fetch)
	if err == nil {
		fb.recycle(bh)
	}
	return bh, err
}

func (r *reader) id(idx int64) cache.BlockID {
	return cache.BlockID{Store: r.f.opts.StoreID, Key: r.key, Version: r.version, Index: idx}
}

// block returns block idx, held open by the reader.
func (r *reader) block(ctx context.Context, idx int64) (*cache.BlockHandle, error) {
	r.mu.Lock()
	if bh, ok := r.blocks[idx]; ok {
		r.mu.Unlock()
		return bh, nil
	}
	r.mu.Unlock()
	bh, err := r.openBlock(ctx, idx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		bh.Close()
		return nil, ErrBadHandle
	}
	if old, ok := r.blocks[idx]; ok {
		bh.Close()
		return old, nil
	}
	r.blocks[idx] = bh
	r.order = append(r.order, idx)
	for len(r.order) > 2 {
		drop := r.order[0]
		r.order = r.order[1:]
		if h, ok := r.blocks[drop]; ok {
			h.Close()
			delete(r.blocks, drop)
		}
	}
	return bh, nil
}

// ReadAt reads from the object at off.
func (r *reader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off >= r.size || len(p) == 0 {
		return 0, nil
	}
	end := min(off+int64(len(p)), r.size)
	r.advise(off, end)
	n := 0
	bs := r.f.bsize
	for pos := off; pos < end; {
		idx := pos / bs
		bh, err := r.block(ctx, idx)
		if err != nil {
			return n, err
		}
		in := pos - idx*bs
		want := min(end-pos, bs-in)
		m, err := bh.ReadAt(p[n:n+int(want)], in)
		n += m
		pos += int64(m)
		if err != nil && !(errors.Is(err, io.EOF) && int64(m) == want) {
			return n, err
		}
		if int64(m) < want {
			return n, io.ErrUnexpectedEOF
		}
	}
	return n, nil
}

// advise adapts the readahead window to the access pattern and starts
// prefetches of the blocks after [off, end) that the window covers.
func (r *reader) advise(off, end int64) {
	f := r.f
	bs := f.bsize
	r.mu.Lock()
	if off == r.nextOff {
		r.window = min(max(2*r.window, bs), f.opts.MaxReadahead)
	} else {
		r.window /= 4
		if r.window < bs {
			r.window = 0
		}
	}
	r.nextOff = end
	var todo []int64
	if r.window > 0 {
		first := (end-1)/bs + 1
		last := min((end+r.window-1)/bs, (r.size-1)/bs)
		for idx := range r.ready {
			if idx < first {
				delete(r.ready, idx)
			}
		}
		for idx := first; idx <= last; idx++ {
			if _, held := r.blocks[idx]; held || r.inflight[idx] || r.ready[idx] {
				continue
			}
			todo = append(todo, idx)
		}
	}
	r.mu.Unlock()
	for _, idx := range todo {
		select {
		case f.prefetch <- struct{}{}:
		default:
			return // at the global cap: the next read tries again
		}
		r.mu.Lock()
		r.inflight[idx] = true
		r.mu.Unlock()
		f.wg.Add(1)
		go func(idx int64) {
			defer f.wg.Done()
			defer func() { <-f.prefetch }()
			bh, err := r.openBlock(f.ctx, idx)
			if err == nil {
				bh.Close()
			}
			r.mu.Lock()
			delete(r.inflight, idx)
			if err == nil && r.ready != nil {
				r.ready[idx] = true
			}
			r.mu.Unlock()
		}(idx)
	}
}

// Window returns the current readahead window in bytes (tests).
func (r *reader) Window() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.window
}

func (r *reader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, bh := range r.blocks {
		bh.Close()
	}
	r.blocks = nil
}
