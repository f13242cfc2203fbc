package sync

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/byobfs/byob/providers"
)

// comparer decides, for one key, what a run does. Its methods are safe for
// concurrent use (the checkers call them).
type comparer struct {
	src, dst side
	mode     CompareMode
	update   bool
	window   time.Duration
}

// needsIO reports whether deciding on the pair may cost requests or reads
// (a HEAD, a local hash); such pairs go to the checkers.
func (c *comparer) needsIO(s, d *entry) bool {
	if s == nil || d == nil || s.dir || d.dir {
		return false
	}
	if c.update {
		return !(s.mtimeKnown && d.mtimeKnown)
	}
	if s.size != d.size || c.mode == CompareSizeOnly {
		return false
	}
	if c.mode == CompareChecksum {
		return true
	}
	return !(s.mtimeKnown && d.mtimeKnown)
}

// decide returns the action for a pair (at least one side set). A
// destination object that vanished since the listing is copied again; a
// source one that vanished is skipped.
func (c *comparer) decide(ctx context.Context, s, d *entry) (Action, error) {
	a, err := c.decide1(ctx, s, d)
	if err != nil && isNotExist(err) && s != nil && d != nil {
		if errors.Is(err, errSrcSide) {
			return Action{Op: OpSkip, Key: s.key, Reason: "source vanished", src: s, dst: d}, nil
		}
		return Action{Op: OpCopy, Key: s.key, Reason: "destination vanished", Size: s.size, src: s}, nil
	}
	return a, err
}

func isNotExist(err error) bool {
	return errors.Is(err, providers.ErrNotExist) || errors.Is(err, fs.ErrNotExist)
}

// errSrcSide marks errors of the source side's attribute lookups.
var errSrcSide = errors.New("source side")

type sideErr struct{ err error }

func (e sideErr) Error() string   { return e.err.Error() }
func (e sideErr) Unwrap() []error { return []error{e.err, errSrcSide} }

func (c *comparer) decide1(ctx context.Context, s, d *entry) (Action, error) {
	switch {
	case d == nil && s.dir:
		return Action{Op: OpMkdir, Key: s.key, Reason: "new directory", src: s}, nil
	case d == nil:
		return Action{Op: OpCopy, Key: s.key, Reason: "new", Size: s.size, src: s}, nil
	case s == nil:
		return Action{Op: OpDelete, Key: d.key, Reason: "not in source", Size: d.size, dst: d}, nil
	}
	act := func(op Op, reason string) (Action, error) {
		size := s.size
		if op == OpSkip || op == OpMkdir {
			size = 0
		}
		return Action{Op: op, Key: s.key, Reason: reason, Size: size, src: s, dst: d}, nil
	}
	switch {
	case s.dir && d.dir:
		return act(OpSkip, "directory exists")
	case s.dir:
		return act(OpMkdir, "replaces a file")
	case d.dir:
		return act(OpUpdate, "replaces a directory")
	}
	var sm, dm time.Time
	var haveM bool
	mtimes := func() error {
		if haveM {
			return nil
		}
		var err error
		if sm, err = c.src.mtime(ctx, s); err != nil {
			return sideErr{err}
		}
		if dm, err = c.dst.mtime(ctx, d); err != nil {
			return err
		}
		haveM = true
		return nil
	}
	if c.update {
		if err := mtimes(); err != nil {
			return Action{}, err
		}
		if dm.Sub(sm) > c.window {
			return act(OpSkip, "destination is newer")
		}
	}
	if s.size != d.size {
		return act(OpUpdate, "size differs")
	}
	suffix := ""
	switch c.mode {
	case CompareSizeOnly:
		return act(OpSkip, "same size")
	case CompareChecksum:
		same, ok, err := c.sameChecksum(ctx, s, d)
		if err != nil {
			return Action{}, err
		}
		if ok && same {
			return act(OpSkip, "same checksum")
		}
		if ok {
			return act(OpUpdate, "checksum differs")
		}
		suffix = " (no common checksum)"
	}
	if err := mtimes(); err != nil {
		return Action{}, err
	}
	if diff := sm.Sub(dm); diff <= c.window && -diff <= c.window {
		return act(OpSkip, "same size and mtime"+suffix)
	}
	return act(OpUpdate, "mtime differs"+suffix)
}

// checksumOrder is the preference among algorithms both sides may offer:
// CRC32C (cheap to compute) before MD5.
var checksumOrder = []providers.ChecksumAlgorithm{providers.ChecksumCRC32C, providers.ChecksumMD5}

func findSum(sums []providers.Checksum, alg providers.ChecksumAlgorithm) (providers.Checksum, bool) {
	for _, c := range sums {
		if c.Algorithm == alg && !c.IsZero() {
			return c, true
		}
	}
	return providers.Checksum{}, false
}

// sameChecksum compares the first algorithm both sides know or can compute;
// ok is false when there is none.
func (c *comparer) sameChecksum(ctx context.Context, s, d *entry) (same, ok bool, err error) {
	hs, cs, err := c.src.sums(ctx, s)
	if err != nil {
		return false, false, sideErr{err}
	}
	hd, cd, err := c.dst.sums(ctx, d)
	if err != nil {
		return false, false, err
	}
	for _, alg := range checksumOrder {
		a, aok := findSum(hs, alg)
		b, bok := findSum(hd, alg)
		if (!aok && !cs) || (!bok && !cd) {
			continue
		}
		if !aok {
			if a, err = c.src.compute(ctx, s, alg); err != nil {
				return false, false, sideErr{err}
			}
		}
		if !bok {
			if b, err = c.dst.compute(ctx, d, alg); err != nil {
				return false, false, err
			}
		}
		return a.Equal(b), true, nil
	}
	return false, false, nil
}
