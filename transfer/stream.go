package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sync/errgroup"

	"github.com/byobfs/byob/providers"
)

// streamReader reads a stream part by part, looking one byte ahead so it
// knows whether a full part is the last.
type streamReader struct {
	r     io.Reader
	carry []byte // 0 or 1 byte read ahead
	eof   bool
	total int64
}

// fill copies up to limit bytes into w (hashed into sums) and reports
// whether the stream ended.
func (s *streamReader) fill(w io.Writer, limit int64, sums *partSums, buf []byte) (int64, bool, error) {
	var n int64
	if len(s.carry) > 0 && limit > 0 {
		if _, err := w.Write(s.carry); err != nil {
			return 0, false, err
		}
		sums.Write(s.carry)
		s.carry, n = nil, 1
	}
	for n < limit && !s.eof {
		m, err := s.r.Read(buf[:min(int64(len(buf)), limit-n)])
		if m > 0 {
			if _, werr := w.Write(buf[:m]); werr != nil {
				return n, false, werr
			}
			sums.Write(buf[:m])
			n += int64(m)
		}
		if errors.Is(err, io.EOF) {
			s.eof = true
		} else if err != nil {
			return n, false, err
		}
	}
	if !s.eof { // look ahead one byte
		var one [1]byte
		for {
			m, err := s.r.Read(one[:])
			if m > 0 {
				s.carry = []byte{one[0]}
				break
			}
			if errors.Is(err, io.EOF) {
				s.eof = true
				break
			}
			if err != nil {
				return n, false, err
			}
		}
	}
	s.total += n
	return n, s.eof && len(s.carry) == 0, nil
}

// sliceWriter writes into a fixed buffer.
type sliceWriter struct {
	b []byte
	n int
}

func (w *sliceWriter) Write(p []byte) (int, error) {
	if len(p) > len(w.b)-w.n {
		return 0, io.ErrShortWrite
	}
	w.n += copy(w.b[w.n:], p)
	return len(p), nil
}

// streamPart is one part's bytes: a pooled buffer or a spill file.
type streamPart struct {
	buf  []byte
	file *os.File
	size int64
}

func (p *streamPart) reader() io.ReadSeeker {
	if p.file != nil {
		return io.NewSectionReader(p.file, 0, p.size)
	}
	return bytes.NewReader(p.buf[:p.size])
}

func (u *Uploader) release(p *streamPart) {
	if p.file != nil {
		name := p.file.Name()
		p.file.Close()
		os.Remove(name)
		p.file = nil
	}
	if p.buf != nil {
		u.mem.Put(p.buf)
		p.buf = nil
	}
}

// spillThreshold is the largest part kept in memory.
func (u *Uploader) spillThreshold() int64 { return u.o.MemoryLimit / int64(u.o.Concurrency) }

// readPart reads up to size bytes of the stream into memory or a spill file.
func (u *Uploader) readPart(ctx context.Context, sr *streamReader, size int64, sums *partSums, copyBuf []byte) (*streamPart, bool, error) {
	p := &streamPart{}
	var w io.Writer
	if size > u.spillThreshold() {
		f, err := os.CreateTemp(u.o.SpillDir, "byob-part-*")
		if err != nil {
			return nil, false, fmt.Errorf("transfer: spill file: %w", err)
		}
		p.file, w = f, f
	} else {
		b, err := u.mem.Get(ctx, size)
		if err != nil {
			return nil, false, err
		}
		p.buf = b
		w = &sliceWriter{b: b}
	}
	n, last, err := sr.fill(w, size, sums, copyBuf)
	p.size = n
	if err != nil {
		u.release(p)
		return nil, false, err
	}
	return p, last, nil
}

// UploadStream uploads everything r yields as key, in parts of growing
// size, with at most MemoryLimit bytes of part buffers (see the package
// doc). A stream that ends within the first part is one Put. Streams are
// not journaled.
func (u *Uploader) UploadStream(ctx context.Context, key string, r io.Reader, put providers.PutOptions) (providers.ObjectInfo, error) {
	caps := u.st.Capabilities()
	alg := partAlgorithm(caps)
	mp, isMP := u.st.(providers.Multiparter)
	multipart := isMP && caps.Multipart != providers.MultipartNone
	sizer := newStreamSizer(u.o.PartSize, caps)
	maxParts := caps.MaxParts
	if maxParts <= 0 {
		maxParts = 10000
	}
	sr := &streamReader{r: r}
	copyBuf := make([]byte, 256<<10)

	first := sizer.size(1)
	if !multipart && caps.MaxPutSize > 0 {
		first = caps.MaxPutSize
	}
	sums := newPartSums(alg)
	p, last, err := u.readPart(ctx, sr, first, sums, copyBuf)
	if err != nil {
		return providers.ObjectInfo{}, providers.NewOpError("upload", key, nil, err)
	}
	if last || !multipart {
		defer u.release(p)
		if !last {
			return providers.ObjectInfo{}, providers.NewOpError("upload", key, providers.ErrInvalidArgument,
				fmt.Errorf("stream longer than the store's largest Put (%d) and the store has no multipart upload", caps.MaxPutSize))
		}
		return u.putOne(ctx, key, p.reader(), p.size, sums, alg, put)
	}

	up, err := mp.CreateMultipart(ctx, key, createOptions(put, alg))
	if err != nil {
		u.release(p)
		return providers.ObjectInfo{}, err
	}
	s := &uploadState{u: u, key: key, up: up, alg: alg, put: put, done: map[int]doneInfo{}}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(u.o.Concurrency)
	var off int64
	count := 0
	for n := 1; ; n++ {
		if n > 1 {
			if n > maxParts {
				g.Go(func() error {
					return providers.NewOpError("upload", key, providers.ErrInvalidArgument,
						fmt.Errorf("stream longer than %d parts (%d bytes read)", maxParts, sr.total))
				})
				break
			}
			sums = newPartSums(alg)
			p, last, err = u.readPart(gctx, sr, sizer.size(n), sums, copyBuf)
			if err != nil {
				g.Go(func() error { return providers.NewOpError("upload", key, nil, err) })
				break
			}
			if p.size == 0 { // cannot happen with the look-ahead; be safe
				u.release(p)
				break
			}
		}
		part, partSums, partOff := p, sums, off
		count = n
		off += p.size
		g.Go(func() error {
			defer u.release(part)
			return s.sendPart(gctx, n, partOff, part.reader(), part.size, partSums)
		})
		if last || gctx.Err() != nil {
			break
		}
	}
	if err := g.Wait(); err != nil {
		return providers.ObjectInfo{}, s.fail(ctx, err)
	}
	if !last {
		return providers.ObjectInfo{}, s.fail(ctx, fmt.Errorf("transfer: upload of %q stopped: %w", key, context.Cause(gctx)))
	}
	info, err := s.complete(ctx, count, sr.total)
	if err != nil {
		return info, s.fail(ctx, err)
	}
	return info, nil
}
