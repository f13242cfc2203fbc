package fusefs

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// TestDifferential runs the same random operations on a real directory and
// on a mount over mem, and compares the trees (names, types, sizes, SHA-256)
// after every step. A failure names its seed.
func TestDifferential(t *testing.T) {
	seeds, ops := 20, 200
	if testing.Short() {
		seeds, ops = 3, 50
	}
	// BYOB_DIFF_SEEDS=N runs seeds 1..N; BYOB_DIFF_SEEDS=A-B replays A..B.
	first := int64(1)
	if v := os.Getenv("BYOB_DIFF_SEEDS"); v != "" {
		a, b, ranged := strings.Cut(v, "-")
		if _, err := fmt.Sscan(a, &seeds); err != nil {
			t.Fatalf("BYOB_DIFF_SEEDS=%q: %v", v, err)
		}
		if ranged {
			first = int64(seeds)
			if _, err := fmt.Sscan(b, &seeds); err != nil {
				t.Fatalf("BYOB_DIFF_SEEDS=%q: %v", v, err)
			}
		}
	}
	for seed := first; seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ref := t.TempDir()
			mnt := testMount(t, newFS(t, newMem(), nil), MountOptions{})
			runDiff(t, seed, ops, ref, mnt)
		})
	}
}

type diffOp struct {
	name string
	fn   func(root string) error
}

func runDiff(t *testing.T, seed int64, nops int, ref, mnt string) {
	r := rand.New(rand.NewSource(seed))
	dirs := []string{"", "d0", "d1", "d0/e0"}
	files := []string{"f0", "f1", "f2.bin"}
	pick := func(s []string) string { return s[r.Intn(len(s))] }
	path := func() string { return filepath.Join(pick(dirs), pick(files)) }
	for i := 0; i < nops; i++ {
		var op diffOp
		switch k := r.Intn(10); k {
		case 0, 1:
			p, data := path(), randData(r)
			op = diffOp{fmt.Sprintf("write %s (%d)", p, len(data)), func(root string) error {
				return os.WriteFile(filepath.Join(root, p), data, 0o644)
			}}
		case 2:
			p, data := path(), randData(r)
			op = diffOp{fmt.Sprintf("append %s (%d)", p, len(data)), func(root string) error {
				fh, err := os.OpenFile(filepath.Join(root, p), os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					return err
				}
				_, err = fh.Write(data)
				return errors2(err, fh.Close())
			}}
		case 3:
			p, data, off := path(), randData(r), int64(r.Intn(70000))
			op = diffOp{fmt.Sprintf("pwrite %s @%d (%d)", p, off, len(data)), func(root string) error {
				fh, err := os.OpenFile(filepath.Join(root, p), os.O_RDWR, 0)
				if err != nil {
					return err
				}
				_, err = fh.WriteAt(data, off)
				return errors2(err, fh.Close())
			}}
		case 4:
			p, size := path(), int64(r.Intn(50000))
			op = diffOp{fmt.Sprintf("truncate %s %d", p, size), func(root string) error {
				return os.Truncate(filepath.Join(root, p), size)
			}}
		case 5:
			d := pick(dirs[1:])
			op = diffOp{"mkdir " + d, func(root string) error { return os.Mkdir(filepath.Join(root, d), 0o755) }}
		case 6:
			d := pick(dirs[1:])
			op = diffOp{"rmdir " + d, func(root string) error { return syscall.Rmdir(filepath.Join(root, d)) }}
		case 7:
			p := path()
			op = diffOp{"unlink " + p, func(root string) error { return syscall.Unlink(filepath.Join(root, p)) }}
		case 8:
			a, b := path(), path()
			op = diffOp{"rename " + a + " " + b, func(root string) error {
				return os.Rename(filepath.Join(root, a), filepath.Join(root, b))
			}}
		case 9:
			a, b := pick(dirs[1:]), pick([]string{"d1", "d2", "d0/e1"})
			op = diffOp{"rename dir " + a + " " + b, func(root string) error {
				if _, err := os.Stat(filepath.Join(root, b)); err == nil {
					return fmt.Errorf("exists") // only renames to a new name
				}
				return os.Rename(filepath.Join(root, a), filepath.Join(root, b))
			}}
		}
		errRef := op.fn(ref)
		errMnt := op.fn(mnt)
		if (errRef == nil) != (errMnt == nil) {
			t.Fatalf("seed %d step %d %s: ref err %v, mount err %v", seed, i, op.name, errRef, errMnt)
		}
		a, b := snapshotTree(t, ref), snapshotTree(t, mnt)
		if a != b {
			t.Fatalf("seed %d step %d %s: trees differ\nref:\n%s\nmount:\n%s", seed, i, op.name, a, b)
		}
	}
}

func randData(r *rand.Rand) []byte {
	sizes := []int{0, 1, 100, 4096, 70000, 300000}
	b := make([]byte, sizes[r.Intn(len(sizes))])
	r.Read(b)
	return b
}

func errors2(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func snapshotTree(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			lines = append(lines, "D "+rel)
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("F %s %d %x", rel, len(b), sha256.Sum256(b)))
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
