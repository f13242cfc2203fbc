// Package fusefs binds the byob file system core (package fs) to the kernel
// through go-fuse/v2. It is deliberately thin: every decision is in fs, so
// the core is tested without /dev/fuse.
package fusefs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	byobfs "github.com/byobfs/byob/fs"
)

// MountOptions configure the kernel side of a mount.
type MountOptions struct {
	// AllowOther lets other users than the mounting one use the mount. The
	// kernel then checks every access against the owner and permission
	// bits shown (default_permissions is always on).
	AllowOther bool
	// FsName is the source shown in /proc/mounts: the store's redacted
	// address, never one holding a secret.
	FsName string
	// Debug logs every FUSE request.
	Debug bool
	// MaxWrite is the largest write request (1 MiB).
	MaxWrite int
	// MaxReadAhead is the kernel readahead (2 MiB): announced at INIT and
	// written to the mount's backing device (read_ahead_kb), which the
	// kernel otherwise leaves at 128 KiB whatever INIT says. Cold 1 GiB
	// reads from MinIO, alternated: 2.23 s average at 2 MiB, 2.49 at 4 MiB,
	// 2.79 at 8 MiB, 3.06 at 1 MiB.
	MaxReadAhead int
	// MaxBackground is the number of background requests (readahead, async
	// reads) the kernel keeps in flight (64).
	MaxBackground int
}

// Server is a mounted file system.
type Server struct {
	srv        *fuse.Server
	mountpoint string
	// ReadAheadErr says why the kernel readahead could not be raised to
	// MaxReadAhead (not root, sysfs read-only); the mount works, with
	// shorter sequential reads.
	ReadAheadErr error
}

// Mount mounts f at mountpoint and serves it until Unmount. A stale mount
// left at mountpoint by a dead process (ENOTCONN) is lazily unmounted first.
// Entry, attribute and negative timeouts come from f's AttrTTL and
// NegativeTTL; the kernel keeps a file's page cache across opens while its
// Version is unchanged (FOPEN_KEEP_CACHE).
func Mount(mountpoint string, f *byobfs.FS, opts MountOptions) (*Server, error) {
	fo := f.Options()
	root := &node{n: f.Root()}
	return mount(mountpoint, root, f.Root().Ino(), fo, opts)
}

// mount mounts root at mountpoint with the kernel options of opts and the
// timeouts of fo.
func mount(mountpoint string, root gofs.InodeEmbedder, rootIno uint64, fo byobfs.Options, opts MountOptions) (*Server, error) {
	if err := ClearStale(mountpoint); err != nil {
		return nil, err
	}
	if opts.MaxWrite <= 0 {
		opts.MaxWrite = 1 << 20
	}
	if opts.MaxReadAhead <= 0 {
		opts.MaxReadAhead = 2 << 20
	}
	if opts.MaxBackground <= 0 {
		opts.MaxBackground = 64
	}
	if opts.FsName == "" {
		opts.FsName = "byob"
	}
	mo := fuse.MountOptions{
		AllowOther:    opts.AllowOther,
		FsName:        opts.FsName,
		Name:          "byob",
		Debug:         opts.Debug,
		MaxWrite:      opts.MaxWrite,
		MaxReadAhead:  opts.MaxReadAhead,
		MaxBackground: opts.MaxBackground,
		DirectMount:   true,
	}
	// The kernel checks permissions against the owner and mode each node
	// shows (uid, gid, file and dir modes): with allow_other, other users
	// get exactly what those bits grant them.
	mo.Options = append(mo.Options, "default_permissions")
	if fo.ReadOnly {
		mo.Options = append(mo.Options, "ro")
	}
	gopts := &gofs.Options{
		MountOptions:    mo,
		EntryTimeout:    durPtr(fo.AttrTTL),
		AttrTimeout:     durPtr(fo.AttrTTL),
		NegativeTimeout: durPtr(fo.NegativeTTL),
		UID:             fo.UID,
		GID:             fo.GID,
		RootStableAttr:  &gofs.StableAttr{Ino: rootIno, Mode: syscall.S_IFDIR},
	}
	srv, err := gofs.Mount(mountpoint, root, gopts)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	s := &Server{srv: srv, mountpoint: mountpoint}
	s.ReadAheadErr = setReadAhead(mountpoint, opts.MaxReadAhead)
	return s, nil
}

