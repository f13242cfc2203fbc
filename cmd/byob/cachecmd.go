package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/byobfs/byob/cache"
	byobfs "github.com/byobfs/byob/fs"
	"github.com/byobfs/byob/layout"
)

func (a *app) cacheCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Inspect, verify or clear a byob cache directory",
		Long: `Each mount has its own cache directory (derived from the mountpoint) and sync
has its own (<cache base>/sync); the cache base is --cache-dir's parent,
$BYOB_CACHE_DIR, the config's cache_dir, or ~/.cache/byob. --cache-dir names
one cache directory; without it, the sync cache is used.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "cache-dir", "", "the cache directory (default: the sync cache)")
	open := func() (*cache.Cache, error) {
		d := dir
		if d == "" {
			d = filepath.Join(a.cacheBase(""), "sync")
		}
		if _, err := os.Stat(filepath.Join(d)); err != nil {
			return nil, fmt.Errorf("no cache at %s: %w", d, unwrapPathErr(err))
		}
		c, err := cache.Open(cache.DefaultOptions(d))
		if errors.Is(err, cache.ErrLocked) {
			return nil, fmt.Errorf("%w (a running byob holds it; stop it or ask it through its own command)", err)
		}
		return c, err
	}
	withCache := func(fn func(c *cache.Cache) error) error {
		c, err := open()
		if err != nil {
			return err
		}
		defer c.Close()
		return fn(c)
	}
	stats := &cobra.Command{
		Use: "stats", Short: "Show what a cache holds", Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withCache(func(c *cache.Cache) error {
				s, err := c.Stats(cmd.Context())
				if err != nil {
					return err
				}
				if a.jsonOut {
					return jsonLine(a.stdout, s)
				}
				w := a.stdout
				fmt.Fprintf(w, "cache:        %s (schema %d)\n", s.Dir, s.SchemaVersion)
				fmt.Fprintf(w, "index:        %s\n", humanSize(s.DBSize))
				fmt.Fprintf(w, "blocks:       %d, %s of %s (block size %s)\n", s.Blocks, humanSize(s.Bytes), humanSize(s.MaxSize), humanSize(s.BlockSize))
				fmt.Fprintf(w, "dirty:        %d blocks, %s not yet uploaded\n", s.DirtyBlocks, humanSize(s.DirtyBytes))
				names := make([]string, 0, len(s.Buckets))
				for n := range s.Buckets {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					fmt.Fprintf(w, "  %-14s %d\n", n+":", s.Buckets[n])
				}
				if s.Unclean {
					fmt.Fprintln(w, "note:         the last session did not close the cache cleanly; blocks are checked on first read")
				}
				return nil
			})
		},
	}
	verify := &cobra.Command{
		Use: "verify", Short: "Check every cached block against its CRC32C; drop damaged clean blocks", Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withCache(func(c *cache.Cache) error {
				r, err := c.Verify(cmd.Context())
				if err != nil {
					return err
				}
				if a.jsonOut {
					jsonLine(a.stdout, r)
				} else {
					fmt.Fprintf(a.stdout, "checked %d blocks (%s) in %.1fs: %d missing, %d wrong size, %d CRC mismatches, %d dropped, %d orphan files removed\n",
						r.Blocks, humanSize(r.Bytes), r.Seconds, len(r.Missing), len(r.SizeMismatch), len(r.CRCMismatch), r.Dropped, len(r.OrphanFiles))
				}
				if len(r.DirtyDamaged) > 0 {
					return fmt.Errorf("%d blocks of data not yet uploaded are damaged", len(r.DirtyDamaged))
				}
				return nil
			})
		},
	}
	var force bool
	clear := &cobra.Command{
		Use: "clear", Short: "Remove cached data (refuses while data is not yet uploaded, unless --force)", Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withCache(func(c *cache.Cache) error {
				r, err := c.Clear(cmd.Context(), cache.ClearOptions{Force: force})
				if errors.Is(err, cache.ErrDirty) {
					return fmt.Errorf("%w: data not yet uploaded is in this cache; let the mount upload it, or --force to lose it", err)
				}
				if err != nil {
					return err
				}
				if a.jsonOut {
					return jsonLine(a.stdout, r)
				}
				fmt.Fprintf(a.stdout, "cleared %d blocks (%s), %d attributes, %d listings\n", r.Blocks, humanSize(r.Bytes), r.Attrs, r.Listings)
				return nil
			})
		},
	}
	clear.Flags().BoolVar(&force, "force", false, "also drop data not yet uploaded (it is lost)")
	var mountpoint, uploadTo string
	pending := &cobra.Command{
		Use:   "pending",
		Short: "List data a mount acknowledged but has not uploaded yet (--upload ADDRESS uploads it)",
		Long: `List the write-back data of a mount: acknowledged to applications, not yet in
