package sync

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// direction builds a fresh source and destination.
type direction struct {
	name string
	make func(t *testing.T) (src, dst Side)
}

var directions = []direction{
	{"mem-to-local", func(t *testing.T) (Side, Side) {
		return Side{Store: newMem(), Name: "m", Prefix: "src"}, Side{LocalDir: filepath.Join(t.TempDir(), "dst")}
	}},
	{"local-to-mem", func(t *testing.T) (Side, Side) {
		return Side{LocalDir: t.TempDir()}, Side{Store: newMem(), Name: "m", Prefix: "dst"}
	}},
	{"mem-same-store", func(t *testing.T) (Side, Side) {
		m := newMem()
		return Side{Store: m, Name: "m", Prefix: "src"}, Side{Store: m, Name: "m", Prefix: "dst"}
	}},
	{"mem-to-other-mem", func(t *testing.T) (Side, Side) {
		return Side{Store: newMem(), Name: "a", Prefix: "src"}, Side{Store: newMem(), Name: "b", Prefix: ""}
	}},
	{"local-to-local", func(t *testing.T) (Side, Side) {
		return Side{LocalDir: t.TempDir()}, Side{LocalDir: filepath.Join(t.TempDir(), "d")}
	}},
}

// TestMatrix runs every direction against newer/older/same/different-size
// files, with and without --delete, --update and --dry-run, and an exclude
// filter, then checks the destination and that a second run is a no-op.
func TestMatrix(t *testing.T) {
	srcTree := tree{
		"new.txt":     f("new", 1000),
		"same.txt":    f("same", 1000),
		"older.txt":   f("src-older", 2000), // destination is older
		"newer.txt":   f("src-newer", 1000), // destination is newer
		"size.txt":    f("src-size", 1000),  // same mtime, other size
		"sub/d/x.bin": f("deep", 1500),
		"skip.log":    f("excluded", 1000),
	}
	dstTree := tree{
		"same.txt":  f("same", 1000),
		"older.txt": f("dst-oldr", 1000),
		"newer.txt": f("dst-newr", 2000),
		"size.txt":  f("dst-size-x", 1000),
		"extra.txt": f("extra", 1000),
		"keep.log":  f("kept", 1000),
	}
	for _, d := range directions {
		for _, del := range []bool{false, true} {
			for _, upd := range []bool{false, true} {
				for _, dry := range []bool{false, true} {
					name := fmt.Sprintf("%s/delete=%v/update=%v/dry=%v", d.name, del, upd, dry)
					t.Run(name, func(t *testing.T) {
						src, dst := d.make(t)
						putTree(t, src, nil, srcTree)
						putTree(t, dst, nil, dstTree)
						opts := DefaultOptions()
						opts.Delete, opts.Update, opts.DryRun = del, upd, dry
						opts.Filters = []FilterRule{Exclude("*.log")}
						opts.Index = NewMemIndex()
						r, err := Run(context.Background(), src, dst, opts)
						require.NoError(t, err)

						want := tree{}
						for k, v := range dstTree {
							want[k] = v
						}
						if !dry {
							for k, v := range srcTree {
								if k == "skip.log" || (upd && k == "newer.txt") {
									continue
								}
								want[k] = v
							}
							if del {
								delete(want, "extra.txt")
							}
						}
						requireSameTree(t, want, readTree(t, dst, nil, false))

						updated := int64(3)
						if upd {
							updated = 2
						}
						require.EqualValues(t, 2, r.Copied, "copied")
						require.EqualValues(t, updated, r.Updated, "updated")
						if del {
							require.EqualValues(t, 1, r.Deleted)
						} else {
							require.Zero(t, r.Deleted)
						}
						if dry {
							return
						}
						// A second run does nothing.
						opts.DryRun = false
						r2, err := Run(context.Background(), src, dst, opts)
						require.NoError(t, err)
						require.Zero(t, r2.Copied+r2.Updated+r2.Deleted+r2.Failed, "%+v", r2)
					})
				}
			}
		}
	}
}

// TestDryRunPrintsTheRealPlan: the planned events of a dry run and of the
// real run that follows are the same lines.
func TestDryRunPrintsTheRealPlan(t *testing.T) {
	for _, d := range directions {
		t.Run(d.name, func(t *testing.T) {
			src, dst := d.make(t)
			putTree(t, src, nil, tree{"a": f("1", 1), "b/c": f("22", 2), "d": f("333", 3)})
			putTree(t, dst, nil, tree{"a": f("1", 1), "b/c": f("2", 2), "e": f("x", 1)})
			opts := DefaultOptions()
			opts.Delete = true
			var dry, real []string
			collect := func(out *[]string) func(Event) {
				return func(e Event) {
					if e.Planned {
						*out = append(*out, Action{Op: e.Op, Key: e.Key, Reason: e.Reason}.String())
					}
				}
			}
			opts.DryRun, opts.OnEvent = true, collect(&dry)
			_, err := Run(context.Background(), src, dst, opts)
			require.NoError(t, err)
			opts.DryRun, opts.OnEvent = false, collect(&real)
			_, err = Run(context.Background(), src, dst, opts)
			require.NoError(t, err)
			require.Equal(t, dry, real)
			require.Len(t, real, 4)
		})
	}
}