// setReadAhead sets the readahead of the mount's backing device info
// (/sys/class/bdi/MAJOR:MINOR/read_ahead_kb) to n bytes. The kernel caps a
// FUSE mount's readahead at 128 KiB by default: a sequential read of 1 MiB
// then waits for each request in turn, with no request ahead, and runs at
// about two thirds of the speed (1 GiB from MinIO on loopback: 3.96-4.10 s
// at 128 KiB, 2.32-2.74 s at 1 MiB). gcsfuse documents the same setting.
func setReadAhead(mountpoint string, n int) error {
	p, err := readAheadPath(mountpoint)
	if err != nil {
		return err
	}
	return os.WriteFile(p, []byte(strconv.Itoa(max(n>>10, 4))+"\n"), 0)
}

// readAheadPath is the sysfs file of the readahead of the mount at
// mountpoint.
func readAheadPath(mountpoint string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(mountpoint, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev)), nil
}

// Unmount unmounts the file system; when it is busy, it is detached lazily
// (MNT_DETACH) so it goes away once the last user leaves.
func (s *Server) Unmount() error {
	err := s.srv.Unmount()
	if err != nil {
		if lerr := syscall.Unmount(s.mountpoint, syscall.MNT_DETACH); lerr == nil {
			return nil
		}
	}
	return err
}

// ErrBusy: the mount has files open or a working directory inside it, so
// the kernel refused to unmount it.
var ErrBusy = errors.New("the mount is busy")

// UnmountIfIdle unmounts the file system unless it is in use: then it
// returns ErrBusy and everything stays as it was. Once it returns nil,
// Wait returns too. A mount already unmounted or detached (EINVAL) is an
// error: its open files may still be served.
func (s *Server) UnmountIfIdle() error {
	err := syscall.Unmount(s.mountpoint, 0)
	switch {
	case errors.Is(err, syscall.EBUSY):
		return fmt.Errorf("unmount %s: %w", s.mountpoint, ErrBusy)
	case err != nil:
		return fmt.Errorf("unmount %s: %w", s.mountpoint, err)
	}
	s.srv.Wait()
	return nil
}

// Detach takes the mount out of the directory tree at once (a lazy
// unmount): new lookups no longer reach it, while files already open keep
// working, served by this process, until the last one is closed; Wait
// returns then.
func (s *Server) Detach() error {
	if err := syscall.Unmount(s.mountpoint, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("detach %s: %w", s.mountpoint, err)
	}
	return nil
}

// Wait blocks until the file system is unmounted and the kernel has let
// go of it (after a Detach: once its last open file is closed).
func (s *Server) Wait() { s.srv.Wait() }

// Mountpoint returns the directory the file system is mounted on.
func (s *Server) Mountpoint() string { return s.mountpoint }

// Dead reports whether the FUSE mount at mountpoint has lost its server
// (ENOTCONN). It asks with statfs, which the kernel always sends to the
// server: a stat may be answered from attributes the kernel still caches
// for a while after the server died. A server that does not answer within
// two seconds is alive (hung), not dead.
func Dead(mountpoint string) bool {
	done := make(chan error, 1)
	go func() {
		var st unix.Statfs_t
		done <- unix.Statfs(mountpoint, &st)
	}()
	select {
	case err := <-done:
		return errors.Is(err, syscall.ENOTCONN)
	case <-time.After(2 * time.Second):
		return false
	}
}

// ClearStale lazily unmounts a dead FUSE mount at mountpoint: a mount whose
// server has gone answers every call with ENOTCONN.
func ClearStale(mountpoint string) error {
	if !Dead(mountpoint) {
		return nil
	}
	if err := syscall.Unmount(mountpoint, syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("clear stale mount %s: %w", mountpoint, err)
	}
	return nil
}
