package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/byobfs/byob/layout"
	"github.com/byobfs/byob/providers"
)

type lsOptions struct {
	long      bool
	recursive bool
	human     bool
	tree      bool
}

func (a *app) lsCommand() *cobra.Command {
	var o lsOptions
	cmd := &cobra.Command{
		Use:   "ls [ADDRESS[/PREFIX] | NAME:PATH]",
		Short: "List what is in a bucket (one level, or -R for all)",
		Long: `List the objects and directories under an address.

A prefix that names a directory lists its contents; one that names an object
lists that object. Directories end in "/". With -l each line shows the size,
the modification time and the kind of file the platform wrote there (run file,
media, artifact manifest, artifact blob, history export, report image).
With no address, BYOB_STORE is used.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := firstArg(args)
			return a.ls(cmd.Context(), ref, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.long, "long", "l", false, "show size, modification time and kind")
	f.BoolVarP(&o.recursive, "recursive", "R", false, "list everything below, not one level")
	f.BoolVarP(&o.human, "human-readable", "H", false, "sizes in KiB/MiB/GiB with -l")
	f.BoolVar(&o.tree, "tree", false, "show everything below as an indented tree (implies -R)")
	return cmd
}

type lsEntry struct {
	Key     string    `json:"key"`
	Name    string    `json:"name"`
	Dir     bool      `json:"dir,omitempty"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time,omitzero"`
	Version string    `json:"version,omitempty"`
	Kind    string    `json:"kind,omitempty"`
}

func (a *app) ls(ctx context.Context, ref string, o lsOptions) error {
	t, err := a.openStore(ctx, ref)
	if err != nil {
		return err
	}
	defer t.close()
	if o.tree {
		o.recursive = true
	}
	out := newLsPrinter(a.stdout, o, a.jsonOut)
	defer out.flush()

	p := t.prefix
	if p == "" || strings.HasSuffix(p, "/") {
		_, err := a.listDir(ctx, t.store, p, o, out)
		return err
	}
	// A prefix without a trailing "/": a directory first, else an object.
	n, err := a.listDir(ctx, t.store, p+"/", o, out)
	if err != nil || n > 0 {
		return err
	}
	info, err := t.store.Stat(ctx, p)
	if errors.Is(err, providers.ErrNotExist) {
		return fmt.Errorf("nothing at %s: %w", t.display(), providers.ErrNotExist)
	}
	if err != nil {
		return err
	}
	name := p[strings.LastIndex(p, "/")+1:]
	out.add(entryFor(t.store, providers.Entry{ObjectInfo: info}, name))
	return nil
}

// listDir lists below dir (which ends in "/" or is empty) and returns how
// many entries it printed.
func (a *app) listDir(ctx context.Context, st providers.Store, dir string, o lsOptions, out *lsPrinter) (int, error) {
	opts := providers.ListOptions{Prefix: dir, Delimiter: "/"}
	if o.recursive {
		opts.Delimiter = ""
	}
	n := 0
	err := st.List(ctx, opts, func(e providers.Entry) error {
		name := strings.TrimPrefix(e.Key, dir)
		if name == "" {
			return nil // a directory marker object for dir itself
		}
		n++
		out.add(entryFor(st, e, name))
		return nil
	})
	return n, err
}

func entryFor(st providers.Store, e providers.Entry, name string) lsEntry {
	le := lsEntry{Key: e.Key, Name: name, Dir: e.IsPrefix, Size: e.Size, ModTime: e.ModTime, Version: e.Version}
	if !e.IsPrefix {
		le.Kind = classify(st, e.Key).Kind.String()
	}
	return le
}

// classify says what the platform stored at key. A local directory's root
// may sit anywhere inside the team layout (file:// roots are the deepest
// existing directory), and a confined store's below its bucket, so there
// the whole path is classified.
func classify(st providers.Store, key string) layout.Class {
	for { // through the stack's decorators (Unwrap) to the rooted store

		if r, ok := st.(interface{ Root() string }); ok {
			return layout.Classify(strings.TrimSuffix(r.Root(), "/") + "/" + key)
		}
		u, ok := st.(interface{ Unwrap() providers.Store })
		if !ok {
			return layout.Classify(key)
		}
		st = u.Unwrap()
	}
}

type lsPrinter struct {
	w    *bufio.Writer
	o    lsOptions
	json bool
	dirs []string // GUARDED_BY(single goroutine): the tree's open directories
}

// addTree prints the directories a key opens (relative to the previous
// key's) and then the key's base name, indented by depth. Keys arrive in
// order, so this streams with memory bounded by the depth.
func (p *lsPrinter) addTree(e lsEntry) {
	segs := strings.Split(e.Name, "/")
	dirs, base := segs[:len(segs)-1], segs[len(segs)-1]
	common := 0
	for common < len(dirs) && common < len(p.dirs) && dirs[common] == p.dirs[common] {
		common++
	}
	for i := common; i < len(dirs); i++ {
		fmt.Fprintf(p.w, "%s%s/\n", strings.Repeat("  ", i), dirs[i])
	}
	p.dirs = append(p.dirs[:common], dirs[common:]...)
	if base == "" {
		return // a directory marker "dir/"
	}
	if p.o.long {
		size := fmt.Sprint(e.Size)
		if p.o.human {
			size = humanSize(e.Size)
		}
		fmt.Fprintf(p.w, "%s%s  (%s, %s)\n", strings.Repeat("  ", len(dirs)), base, size, e.Kind)
		return
	}
	fmt.Fprintf(p.w, "%s%s\n", strings.Repeat("  ", len(dirs)), base)
}

func newLsPrinter(w io.Writer, o lsOptions, js bool) *lsPrinter {
	return &lsPrinter{w: bufio.NewWriterSize(w, 64<<10), o: o, json: js}
}

func (p *lsPrinter) add(e lsEntry) {
	if p.o.tree && !p.json {
		p.addTree(e)
		return
	}
	switch {
	case p.json:
		jsonLine(p.w, e)
	case p.o.long:
		size := fmt.Sprint(e.Size)
		if p.o.human {
			size = humanSize(e.Size)
		}
		when, kind := fmtTime(e.ModTime), e.Kind
		if e.Dir {
			size, when, kind = "-", "-", "dir"
		}
		fmt.Fprintf(p.w, "%12s  %19s  %-17s  %s\n", size, when, kind, e.Name)
	default:
		fmt.Fprintln(p.w, e.Name)
	}
}

func (p *lsPrinter) flush() { p.w.Flush() }
