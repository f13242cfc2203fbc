package wrap

import "github.com/byobfs/byob/providers"

// Options configure Stack.
type Options struct {
	// Root confines the store to this sub-path (Confine); "" is the whole
	// store.
	Root string
	// Retry is the policy of every call (Retrying); nil is
	// DefaultRetryPolicy.
	Retry *RetryPolicy
	// Observer, when set, is told of every attempt (Count).
	Observer Observer
}

// Stack decorates a backend's store the way every command uses it:
//
//	backend -> Confine(Root) -> Count(Observer) -> Retrying(Retry)
//
// so every command retries, every attempt is counted and the keys of a
// team's store never leave its sub-path. It is the only place decorators
// are stacked. Closing the result closes st.
func Stack(st providers.Store, o Options) (providers.Store, error) {
	st, err := Confine(st, o.Root)
	if err != nil {
		return nil, err
	}
	if o.Observer != nil {
		st = Count(st, o.Observer)
	}
	p := DefaultRetryPolicy()
	if o.Retry != nil {
		p = *o.Retry
	}
	return Retrying(st, p), nil
}
