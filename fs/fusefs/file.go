package fusefs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	byobfs "github.com/byobfs/byob/fs"
)

// file binds one byobfs.Handle.
type file struct {
	h  *byobfs.Handle
	ns uint64
}

var (
	_ = (gofs.FileReader)((*file)(nil))
	_ = (gofs.FileWriter)((*file)(nil))
	_ = (gofs.FileFlusher)((*file)(nil))
	_ = (gofs.FileFsyncer)((*file)(nil))
	_ = (gofs.FileReleaser)((*file)(nil))
	_ = (gofs.FileGetattrer)((*file)(nil))
	_ = (gofs.FileLseeker)((*file)(nil))
)

// Read answers with the cache's memory where it holds the blocks: the
// reply is written to the kernel straight from there (writev), and the
// blocks are let go once it is written (Done).
func (f *file) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	v, err := f.h.ReadView(ctx, dest, off)
	if err != nil {
		return nil, errno(err)
	}
	if !v.InPlace() {
		return fuse.ReadResultData(dest[:v.Len()]), 0
	}
	return &viewResult{v: v}, 0
}

// viewResult is a fuse.ReadResult over a byobfs.View. go-fuse writes its
// Slices with writev and calls Done after the write.
type viewResult struct{ v byobfs.View }

func (r *viewResult) Size() int { return r.v.Len() }

func (r *viewResult) Done() { r.v.Release() }

func (r *viewResult) Slices() ([][]byte, fuse.Status) { return r.v.Slices, fuse.OK }

func (r *viewResult) Bytes(buf []byte) ([]byte, fuse.Status) {
	buf = buf[:0]
	for _, s := range r.v.Slices {
		buf = append(buf, s...)
	}
	return buf, fuse.OK
}

func (f *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	n, err := f.h.Write(ctx, data, off)
	if err != nil {
		return uint32(n), errno(err)
	}
	return uint32(n), 0
}

// Flush and Fsync are not interrupted: a signal the application receives
// while close(2) or fsync(2) waits for the upload (the Go runtime's
// preemption signals are enough) makes the kernel send INTERRUPT, which
// would cancel the upload half way and fail the close with EINTR. The
// upload finishes or fails on its own (the retry policy bounds it).
func (f *file) Flush(ctx context.Context) syscall.Errno {
	return errno(f.h.Flush(context.WithoutCancel(ctx), callerProc(ctx)))
}

func (f *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return errno(f.h.Fsync(context.WithoutCancel(ctx)))
}

func (f *file) Release(ctx context.Context) syscall.Errno {
	// The release runs after the application's close returned: its error
	// is logged by the core, never reported.
	f.h.Release(context.WithoutCancel(ctx))
	return 0
}

func (f *file) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	a, err := f.h.Node().Attr(ctx)
	if err != nil {
		return errno(err)
	}
	fillAttr(a, f.ns, &out.Attr)
	return 0
}

const (
	seekData = 3
	seekHole = 4
)

// Lseek answers SEEK_DATA and SEEK_HOLE: files have no holes.
func (f *file) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	a, err := f.h.Node().Attr(ctx)
	if err != nil {
		return 0, errno(err)
	}
	size := uint64(a.Size)
	switch whence {
	case seekData:
		if off >= size {
			return 0, syscall.ENXIO
		}
		return off, 0
	case seekHole:
		if off > size {
			return 0, syscall.ENXIO
		}
		return size, 0
	}
	return 0, syscall.EINVAL
}
