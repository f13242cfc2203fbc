package sync

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestPlanGolden runs every testdata/<case>: src.txt and dst.txt describe
// the trees (see parseTree), opts.txt the flags (see parseFlags; --src=local
// and --dst=local put that side on disk, otherwise it is a mem store), and
// plan.golden holds the dry-run plan.
func TestPlanGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*/opts.txt")
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		dir := filepath.Dir(c)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			read := func(name string) string {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if os.IsNotExist(err) {
					return ""
				}
				require.NoError(t, err)
				return string(b)
			}
			opts, srcLocal, dstLocal := parseFlags(t, read("opts.txt"))
			mk := func(local bool, name string) Side {
				if local {
					return Side{LocalDir: filepath.Join(t.TempDir(), name)}
				}
				return Side{Store: newMem(), Name: name, Prefix: "root"}
			}
			src, dst := mk(srcLocal, "src"), mk(dstLocal, "dst")
			putTree(t, src, nil, parseTree(t, read("src.txt")))
			putTree(t, dst, nil, parseTree(t, read("dst.txt")))
			before := readTree(t, dst, nil, true)

			got, _, _ := planOf(t, src, dst, opts)
			golden := filepath.Join(dir, "plan.golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.Equal(t, string(want), got)
			requireSameTree(t, before, readTree(t, dst, nil, true)) // a dry run changes nothing
		})
	}
}
