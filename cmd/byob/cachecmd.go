package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/cmd/internal/mounts"
	byobfs "github.com/byobfs/byob/fs"
)

func (a *app) cacheCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Inspect, verify or clear a byob cache directory",
		Long: `Each mount has its own cache directory (derived from the mountpoint, or its
--cache-dir) and sync has its own (<cache base>/sync); the cache base is
$BYOB_CACHE_DIR, the config's cache_dir, /var/cache/byob for root, or
~/.cache/byob. --mountpoint MP names a mount's cache (a running mount is found
whatever its cache directory, and asked); --cache-dir names one cache
directory; without either, the sync cache is used.`,
	}
	var mountpoint string
	cmd.PersistentFlags().StringVar(&dir, "cache-dir", "", "the cache directory (default: the sync cache)")
	cmd.PersistentFlags().StringVar(&mountpoint, "mountpoint", "", "the cache of the mount at this mountpoint (a running mount is asked)")
	// locate finds the cache to work on, and the running mount holding it.
	locate := func() (string, *mounts.Record, error) { return a.locateCache(dir, mountpoint) }
	open := func() (*cache.Cache, error) {
		d, rec, err := locate()
		if err != nil {
			return nil, err
		}
		if rec != nil {
			return nil, fmt.Errorf("the mount at %s (pid %d) holds the cache %s: unmount it first", rec.Mountpoint, rec.PID, d)
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
		Use: "stats", Short: "Show what a cache holds (a running mount's: asked over its control socket)", Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.cacheStats(cmd.Context(), locate, withCache)
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
	var uploadTo string
	pending := &cobra.Command{
		Use:   "pending",
		Short: "List data a mount acknowledged but has not uploaded yet (--upload ADDRESS uploads it)",
		Long: `List the write-back data of a mount: acknowledged to applications, not yet in
the bucket. A running mount is asked over its control socket; a stopped one's
cache is read directly. --upload ADDRESS (the address the mount had) uploads
what a stopped mount left behind, as the next mount would.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" && mountpoint == "" {
				return usageError{errors.New("give --mountpoint MP or --cache-dir DIR")}
			}
			d, rec, err := locate()
			if err != nil {
				return err
			}
			var list []byobfs.PendingUpload
			if rec != nil {
				if uploadTo != "" {
					return fmt.Errorf("the mount at %s (pid %d) is running and uploads these itself; unmount it to upload from here", rec.Mountpoint, rec.PID)
				}
				ans, err := askMount(rec.Socket, "pending")
				if err != nil {
					return err
				}
				list = ans.Pending
			} else {
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
	pending.Flags().StringVar(&uploadTo, "upload", "", "upload what a stopped mount left, to this ADDRESS (the mount's)")
	cmd.AddCommand(stats, verify, clear, pending)
	return cmd
}

// cacheStats returns the statistics of the located cache: asked from the
// mount that holds it, or read from the cache.
func (a *app) cacheStats(ctx context.Context, locate func() (string, *mounts.Record, error), withCache func(func(*cache.Cache) error) error) (cache.Stats, error) {
	_, rec, err := locate()
	if err != nil {
		return cache.Stats{}, err
	}
	if rec != nil {
		ans, err := askMount(rec.Socket, "stats")
		if err != nil {
			return cache.Stats{}, err
		}
		if ans.Stats == nil {
			return cache.Stats{}, fmt.Errorf("the mount at %s sent no statistics", rec.Mountpoint)
		}
		return *ans.Stats, nil
	}
	var s cache.Stats
	err = withCache(func(c *cache.Cache) error {
		s, err = c.Stats(ctx)
		return err
	})
	return s, err
}

// locateCache names the cache directory a cache command works on, and the
// live mount holding it (nil when none): --mountpoint (the running mount's
// own cache, whatever --cache-dir it was given; a stopped one's derived
// directory, or --cache-dir), else --cache-dir, else the sync cache.
func (a *app) locateCache(dir, mountpoint string) (string, *mounts.Record, error) {
	rt, err := a.runtimeDir()
	if err != nil {
		return "", nil, err
	}
	if mountpoint != "" {
		mp, err := filepath.Abs(mountpoint)
		if err != nil {
			return "", nil, err
		}
		m, err := mounts.Find(rt, mp)
		if err != nil {
			return "", nil, err
		}
		if m.Record != nil {
			return m.Record.CacheDir, m.Record, nil
		}
		if m.State == mounts.Unregistered {
			return "", nil, fmt.Errorf("the byob mount at %s is not registered here (another user's, or an older byob): give its --cache-dir", mp)
		}
		d, err := a.mountCacheDir(dir, mp)
		return d, nil, err
	}
	if dir == "" {
		base, err := a.cacheBase("")
		if err != nil {
			return "", nil, err
		}
		return filepath.Join(base, "sync"), nil, nil
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	rec, err := mounts.ByCacheDir(rt, d)
	return d, rec, err
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
	t, err := a.openStoreWith(ctx, uploadTo, openOptions{confine: true})
	if err != nil {
		return nil, err
	}
	defer t.close()
	o := byobfs.DefaultOptions()
	o.Store, o.StoreID, o.Cache, o.WriteBack, o.Logger = t.store, t.storeID(), c, true, a.log
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
