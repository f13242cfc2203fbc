package testenv

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// WriteCredentials replaces the credentials file at path with the given
// KEY = VALUE lines, by a rename as Kubernetes secret volumes and most
// tools do (a store following the file sees a new inode).
func WriteCredentials(t testing.TB, path string, lines ...string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte("# byob credentials\n"+strings.Join(lines, "\n")+"\n"), 0o600))
	require.NoError(t, os.Rename(tmp, path))
}
