package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/byobfs/byob/cmd/internal/config"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/wrap"
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
	loc, err := config.Resolver{File: a.cfg, FromEnv: a.registry.FromEnv}.Resolve(ref)
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

// openOptions say how open stacks a store (providers/wrap.Stack).
type openOptions struct {
	// confine: the store is confined to the location's prefix (keys are
	// relative to it; target.prefix is ""), as a mount shows it.
	confine bool
	// observer, when set, is told of every store call (the mount's metrics).
	observer wrap.Observer
}

// open resolves ref and, for a store, opens it, stacked as every command
// uses it: retried, counted, confined (wrap.Stack).
func (a *app) open(ctx context.Context, ref string) (*target, error) {
	return a.openWith(ctx, ref, openOptions{})
}

func (a *app) openWith(ctx context.Context, ref string, o openOptions) (*target, error) {
	loc, err := a.resolve(ref)
	if err != nil {
		return nil, err
	}
	t := &target{loc: loc}
	if loc.IsLocal() {
		return t, nil
	}
	raw, prefix, err := a.registry.Open(ctx, loc.Address)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", loc.Address.Redacted(), err)
	}
	root := ""
	if o.confine {
		root, prefix = strings.Trim(prefix, "/"), ""
	}
	st, err := wrap.Stack(raw, wrap.Options{Root: root, Observer: o.observer})
	if err != nil {
		if c, ok := raw.(providers.Closer); ok {
			c.Close()
		}
		return nil, usageError{fmt.Errorf("%s: %w", loc.Address.Redacted(), err)}
	}
	t.store, t.prefix = st, prefix
	a.log.Debug("opened store", "address", loc.Address, "backend", a.registry.Describe(loc.Address), "source", loc.Source, "prefix", prefix, "root", root)
	return t, nil
}

// openStore is open for commands that need a store, not a local path.
func (a *app) openStore(ctx context.Context, ref string) (*target, error) {
	return a.openStoreWith(ctx, ref, openOptions{})
}

func (a *app) openStoreWith(ctx context.Context, ref string, o openOptions) (*target, error) {
	t, err := a.openWith(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	if t.isLocal() {
		return nil, usageError{fmt.Errorf("%q is a local path; give a store address (s3://, cw://, gs://, az://, file://) or NAME:path", ref)}
	}
	return t, nil
}
