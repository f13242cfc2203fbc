package faulty

import (
	"testing"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/mem"
	"github.com/byobfs/byob/providers/storetest"
)

// TestWrappedMemConformance: with no faults firing, the decorator is
// transparent, so a wrapped mem store passes the conformance suite.
func TestWrappedMemConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) providers.Store {
		return Wrap(mem.New(mem.DefaultOptions()), Options{
			// A rule that never fires still counts every call it matches.
			Rules: []StoreRule{{Op: OpGet, Key: "never-used-key"}},
		})
	})
}
