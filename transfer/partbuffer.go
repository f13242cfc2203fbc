package transfer

import (
	"hash/crc32"
	"sync/atomic"

	"github.com/byobfs/byob/providers"
)

// PartBuffer is one part's bytes in memory: filled by a writer, then
// handed to a Live upload (Take), whose sender and the writer's own write
// of the same bytes to its file share it. It goes back to its Memory when
// the last holder releases it.
type PartBuffer struct {
	mem  *Memory
	buf  []byte // cap: the part size
	off  int64  // the part's offset in the file
	n    int
	crc  uint32 // CRC-32C of Bytes()
	refs atomic.Int32
}

// Buffer returns an empty buffer for the part at off (a multiple of the
// part size), held once, or nil when the Uploader's LiveMemory has no room
// for it: the writer then writes to its file as without buffers.
func (s *Live) Buffer(off int64) *PartBuffer {
	b, ok := s.u.live.TryGet(s.ps)
	if !ok {
		return nil
	}
	m := &PartBuffer{mem: s.u.live, buf: b, off: off}
	m.refs.Store(1)
	return m
}

// Off is the part's offset in the file.
func (b *PartBuffer) Off() int64 { return b.off }

// Len is the number of bytes written into the buffer.
func (b *PartBuffer) Len() int { return b.n }

// Full reports whether the buffer holds a whole part.
func (b *PartBuffer) Full() bool { return b.n == cap(b.buf) }

// Bytes returns the bytes written.
func (b *PartBuffer) Bytes() []byte { return b.buf[:b.n] }

// Write copies as much of p as fits after the bytes written, adding it to
// the CRC-32C while the bytes are in the CPU's cache, and returns how many
// it took.
func (b *PartBuffer) Write(p []byte) int {
	c := copy(b.buf[b.n:cap(b.buf)], p)
	b.crc = crc32.Update(b.crc, providers.CRC32CTable, b.buf[b.n:b.n+c])
	b.n += c
	return c
}

// Retain adds a holder.
func (b *PartBuffer) Retain() { b.refs.Add(1) }

// Release drops a holder; the last one gives the memory back.
func (b *PartBuffer) Release() {
	if b.refs.Add(-1) == 0 {
		b.mem.Put(b.buf)
	}
}
