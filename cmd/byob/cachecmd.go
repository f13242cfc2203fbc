package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/byobfs/byob/cache"
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
	cmd.AddCommand(stats, verify, clear)
	return cmd
}
