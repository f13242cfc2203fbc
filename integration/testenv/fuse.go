package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// FUSE reports why FUSE mounts cannot run here (no /dev/fuse, or not root:
// the tests mount directly, without fusermount), or nil.
func FUSE() error {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return errors.New("no /dev/fuse")
	}
	if os.Geteuid() != 0 {
		return errors.New("mount tests need root (DirectMount)")
	}
	return nil
}

// RequireFUSE skips t when FUSE mounts cannot run here, and fails it under
// CI=true (CI runs as root with /dev/fuse: a mount test must not vanish).
func RequireFUSE(t testing.TB) {
	t.Helper()
	if err := FUSE(); err != nil {
		Unavailable(t, "FUSE", err)
	}
}

// ForceUnmount detaches the FUSE mount at mnt (device dev, from its stat)
// and aborts its connection through fusectl: what a watchdog does when a
// mount hangs, so one test fails instead of the run wedging.
func ForceUnmount(mnt string, dev uint64) {
	_ = syscall.Unmount(mnt, syscall.MNT_DETACH)
	conns := "/sys/fs/fuse/connections"
	if _, err := os.Stat(filepath.Join(conns, "0")); err != nil {
		_ = syscall.Mount("fusectl", conns, "fusectl", 0, "")
	}
	_ = os.WriteFile(filepath.Join(conns, strconv.FormatUint(uint64(unix.Minor(dev)), 10), "abort"), []byte("1"), 0)
}
