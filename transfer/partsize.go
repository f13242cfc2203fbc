package transfer

import (
	"fmt"

	"github.com/byobfs/byob/providers"
)

const (
	// DefaultPartSize is the part size when Options.PartSize is 0.
	DefaultPartSize = 16 << 20
	mib             = 1 << 20
)

// basePartSize is want (or DefaultPartSize) within the store's limits.
func basePartSize(want int64, caps providers.Capabilities) int64 {
	ps := want
	if ps <= 0 {
		ps = DefaultPartSize
	}
	ps = max(ps, caps.MinPartSize)
	if caps.MaxPartSize > 0 {
		ps = min(ps, caps.MaxPartSize)
	}
	return max(ps, 1)
}

// filePartSize returns the part size for an object of size bytes: the base
// part size, grown (to whole MiB when at least a MiB) until the parts fit in
// MaxParts. It fails with ErrInvalidArgument when no part size within
// MaxPartSize fits.
func filePartSize(size, want int64, caps providers.Capabilities) (int64, error) {
	ps := basePartSize(want, caps)
	if caps.MaxObjectSize > 0 && size > caps.MaxObjectSize {
		return 0, fmt.Errorf("transfer: %d bytes is over the store's largest object (%d): %w", size, caps.MaxObjectSize, providers.ErrInvalidArgument)
	}
	if caps.MaxParts > 0 && ceilDiv(size, ps) > int64(caps.MaxParts) {
		ps = ceilDiv(size, int64(caps.MaxParts))
		if ps >= mib {
			ps = ceilDiv(ps, mib) * mib
		}
		if caps.MaxPartSize > 0 && ps > caps.MaxPartSize {
			return 0, fmt.Errorf("transfer: %d bytes do not fit in %d parts of at most %d: %w", size, caps.MaxParts, caps.MaxPartSize, providers.ErrInvalidArgument)
		}
	}
	return ps, nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// streamSizer gives the part sizes of a stream of unknown size: base bytes
// for the first every parts, then doubling every parts, capped at maxPart.
type streamSizer struct {
	base, maxPart int64
	every         int
}

// newStreamSizer picks the slowest doubling interval with which MaxParts
// parts still reach MaxObjectSize (every = MaxParts when the base size
// already does; 1 when even doubling every part cannot).
func newStreamSizer(want int64, caps providers.Capabilities) streamSizer {
	s := streamSizer{base: basePartSize(want, caps), maxPart: caps.MaxPartSize, every: 1}
	if s.maxPart <= 0 {
		s.maxPart = 5 << 30
	}
	maxParts := caps.MaxParts
	if maxParts <= 0 {
		maxParts = 10000
	}
	target := caps.MaxObjectSize
	if target <= 0 {
		target = 5 << 40
	}
	lo, hi := 1, maxParts // capacity falls as every grows: find the largest that reaches target
	for lo < hi {
		mid := (lo + hi + 1) / 2
		s.every = mid
		if s.capacity(maxParts) >= target {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	s.every = lo
	return s
}

// size returns the size of part n (1-based).
func (s streamSizer) size(n int) int64 {
	ps := s.base
	for d := (n - 1) / s.every; d > 0 && ps < s.maxPart; d-- {
		ps *= 2
	}
	return min(ps, s.maxPart)
}

// capacity is the bytes parts 1..n hold.
func (s streamSizer) capacity(n int) int64 {
	var total int64
	for i := 1; i <= n; i++ {
		total += s.size(i)
		if total < 0 {
			return 1<<63 - 1
		}
	}
	return total
}
