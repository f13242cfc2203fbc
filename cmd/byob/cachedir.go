package main

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/cmd/internal/mounts"
)

// rootCacheBase is root's cache base: persistent (blocks and write-back
// staging must survive a reboot), and not derived from HOME, which mount(8)
// and systemd units without User= do not set.
const rootCacheBase = "/var/cache/byob"

// cacheBase is where caches live: flag (--cache-dir), else BYOB_CACHE_DIR,
// else the config's cache_dir, else /var/cache/byob for root, else
// $XDG_CACHE_HOME/byob (~/.cache/byob). It is made, or checked, private to
// this user (cache.PrivateDir): never a directory another user could have
// made first.
func (a *app) cacheBase(flag string) (string, error) {
	var d string
	switch {
	case flag != "":
		d = flag
	case os.Getenv("BYOB_CACHE_DIR") != "":
		d = os.Getenv("BYOB_CACHE_DIR")
	case a.cfg != nil && a.cfg.CacheDir != "":
		d = a.cfg.CacheDir
	case os.Geteuid() == 0:
		d = rootCacheBase
	default:
		u, err := os.UserCacheDir()
		if err != nil {
			return "", errors.New("no cache directory: HOME is not set; give --cache-dir or BYOB_CACHE_DIR")
		}
		d = filepath.Join(u, "byob")
	}
	d, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	return d, cache.PrivateDir(d)
}

// runtimeDir is the private directory of mount records and control
// sockets (mounts.RuntimeDir).
func (a *app) runtimeDir() (string, error) {
	base, err := a.cacheBase("")
	if err != nil {
		base = ""
	}
	return mounts.RuntimeDir(base)
}
