package fusefs

import (
	"testing"

	"github.com/hanwen/go-fuse/v2/posixtest"

	"github.com/byobfs/byob/cache"
	byobfs "github.com/byobfs/byob/fs"
)

// posixSkipped are the posixtest cases not run, with the reason; fs/doc.go
// lists them too.
var posixSkipped = map[string]string{
	"SymlinkReadlink":     "no symlinks on an object store",
	"SetattrSymlink":      "no symlinks on an object store",
	"OpenSymlinkRace":     "no symlinks on an object store",
	"Link":                "no hard links on an object store",
	"LinkUnlinkRename":    "no hard links on an object store",
	"XAttr":               "extended attributes are read-only (user.byob.key)",
	"XAttrLarge":          "extended attributes are read-only (user.byob.key)",
	"FcntlFlockSetLk":     "no POSIX locks across nodes; locks are not offered",
	"FcntlFlockLocksFile": "no POSIX locks across nodes; locks are not offered",
	"Fallocate":           "fallocate not offered",
	"FallocateKeepSize":   "fallocate not offered",
	"Tmpfile":             "O_TMPFILE not offered",
	"DirectIO":            "O_DIRECT not offered",
}

func TestPosix(t *testing.T) {
	for name, fn := range posixtest.All {
		t.Run(name, func(t *testing.T) {
			if why, ok := posixSkipped[name]; ok {
				t.Skip(why)
			}
			var mut func(*byobfs.Options, *cache.Options)
			if name == "FileBasic" {
				// It creates with mode 0755 and expects to see it; files
				// show the mount's FileMode (chmod and create modes are
				// not kept), so it runs on a mount whose FileMode is 0755.
				mut = func(o *byobfs.Options, _ *cache.Options) { o.FileMode = 0o755 }
			}
			mnt := testMount(t, newFS(t, newMem(), mut), MountOptions{})
			fn(t, mnt)
		})
	}
}
