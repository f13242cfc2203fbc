package sync

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/mem"
)

// file is one file of a test tree.
type file struct {
	data  string
	mtime time.Time
}

type tree map[string]file

func f(data string, sec int64) file { return file{data: data, mtime: time.Unix(sec, 0)} }

// parseTree reads a description: one file per line, "KEY SIZE MTIME [TAG]"
// (KEY bare or Go-quoted, MTIME in Unix seconds, the content TAG repeated
// to SIZE bytes, "x" by default). A KEY ending in "/" with SIZE 0 is a
// directory (local) or a marker (store). "#" starts a comment line.
func parseTree(t *testing.T, text string) tree {
	t.Helper()
	out := tree{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var key, rest string
		if strings.HasPrefix(line, `"`) {
			q, err := strconv.QuotedPrefix(line)
			require.NoError(t, err, line)
			key, _ = strconv.Unquote(q)
			rest = line[len(q):]
		} else {
			key, rest, _ = strings.Cut(line, " ")
		}
		fields := strings.Fields(rest)
		require.GreaterOrEqual(t, len(fields), 2, line)
		size, err := strconv.Atoi(fields[0])
		require.NoError(t, err)
		sec, err := strconv.ParseInt(fields[1], 10, 64)
		require.NoError(t, err)
		tag := "x"
		if len(fields) > 2 {
			tag = fields[2]
		}
		data := strings.Repeat(tag, size/len(tag)+1)[:size]
		out[key] = file{data: data, mtime: time.Unix(sec, 0)}
	}
	return out
}

func newMem() *mem.Store { return mem.New(mem.Options{}) }

// putTree writes tr under a Side: objects with mtime metadata, or files
// with their mtime ("d/" keys make directories).
func putTree(t *testing.T, s Side, namer Namer, tr tree) {
	t.Helper()
	ctx := context.Background()
	for k, fl := range tr {
		if s.Store != nil {
			_, err := s.Store.Put(ctx, normPrefix(s.Prefix)+k, strings.NewReader(fl.data), int64(len(fl.data)),
				providers.PutOptions{Metadata: map[string]string{providers.MetaMtime: providers.FormatMtime(fl.mtime)}})
			require.NoError(t, err, k)
			continue
		}
		if namer == nil {
			namer = LayoutNamer{}
		}
		isDir := strings.HasSuffix(k, "/") && fl.data == ""
		p, err := pathOf(s.LocalDir, namer, k, isDir)
		require.NoError(t, err, k)
		if isDir {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(fl.data), 0o644))
		require.NoError(t, os.Chtimes(p, fl.mtime, fl.mtime))
	}
}

// readTree reads back a Side: a store's objects with their effective mtime
// (metadata or server time), or a directory's files (empty directories as
// "d/" when dirs is set).
func readTree(t *testing.T, s Side, namer Namer, dirs bool) tree {
	t.Helper()
	ctx := context.Background()
	out := tree{}
	if s.Store != nil {
		p := normPrefix(s.Prefix)
		require.NoError(t, s.Store.List(ctx, providers.ListOptions{Prefix: p}, func(e providers.Entry) error {
			rc, info, err := s.Store.Get(ctx, e.Key, 0, -1, providers.GetOptions{})
			if err != nil {
				return err
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			out[e.Key[len(p):]] = file{data: string(b), mtime: info.Mtime()}
			return err
		}))
		return out
	}
	if namer == nil {
		namer = LayoutNamer{}
	}
	if _, err := os.Stat(s.LocalDir); os.IsNotExist(err) {
		return out
	}
	require.NoError(t, filepath.WalkDir(s.LocalDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == s.LocalDir {
			return err
		}
		rel, _ := filepath.Rel(s.LocalDir, p)
		var segs []string
		for _, n := range strings.Split(rel, "/") {
			segs = append(segs, namer.NameToKey(n))
		}
		key := strings.Join(segs, "/")
		if d.IsDir() {
			if ents, _ := os.ReadDir(p); len(ents) == 0 && dirs {
				out[key+"/"] = file{}
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, _ := os.Stat(p)
		out[key] = file{data: string(b), mtime: fi.ModTime()}
		return nil
	}))
	return out
}

// requireSameTree compares contents and mtimes (to the second, and exactly
// when both have sub-second parts).
func requireSameTree(t *testing.T, want, got tree) {
	t.Helper()
	require.Equal(t, keysOf(want), keysOf(got))
	for k, w := range want {
		g := got[k]
		require.Equal(t, w.data, g.data, "content of %q", k)
		if !w.mtime.IsZero() && !strings.HasSuffix(k, "/") {
			require.True(t, w.mtime.Equal(g.mtime), "mtime of %q: want %v got %v", k, w.mtime, g.mtime)
		}
	}
}

func keysOf(tr tree) []string {
	var ks []string
	for k := range tr {
		ks = append(ks, k)
	}
	return sortedStrings(ks)
}

func sortedStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// planOf runs a dry run and returns the plan text (one line per action,
// skips included) and a summary line.
func planOf(t *testing.T, src, dst Side, opts Options) (string, Report, error) {
	t.Helper()
	var b bytes.Buffer
	opts.DryRun = true
	opts.OnEvent = func(e Event) {
		if e.Planned {
			fmt.Fprintln(&b, Action{Op: e.Op, Key: e.Key, Reason: e.Reason}.String())
		}
	}
	r, err := Run(context.Background(), src, dst, opts)
	fmt.Fprintf(&b, "# copied=%d updated=%d skipped=%d mkdirs=%d deleted=%d pending_deletes=%d excluded=%d failed=%d",
		r.Copied, r.Updated, r.Skipped, r.Mkdirs, r.Deleted, r.PendingDeletes, r.Excluded, r.Failed)
	if r.DeletesSkipped != "" {
		fmt.Fprintf(&b, " deletes_skipped=%q", r.DeletesSkipped)
	}
	if err != nil {
		fmt.Fprintf(&b, "\n# error: %v", err)
	}
	b.WriteString("\n")
	return b.String(), r, err
}

// parseFlags turns a golden case's opts.txt into Options and side kinds.
func parseFlags(t *testing.T, text string) (opts Options, srcLocal, dstLocal bool) {
	t.Helper()
	opts = DefaultOptions()
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Split(bufio.ScanWords)
	for sc.Scan() {
		name, val, _ := strings.Cut(sc.Text(), "=")
		switch name {
		case "--delete":
			opts.Delete = true
		case "--delete-excluded":
			opts.DeleteExcluded = true
		case "--size-only":
			opts.Compare = CompareSizeOnly
		case "--checksum":
			opts.Compare = CompareChecksum
		case "--update":
			opts.Update = true
		case "--create-empty-dirs":
			opts.CreateEmptyDirs = true
		case "--max-delete":
			n, err := strconv.Atoi(val)
			require.NoError(t, err)
			opts.MaxDelete = n
		case "--include":
			opts.Filters = append(opts.Filters, Include(val))
		case "--exclude":
			opts.Filters = append(opts.Filters, Exclude(val))
		case "--shard":
			s, err := ParseShard(val)
			require.NoError(t, err)
			opts.Shard = s
		case "--src":
			srcLocal = val == "local"
		case "--dst":
			dstLocal = val == "local"
		default:
			t.Fatalf("unknown flag %q", name)
		}
	}
	return opts, srcLocal, dstLocal
}
