package cache

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/byobfs/byob/transfer"
)

// Block files are written with O_DIRECT when the bytes allow it (a buffer
// and a length aligned to DirectAlign): the data goes from the fetch
// buffer to the disk without a copy into the page cache. On these
// machines a buffered write of 1 GiB of blocks cost 0.34 to 4.2 CPU
// seconds (page-cache allocation right after a drop, ext4's delayed
// allocation, then the flusher's writeback on the same two cores); the
// direct write cost 0.11, every time. A block read back soon after is
// served from the recent-blocks memory tier (recent.go), not from disk.
//
// A file system that refuses O_DIRECT (tmpfs before Linux 6.6, some
// FUSE and network file systems) is remembered by the cache and written
// through the page cache from then on. Buffers are aligned to
// transfer.DirectAlign.

// DirectRefused reports whether err is a file system's refusal of an
// O_DIRECT write (EINVAL, EOPNOTSUPP): the caller writes through the page
// cache instead.
func DirectRefused(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP)
}

// directOK reports whether data can be written with O_DIRECT: an aligned
// buffer of an aligned length.
func directOK(data []byte) bool {
	return len(data) > 0 && len(data)%transfer.DirectAlign == 0 && uintptr(unsafe.Pointer(&data[0]))%transfer.DirectAlign == 0
}

// writeData writes data as the whole contents of a new temporary file in
// dir and returns it open: with O_DIRECT when data allows it and noDirect
// is not set. The first refusal of O_DIRECT sets noDirect (per cache: the
// file system of its directory), and the data goes through the page cache.
func writeData(dir string, data []byte, noDirect *atomic.Bool) (*os.File, error) {
	if directOK(data) && !noDirect.Load() {
		f, err := writeTemp(dir, data, true)
		if err == nil || !DirectRefused(err) {
			return f, err
		}
		noDirect.Store(true)
	}
	return writeTemp(dir, data, false)
}

// writeTemp writes data to a new file in dir named after tmpPattern, opened
// with O_DIRECT when direct is set, and returns it open.
func writeTemp(dir string, data []byte, direct bool) (*os.File, error) {
	prefix, suffix, _ := strings.Cut(tmpPattern, "*")
	flag := os.O_RDWR | os.O_CREATE | os.O_EXCL
	if direct {
		flag |= unix.O_DIRECT
	}
	name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36)+suffix)
	f, err := os.OpenFile(name, flag, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		_ = os.Remove(name)
		return nil, err
	}
	return f, nil
}
