package fs

import (
	"context"
	"errors"
	"syscall"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/layout"
	"github.com/byobfs/byob/providers"
)

// Errno maps an error to the errno an application sees. It is the only
// place that does; see doc.go for the table. nil maps to 0.
//
// providers.ErrPrecondition maps to ESTALE on metadata operations (a rename
// whose source changed while it was copied) and to EIO on data (a handle
// whose object changed: ErrChanged wraps it); a Store ErrPrecondition
// reaching Errno without ErrChanged is ESTALE.
func Errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var errno syscall.Errno
	switch {
	case errors.Is(err, context.Canceled):
		return syscall.EINTR
	case errors.Is(err, ErrReadOnly):
		return syscall.EROFS
	case errors.Is(err, ErrExist):
		return syscall.EEXIST
	case errors.Is(err, ErrNotEmpty):
		return syscall.ENOTEMPTY
	case errors.Is(err, ErrIsDir):
		return syscall.EISDIR
	case errors.Is(err, ErrNotDir):
		return syscall.ENOTDIR
	case errors.Is(err, ErrCrossStore):
		return syscall.EXDEV
	case errors.Is(err, ErrNotSupported), errors.Is(err, providers.ErrUnsupported):
		return syscall.ENOTSUP
	case errors.Is(err, ErrNoAttr):
		return syscall.ENODATA
	case errors.Is(err, ErrChanged):
		return syscall.EIO
	case errors.Is(err, ErrNotPermitted):
		return syscall.EPERM
	case errors.Is(err, ErrBadHandle):
		return syscall.EBADF
	case errors.Is(err, cache.ErrNoSpace):
		return syscall.ENOSPC
	case errors.Is(err, providers.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, providers.ErrPermission):
		return syscall.EACCES
	case errors.Is(err, providers.ErrPrecondition):
		return syscall.ESTALE
	case errors.Is(err, providers.ErrInvalidArgument):
		return syscall.EINVAL
	case errors.Is(err, layout.ErrInvalidName):
		return syscall.EINVAL
	case errors.Is(err, providers.ErrInvalidKey):
		if errors.Is(err, errTooLong) {
			return syscall.ENAMETOOLONG
		}
		return syscall.EINVAL
	case errors.Is(err, context.DeadlineExceeded):
		return syscall.ETIMEDOUT
	case errors.As(err, &errno):
		return errno
	}
	return syscall.EIO
}

// errTooLong marks an ErrInvalidKey refused because the key is longer than
// the store accepts.
var errTooLong = errors.New("key too long")
