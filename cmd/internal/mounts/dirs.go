package mounts

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/byobfs/byob/cache"
)

// RuntimeDir returns the directory of mount records and control sockets,
// made private to the caller (cache.PrivateDir): BYOB_RUNTIME_DIR, else
// /run/byob for root, else $XDG_RUNTIME_DIR/byob, else <cacheBase>/run.
func RuntimeDir(cacheBase string) (string, error) {
	d := os.Getenv("BYOB_RUNTIME_DIR")
	switch {
	case d != "":
	case os.Geteuid() == 0:
		d = "/run/byob"
	case os.Getenv("XDG_RUNTIME_DIR") != "":
		d = filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "byob")
	case cacheBase != "":
		d = filepath.Join(cacheBase, "run")
	default:
		return "", errors.New("no runtime directory: set XDG_RUNTIME_DIR or BYOB_RUNTIME_DIR")
	}
	if err := cache.PrivateDir(d); err != nil {
		return "", err
	}
	return d, nil
}
