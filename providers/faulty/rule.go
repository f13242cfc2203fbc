package faulty

import (
	"context"
	"math/rand"
	"time"
)

// selector decides whether a rule fires on a call it matches. It is the
// selection half shared by StoreRule and Rule; the caller holds the mutex
// that guards seen, fired and rng.
type selector struct {
	seen  int // matching calls so far, this one included
	fired int // times the rule fired
}

// fires advances the selector for one matching call and reports whether
// the rule fires on it.
//
// Nth > 0: only the Nth matching call fires (Rate is not drawn).
// Otherwise Rate in (0, 1) fires with that probability (one draw from rng
// per matching call); Rate 0 or >= 1 fires every matching call. Times > 0
// caps how often the rule fires.
func (s *selector) fires(nth, times int, rate float64, rng *rand.Rand) bool {
	s.seen++
	if times > 0 && s.fired >= times {
		return false
	}
	var ok bool
	switch {
	case nth > 0:
		ok = s.seen == nth
	case rate > 0 && rate < 1:
		ok = rng.Float64() < rate
	default:
		ok = true
	}
	if ok {
		s.fired++
	}
	return ok
}

// sleep waits d or until ctx ends, whichever comes first, and returns
// ctx.Err() in the second case.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
