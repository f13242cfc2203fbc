package sync

import (
	"context"
	"fmt"
	"strconv"

	"golang.org/x/sync/errgroup"
)

// Op is what an Action does.
type Op uint8

const (
	OpSkip   Op = iota // the destination is up to date
	OpCopy             // the destination lacks the file
	OpUpdate           // the destination's file is replaced
	OpDelete           // the destination's file goes (--delete)
	OpMkdir            // a directory (marker) is made (--create-empty-dirs)
)

func (o Op) String() string {
	switch o {
	case OpCopy:
		return "copy"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	case OpMkdir:
		return "mkdir"
	}
	return "skip"
}

// MarshalText renders the op by name (JSON events).
func (o Op) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Action is one step of a plan, for one relative key.
type Action struct {
	Op     Op
	Key    string // relative to both sides' roots; "d/" is a directory
	Reason string
	Size   int64 // bytes to move (copy/update) or the deleted file's size

	src, dst *entry
}

// String is the plan line: op, Go-quoted key, reason.
func (a Action) String() string {
	return fmt.Sprintf("%-6s %s (%s)", a.Op, strconv.Quote(a.Key), a.Reason)
}

// batchSize is how many entries a lister hands the merge at once.
const batchSize = 256

// listInto runs s.list, checks that keys increase strictly, and sends
// batches to out, which it closes. Any failure is wrapped in ErrListing.
func listInto(ctx context.Context, name string, s side, out chan<- []entry) error {
	defer close(out)
	var prev string
	first := true
	batch := make([]entry, 0, batchSize)
	err := s.list(ctx, func(e entry) error {
		if !first && e.key <= prev {
			return fmt.Errorf("%w: %s listed %q after %q", ErrUnordered, name, e.key, prev)
		}
		first, prev = false, e.key
		batch = append(batch, e)
		if len(batch) == batchSize {
			select {
			case out <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = make([]entry, 0, batchSize)
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		select {
		case out <- batch:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrListing, name, err)
	}
	return nil
}

// cursor reads one side's batches.
type cursor struct {
	ch    <-chan []entry
	batch []entry
	i     int
}

// peek returns the current entry, or nil at the end of the listing.
func (c *cursor) peek(ctx context.Context) (*entry, error) {
	for c.i >= len(c.batch) {
		select {
		case b, ok := <-c.ch:
			if !ok {
				return nil, nil
			}
			c.batch, c.i = b, 0
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &c.batch[c.i], nil
}

func (c *cursor) next() { c.i++ }

// future is a decision in progress; the consumer waits for them in key order.
type future struct {
	done chan struct{} // closed when a and err are set
	s, d *entry
	a    Action
	err  error
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// planner merge-joins two listings into a stream of actions in key order.
type planner struct {
	src, dst side
	cmp      *comparer
	filter   *filter
	shard    Shard
	delete   bool
	delExcl  bool
	checkers int
	rec      *recorder
	// srcSeen counts the source's entries before filters and shard;
	// written by merge, read after run returns.
	srcSeen int64
}

// run lists both sides concurrently, merges them, decides every key
// (with up to checkers decisions at once) and calls emit once per action,
// in strictly increasing key order, from a single goroutine. Dropped keys
// (filters, shard, destination-only without delete) produce no action. A
// decision that fails is recorded as an item failure and produces none. A
// listing failure, or an error from emit, ends the run with that error;
// emit has then been called for a prefix of the plan.
func (p *planner) run(ctx context.Context, emit func(Action) error) error {
	g, ctx := errgroup.WithContext(ctx)
	srcCh := make(chan []entry, 4)
	dstCh := make(chan []entry, 4)
	g.Go(func() error { return listInto(ctx, "source", p.src, srcCh) })
	g.Go(func() error { return listInto(ctx, "destination", p.dst, dstCh) })

	ordered := make(chan *future, 4*p.checkers)
	work := make(chan *future, p.checkers)
	g.Go(func() error {
		defer close(ordered)
		defer close(work)
		return p.merge(ctx, &cursor{ch: srcCh}, &cursor{ch: dstCh}, ordered, work)
	})
	for range p.checkers {
		g.Go(func() error {
			for f := range work {
				f.a, f.err = p.cmp.decide(ctx, f.s, f.d)
				close(f.done)
			}
			return nil
		})
	}
	g.Go(func() error {
		for f := range ordered {
			select {
			case <-f.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if f.err != nil {
				key := ""
				if f.s != nil {
					key = f.s.key
				} else {
					key = f.d.key
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				p.rec.fail(&ItemError{Op: OpSkip, Key: key, Err: fmt.Errorf("compare: %w", f.err)})
				continue
			}
			if err := emit(f.a); err != nil {
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

// keep applies the shard and the filters to one entry: it reports whether
// the entry takes part, and for a destination entry whether it takes part
// only to be deleted (excluded, with --delete-excluded).
func (p *planner) keep(e *entry, isDst bool) (keep, onlyDelete bool) {
	if !p.shard.contains(e.key) {
		return false, false
	}
	if p.filter.included(e.key) {
		return true, false
	}
	p.rec.update(func(r *Report) { r.Excluded++ })
	if isDst && p.delExcl {
		return true, true
	}
	return false, false
}

func (p *planner) merge(ctx context.Context, sc, dc *cursor, ordered, work chan<- *future) error {
	send := func(s, d *entry, excluded bool) error {
		f := &future{s: s, d: d}
		if p.cmp.needsIO(s, d) {
			f.done = make(chan struct{})
			select {
			case work <- f:
			case <-ctx.Done():
				return ctx.Err()
			}
		} else {
			f.a, f.err = p.cmp.decide(ctx, s, d)
			if excluded {
				f.a.Reason = "excluded"
			}
			f.done = closedChan
		}
		select {
		case ordered <- f:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var s, d *entry
	var dOnlyDelete bool
	for {
		var err error
		for s == nil {
			if s, err = sc.peek(ctx); err != nil || s == nil {
				break
			}
			p.srcSeen++
			if ok, _ := p.keep(s, false); !ok {
				s = nil
				sc.next()
			}
		}
		if err != nil {
			return err
		}
		for d == nil {
			if d, err = dc.peek(ctx); err != nil || d == nil {
				break
			}
			var ok bool
			if ok, dOnlyDelete = p.keep(d, true); !ok {
				d = nil
				dc.next()
			}
		}
		if err != nil {
			return err
		}
		switch {
		case s == nil && d == nil:
			return nil // both listings are exhausted
		case d == nil || (s != nil && s.key < d.key):
			if err := send(s, nil, false); err != nil {
				return err
			}
			s = nil
			sc.next()
		case s == nil || d.key < s.key:
			// An excluded destination file is deleted only with
			// --delete-excluded (its source twin, if any, was excluded by
			// the same rules, so it never pairs).
			if p.delete || dOnlyDelete {
				if err := send(nil, d, dOnlyDelete); err != nil {
					return err
				}
			}
			d = nil
			dc.next()
		default:
			if err := send(s, d, false); err != nil {
				return err
			}
			s, d = nil, nil
			sc.next()
			dc.next()
		}
	}
}
