package gcs

import (
	"testing"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) providers.Store {
		st, _ := newTestStore(t)
		return st
	})
}
