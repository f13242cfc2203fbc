package testenv

import (
	"errors"
	"os"
	"testing"
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
		unavailable(t, "FUSE", err)
	}
}
