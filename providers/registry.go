package providers

import (
	"context"
	"fmt"
	"sort"
)

// Opener opens the store an address names. It returns the store (rooted at
// the bucket) and the key prefix inside it that the address points at
// (normally Address.Path; the local backend also turns path components that
// are not directories into the prefix).
type Opener func(ctx context.Context, a Address) (Store, string, error)

// Registry maps a scheme ("s3", "gs", ...) to the opener for it. cmd builds
// the one instance; there is no package global.
type Registry struct {
	openers map[string]Opener
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{openers: map[string]Opener{}} }

// Register adds (or replaces) the opener for scheme.
func (r *Registry) Register(scheme string, o Opener) { r.openers[scheme] = o }

// Schemes lists the registered schemes, sorted.
func (r *Registry) Schemes() []string {
	out := make([]string, 0, len(r.openers))
	for s := range r.openers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open opens the store for a and returns it with the key prefix a names.
func (r *Registry) Open(ctx context.Context, a Address) (Store, string, error) {
	o, ok := r.openers[a.Scheme]
	if !ok {
		return nil, "", fmt.Errorf("%w: no backend for scheme %q (known: %v)", ErrInvalidAddress, a.Scheme, r.Schemes())
	}
	return o(ctx, a)
}
