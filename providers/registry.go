package providers

import (
	"context"
	"fmt"
	"slices"
	"sort"
)

// Opener opens the store an address names. It returns the store (rooted at
// the bucket) and the key prefix inside it that the address points at
// (normally Address.Path; the local backend also turns path components that
// are not directories into the prefix).
type Opener func(ctx context.Context, a Address) (Store, string, error)

// Backend is what one storage kind registers: everything about a scheme
// that is not the address grammar (ParseAddress owns that). Adding a
// backend is its own package plus one Registry.Register line in cmd.
type Backend struct {
	// Name names the backend in messages ("s3 (aws-sdk-go-v2)").
	Name string
	// Schemes are the address schemes it serves.
	Schemes []string
	// Accepts, when set, picks among backends serving one scheme (s3://
	// on aws-sdk-go-v2 or minio-go): the first registered that accepts an
	// address opens it.
	Accepts func(Address) bool
	// Describe says which backend and reading an address opens, for
	// `byob stat -v`; nil: Name.
	Describe func(Address) string
	// FromEnv fills the address's credentials from the environment
	// (credentials = "env" in the config file); an error names the
	// variables it needs.
	FromEnv func(*Address) error
	// Open opens the store.
	Open Opener
}

// Registry maps address schemes to the backends serving them. cmd builds
// the one instance; there is no package global.
type Registry struct {
	backends map[string][]Backend
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{backends: map[string][]Backend{}} }

// Register adds backends, each for every scheme it serves, after those
// registered before.
func (r *Registry) Register(bs ...Backend) {
	for _, b := range bs {
		for _, s := range b.Schemes {
			r.backends[s] = append(r.backends[s], b)
		}
	}
}

// Schemes lists the registered schemes, sorted.
func (r *Registry) Schemes() []string {
	out := make([]string, 0, len(r.backends))
	for s := range r.backends {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Backend returns the backend that opens a.
func (r *Registry) Backend(a Address) (Backend, error) {
	for _, b := range r.backends[a.Scheme] {
		if b.Accepts == nil || b.Accepts(a) {
			return b, nil
		}
	}
	return Backend{}, fmt.Errorf("%w: no backend for scheme %q (known: %v)", ErrInvalidAddress, a.Scheme, r.Schemes())
}

// Open opens the store for a and returns it with the key prefix a names.
func (r *Registry) Open(ctx context.Context, a Address) (Store, string, error) {
	b, err := r.Backend(a)
	if err != nil {
		return nil, "", err
	}
	return b.Open(ctx, a)
}

// Describe names the backend a opens.
func (r *Registry) Describe(a Address) string {
	b, err := r.Backend(a)
	switch {
	case err != nil:
		return a.Scheme
	case b.Describe != nil:
		return b.Describe(a)
	}
	return b.Name
}

// FromEnv fills a's credentials from the environment.
func (r *Registry) FromEnv(a *Address) error {
	b, err := r.Backend(*a)
	if err != nil {
		return err
	}
	if b.FromEnv == nil {
		return fmt.Errorf("%s:// takes no credentials from the environment", a.Scheme)
	}
	return b.FromEnv(a)
}

// Has reports whether some backend serves scheme.
func (r *Registry) Has(scheme string) bool { return slices.Contains(r.Schemes(), scheme) }
