package main

import (
	"context"
	"fmt"

	"github.com/byobfs/byob/cmd/internal/config"
	"github.com/byobfs/byob/providers"
)

// target is an opened location: a local path, or a store plus key prefix.
type target struct {
	loc    config.Location
	store  providers.Store
	prefix string
}

func (t *target) isLocal() bool { return t.loc.IsLocal() }

// close releases the store.
func (t *target) close() {
	if c, ok := t.store.(providers.Closer); ok {
		c.Close()
	}
}

// display names the target safely (redacted address, or local path).
func (t *target) display() string { return t.loc.String() }

// storeID names the store and sub-path in a cache (providers.Address.StoreID).
func (t *target) storeID() string { return t.loc.Address.StoreID() }

// resolve turns what the user typed into a Location, registering its
// secrets for scrubbing and warning about secrets on the command line.
func (a *app) resolve(ref string) (config.Location, error) {
	loc, err := config.Resolve(a.cfg, ref)
	if err != nil {
		return loc, err
	}
	if !loc.IsLocal() {
		a.stderr.add(loc.Address.Secret)
		a.stderr.add(loc.Address.SAS)
		if loc.SecretOnCommandLine {
			a.log.Warn("the address on the command line holds a secret, which `ps` shows to every user of this machine; use BYOB_STORE or a remote in the config file")
		}
	}
	return loc, nil
}

// open resolves ref and, for a store, opens it.
func (a *app) open(ctx context.Context, ref string) (*target, error) {
	loc, err := a.resolve(ref)
	if err != nil {
		return nil, err
	}
	t := &target{loc: loc}
	if loc.IsLocal() {
		return t, nil
	}
	st, prefix, err := a.registry.Open(ctx, loc.Address)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", loc.Address.Redacted(), err)
	}
	t.store, t.prefix = st, prefix
	a.log.Debug("opened store", "address", loc.Address, "backend", backendName(loc.Address), "source", loc.Source, "prefix", prefix)
	return t, nil
}

// openStore is open for commands that need a store, not a local path.
func (a *app) openStore(ctx context.Context, ref string) (*target, error) {
	t, err := a.open(ctx, ref)
	if err != nil {
		return nil, err
	}
	if t.isLocal() {
		return nil, usageError{fmt.Errorf("%q is a local path; give a store address (s3://, cw://, gs://, az://, file://) or NAME:path", ref)}
	}
	return t, nil
}
