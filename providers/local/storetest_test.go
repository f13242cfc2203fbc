package local

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/storetest"
)

// TestConformance runs the shared suite. MinPartSize is small so the
// multipart cases stay quick; fsync stays on, as in production.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) providers.Store {
		s, err := Open(t.TempDir(), Options{MinPartSize: 64 << 10})
		require.NoError(t, err)
		return s
	})
}
