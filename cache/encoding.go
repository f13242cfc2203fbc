package cache

import (
	"encoding/binary"
	"fmt"
	"time"
)

// appendEsc appends component s escaped order-preservingly and terminated
// (see doc.go): 0x00 -> 01 01, 0x01 -> 01 02, then 0x00.
func appendEsc(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0x00:
			b = append(b, 0x01, 0x01)
		case 0x01:
			b = append(b, 0x01, 0x02)
		default:
			b = append(b, c)
		}
	}
	return append(b, 0x00)
}

// cutEsc decodes one escaped component from the front of b.
func cutEsc(b []byte) (s string, rest []byte, ok bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case 0x00:
			return string(out), b[i+1:], true
		case 0x01:
			if i+1 >= len(b) {
				return "", nil, false
			}
			i++
			switch b[i] {
			case 0x01:
				out = append(out, 0x00)
			case 0x02:
				out = append(out, 0x01)
			default:
				return "", nil, false
			}
		default:
			out = append(out, c)
		}
	}
	return "", nil, false
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// enc builds a binary record.
type enc struct{ b []byte }

func (e *enc) byte1(v byte)     { e.b = append(e.b, v) }
func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) bytes(v []byte)   { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) str(v string)     { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) u32(v uint32)     { e.b = binary.BigEndian.AppendUint32(e.b, v) }

// time encodes the zero time as a single 0 byte, otherwise 1 + Unix nanoseconds.
func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.byte1(0)
		return
	}
	e.byte1(1)
	e.varint(t.UnixNano())
}

// dec reads a binary record; the first failure sticks in err.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated record", ErrCorrupt)
	}
	d.b = nil
}

func (d *dec) byte1() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) raw(n uint64) []byte {
	if uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) bytes() []byte {
	v := d.raw(d.uvarint())
	if len(v) == 0 {
		return nil
	}
	return append([]byte(nil), v...)
}

func (d *dec) str() string { return string(d.raw(d.uvarint())) }

func (d *dec) u32() uint32 {
	v := d.raw(4)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

func (d *dec) time() time.Time {
	if d.byte1() == 0 {
		return time.Time{}
	}
	return time.Unix(0, d.varint()).UTC()
}

// version checks the leading format byte.
func (d *dec) version(want byte, what string) {
	if v := d.byte1(); d.err == nil && v != want {
		d.err = fmt.Errorf("%w: %s record format %d, want %d", ErrCorrupt, what, v, want)
	}
}
