package s3

import (
	"testing"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) providers.Store {
		st, _ := newTestStore(t)
		return st
	})
}

func TestConformanceVirtualHosted(t *testing.T) {
	storetest.Run(t, func(t *testing.T) providers.Store {
		return newVirtualHostedStore(t)
	})
}
