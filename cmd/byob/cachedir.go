package main

import (
	"os"
	"path/filepath"
)

// cacheBase is where caches live: --cache-dir, else BYOB_CACHE_DIR, else
// the config's cache_dir, else $XDG_CACHE_HOME/byob (~/.cache/byob).
func (a *app) cacheBase(flag string) string {
	switch {
	case flag != "":
		return flag
	case os.Getenv("BYOB_CACHE_DIR") != "":
		return os.Getenv("BYOB_CACHE_DIR")
	case a.cfg != nil && a.cfg.CacheDir != "":
		return a.cfg.CacheDir
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "byob")
	}
	return filepath.Join(os.TempDir(), "byob-cache")
}
