package local

import (
	"context"
	"errors"
	"io/fs"
	"syscall"

	"github.com/byobfs/byob/providers"
)

// opErr wraps a file-system error as the contract's OpError, with the
// sentinel its errno stands for (see kindOf). An error that already is an
// OpError is returned unchanged, so helpers can classify errors themselves.
func opErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var oe *providers.OpError
	if errors.As(err, &oe) {
		return err
	}
	return providers.NewOpError(op, key, kindOf(err), err)
}

// kindErr wraps cause with an explicit sentinel.
func kindErr(op, key string, kind, cause error) error {
	return providers.NewOpError(op, key, kind, cause)
}

// kindOf maps a file-system error to a sentinel; nil when it is none of them
// (a full disk, an I/O error) or a cancelled context (which the OpError keeps
// as its cause, so errors.Is(err, context.Canceled) holds).
func kindOf(err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return providers.ErrNotExist
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return providers.ErrPermission
	case errors.Is(err, syscall.ENAMETOOLONG):
		return providers.ErrInvalidKey
	case errors.Is(err, syscall.ENOTSUP), errors.Is(err, errors.ErrUnsupported):
		return providers.ErrUnsupported
	}
	return nil
}

// isNotExist reports whether err means the path (or one of its parents as a
// directory) is not there.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
