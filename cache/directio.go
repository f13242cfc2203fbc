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
)

// Block files are written with O_DIRECT when the bytes allow it (a buffer
// and a length aligned to directAlign): the data goes from the fetch
// buffer to the disk without a copy into the page cache. On these
// machines a buffered write of 1 GiB of blocks cost 0.34 to 4.2 CPU
// seconds (page-cache allocation right after a drop, ext4's delayed
// allocation, then the flusher's writeback on the same two cores); the
// direct write cost 0.11, every time. A block read back soon after is
// served from the recent-blocks memory tier (recent.go), not from disk.
//
// A file system that refuses O_DIRECT (tmpfs before Linux 6.6, some
// FUSE and network file systems) is remembered and written through the
// page cache from then on.
const directAlign = 4096

// noDirect is set once a file system refused O_DIRECT.
var noDirect atomic.Bool

// directOK reports whether data can be written with O_DIRECT.
func directOK(data []byte) bool {
	if noDirect.Load() || len(data) == 0 || len(data)%directAlign != 0 {
		return false
	}
	return uintptr(unsafe.Pointer(&data[0]))%directAlign == 0
}

// createTemp creates a new temporary file in dir named after tmpPattern,
// opened with O_DIRECT when direct is set.
func createTemp(dir string, direct bool) (*os.File, error) {
	prefix, suffix, _ := strings.Cut(tmpPattern, "*")
	flag := os.O_RDWR | os.O_CREATE | os.O_EXCL
	if direct {
		flag |= unix.O_DIRECT
	}
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36)+suffix)
		f, err := os.OpenFile(name, flag, 0o600)
		if errors.Is(err, os.ErrExist) && try < 10000 {
			continue
		}
		return f, err
	}
}

// writeData writes data as the whole contents of a new temporary file in
// dir and returns it open. It writes with O_DIRECT when it can, and falls
// back to the page cache when the file system refuses.
func writeData(dir string, data []byte) (*os.File, error) {
	if directOK(data) {
		f, err := createTemp(dir, true)
		if err == nil {
			if _, err = f.Write(data); err == nil {
				return f, nil
			}
			name := f.Name()
			f.Close()
			_ = os.Remove(name)
		}
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EOPNOTSUPP) {
			return nil, err
		}
		noDirect.Store(true)
	}
	f, err := createTemp(dir, false)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		name := f.Name()
		f.Close()
		_ = os.Remove(name)
		return nil, err
	}
	return f, nil
}
