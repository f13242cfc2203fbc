package azure

import (
	"testing"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) providers.Store {
		return newTestStore(t)
	})
}
