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
	blocks   map[int64]*heldBlock // blocks this handle holds open (the 2 most recent, and any being read)
	order    []int64
	nextOff  int64 // where a sequential read would start
	window   int64 // readahead bytes
	inflight map[int64]bool
	ready    map[int64]bool // blocks this handle prefetched: not opened again by advise
	closed   bool
}

func newReader(f *FS, key, version string, size int64) *reader {
	return &reader{f: f, key: key, version: version, size: size,
		blocks: map[int64]*heldBlock{}, inflight: map[int64]bool{}, ready: map[int64]bool{}}
}

// fetchFunc returns the FetchFunc of block idx: a ranged Get conditional on
// the version. A changed object is ErrChanged.
func (r *reader) fetchFunc(idx int64) cache.FetchFunc {
	f := r.f
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
		// The cache's buffer: it serves the block from it while storing
		// it, and takes it back when no reader needs it.
		p := f.cache.BlockBuffer(int(n))
		if _, err := io.ReadFull(body, p); err != nil {
			return nil, err
		}
		return p, nil
	}
}

// openBlock opens block idx through the cache, fetching it when missing:
// the handle may read from memory (the block not stored yet); see
// cache.OpenBlockFast.
func (r *reader) openBlock(ctx context.Context, idx int64) (*cache.BlockHandle, error) {
	return r.f.cache.OpenBlockFast(ctx, r.id(idx), r.fetchFunc(idx))
}

func (r *reader) id(idx int64) cache.BlockID {
	return cache.BlockID{Store: r.f.opts.StoreID, Key: r.key, Version: r.version, Index: idx}
}

// heldBlock is a block on disk the reader holds open. Reads in progress
// count in refs, so that letting it go (a newer block pushed it out, or the
// handle closed) closes it only once they are done. GUARDED_BY(reader.mu).
type heldBlock struct {
	bh   *cache.BlockHandle
	refs int
	gone bool // no longer in reader.blocks: closed when refs drops to 0
}

// releaseLocked ends one read of b. Called with r.mu held.
func (b *heldBlock) releaseLocked() {
	b.refs--
	if b.gone && b.refs == 0 {
		b.bh.Close()
	}
}

// dropLocked lets b go: closed now, or by its last read. Called with r.mu
// held.
func (b *heldBlock) dropLocked() {
	b.gone = true
	if b.refs == 0 {
		b.bh.Close()
	}
}

// block returns block idx and a function to call when done reading it. A
// block on disk is held open by the reader (its two most recent); one still
// in memory (being stored) is closed after the read, so that the reader
// never keeps fetched bytes alive past their store.
func (r *reader) block(ctx context.Context, idx int64) (*cache.BlockHandle, func(), error) {
	r.mu.Lock()
	if b, ok := r.blocks[idx]; ok {
		b.refs++
		r.mu.Unlock()
		return b.bh, r.releaser(b), nil
	}
	r.mu.Unlock()
	bh, err := r.openBlock(ctx, idx)
	if err != nil {
		return nil, nil, err
	}
	if !bh.Cached() {
		return bh, func() { bh.Close() }, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		bh.Close()
		return nil, nil, ErrBadHandle
	}
	if old, ok := r.blocks[idx]; ok {
		bh.Close()
		old.refs++
		return old.bh, r.releaser(old), nil
	}
	b := &heldBlock{bh: bh, refs: 1}
	r.blocks[idx] = b
	r.order = append(r.order, idx)
	for len(r.order) > 2 {
		drop := r.order[0]
		r.order = r.order[1:]
		if h, ok := r.blocks[drop]; ok {
			delete(r.blocks, drop)
			h.dropLocked()
		}
	}
	return bh, r.releaser(b), nil
}

func (r *reader) releaser(b *heldBlock) func() {
	return func() {
		r.mu.Lock()
		b.releaseLocked()
		r.mu.Unlock()
	}
}

// View is the result of a read that may refer to the cache's memory
// instead of copying: the bytes are Slices, in order, valid until Release.
type View struct {
	Slices  [][]byte
	n       int
	release []func()
}

// InPlace reports whether the view refers to memory outside the buffer
// it was read into; when not, its bytes are that buffer's first Len.
func (v *View) InPlace() bool { return len(v.release) > 0 }

// Len is the number of bytes in the view.
func (v *View) Len() int { return v.n }

// Release lets the blocks the view refers to go. It may be called more
// than once.
func (v *View) Release() {
	for _, f := range v.release {
		f()
	}
	v.release = nil
}

func (v *View) add(b []byte) {
	v.Slices = append(v.Slices, b)
	v.n += len(b)
}

// view reads [off, off+len(p)) of the object. A block on disk is read into
// p; a block in memory is copied into p, or, with inPlace, referred to
// by the view (held until Release). On error the view holds what was read
// before it, released.
func (r *reader) view(ctx context.Context, p []byte, off int64, inPlace bool) (v View, err error) {
	defer func() {
		if err != nil {
			v.Release()
		}
	}()
	if off >= r.size || len(p) == 0 {
		return v, nil
	}
	end := min(off+int64(len(p)), r.size)
	r.advise(off, end)
	bs := r.f.bsize
	for pos := off; pos < end; {
		idx := pos / bs
		bh, done, err := r.block(ctx, idx)
		if err != nil {
			return v, err
		}
		in := pos - idx*bs
		want := min(end-pos, bs-in)
		if mem, ok := bh.Memory(); ok && inPlace {
			got := min(max(int64(len(mem))-in, 0), want)
			if got > 0 {
				v.add(mem[in : in+got])
			}
			v.release = append(v.release, done)
			pos += got
			if got < want {
				return v, io.ErrUnexpectedEOF
			}
			continue
		}
		dst := p[v.n : v.n+int(want)]
		m, err := bh.ReadAt(dst, in)
		done()
		v.add(dst[:m])
		pos += int64(m)
		if err != nil && !(errors.Is(err, io.EOF) && int64(m) == want) {
			return v, err
		}
		if int64(m) < want {
			return v, io.ErrUnexpectedEOF
		}
	}
	return v, nil
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
			if err == nil && !r.closed {
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
	for _, b := range r.blocks {
		b.dropLocked()
	}
	r.blocks = nil
}