the bucket. A running mount is asked over its control socket; a stopped one's
cache is read directly. --upload ADDRESS (the address the mount had) uploads
what a stopped mount left behind, as the next mount would.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := dir
			if mountpoint != "" {
				mp, err := filepath.Abs(mountpoint)
				if err != nil {
					return err
				}
				d = a.mountCacheDir(dir, mp)
			}
			if d == "" {
				return usageError{errors.New("give --mountpoint MP or --cache-dir DIR")}
			}
			var list []byobfs.PendingUpload
			if ans, err := askMount(d, "pending"); err == nil {
				if uploadTo != "" {
					return fmt.Errorf("the mount is running and uploads these itself; unmount it to upload from here")
				}
				list = ans.Pending
			} else {
				var err error
				list, err = a.pendingFromCache(cmd.Context(), d, uploadTo)
				if err != nil {
					return err
				}
			}
			if a.jsonOut {
				return jsonLine(a.stdout, struct {
					Pending []byobfs.PendingUpload `json:"pending"`
				}{list})
			}
			for _, p := range list {
				fmt.Fprintf(a.stdout, "%-9s %10s  %s  %s\n", p.State, humanSize(p.Size), fmtTime(p.Created), p.Key)
			}
			if len(list) == 0 {
				fmt.Fprintln(a.stdout, "nothing pending")
			}
			return nil
		},
	}
	pending.Flags().StringVar(&mountpoint, "mountpoint", "", "the mount whose pending data to show")
	pending.Flags().StringVar(&uploadTo, "upload", "", "upload what a stopped mount left, to this ADDRESS (the mount's)")
	cmd.AddCommand(stats, verify, clear, pending)
	return cmd
}

// pendingFromCache lists (and with uploadTo, uploads) the write-back data
// of a stopped mount from its cache directory.
func (a *app) pendingFromCache(ctx context.Context, dir, uploadTo string) ([]byobfs.PendingUpload, error) {
	c, err := cache.Open(cache.DefaultOptions(dir))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if uploadTo == "" {
		var out []byobfs.PendingUpload
		err := c.ListWriteBack(ctx, func(wb cache.WriteBack) error {
			out = append(out, byobfs.PendingUpload{ID: wb.ID, Key: wb.Key, Size: wb.Size, State: string(wb.State), Created: wb.Created})
			return nil
		})
		return out, err
	}
	t, err := a.openStore(ctx, uploadTo)
	if err != nil {
		return nil, err
	}
	defer t.close()
	st := t.store
	if p := strings.Trim(t.prefix, "/"); p != "" {
		if st, err = layout.Confine(st, p); err != nil {
			return nil, err
		}
	}
	o := byobfs.DefaultOptions()
	o.Store, o.StoreID, o.Cache, o.WriteBack, o.Logger = st, t.storeID(), c, true, a.log
	o.FormerStoreIDs = []string{t.loc.Address.FormerStoreID()}
	f, err := byobfs.New(o) // resumes the journaled write-back entries
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.Drain(ctx); err != nil {
		return nil, err
	}
	return f.Pending(ctx)
}
