package fusefs

import (
	"context"
	"os"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	byobfs "github.com/byobfs/byob/fs"
)

// node binds one byobfs.Node to a go-fuse Inode. It holds no state of its
// own: everything is in the core.
type node struct {
	gofs.Inode
	n  *byobfs.Node
	ns uint64 // inode namespace: high bits told apart per team (MountTeams)
}

var (
	_ = (gofs.NodeLookuper)((*node)(nil))
	_ = (gofs.NodeGetattrer)((*node)(nil))
	_ = (gofs.NodeSetattrer)((*node)(nil))
	_ = (gofs.NodeReaddirer)((*node)(nil))
	_ = (gofs.NodeMkdirer)((*node)(nil))
	_ = (gofs.NodeCreater)((*node)(nil))
	_ = (gofs.NodeOpener)((*node)(nil))
	_ = (gofs.NodeUnlinker)((*node)(nil))
	_ = (gofs.NodeRmdirer)((*node)(nil))
	_ = (gofs.NodeRenamer)((*node)(nil))
	_ = (gofs.NodeStatfser)((*node)(nil))
	_ = (gofs.NodeGetxattrer)((*node)(nil))
	_ = (gofs.NodeListxattrer)((*node)(nil))
	_ = (gofs.NodeSetxattrer)((*node)(nil))
	_ = (gofs.NodeRemovexattrer)((*node)(nil))
)

func errno(err error) syscall.Errno { return byobfs.Errno(err) }

func fillAttr(a byobfs.Attr, ns uint64, out *fuse.Attr) {
	out.Ino = a.Ino | ns
	out.Size = uint64(a.Size)
	out.Blocks = (uint64(a.Size) + 511) / 512
	out.Blksize = 4096
	out.Nlink = a.Nlink
	out.Owner = fuse.Owner{Uid: a.UID, Gid: a.GID}
	mode := uint32(a.Mode.Perm())
	if a.IsDir() {
		mode |= syscall.S_IFDIR
	} else {
		mode |= syscall.S_IFREG
	}
	out.Mode = mode
	out.SetTimes(&a.Mtime, &a.Mtime, &a.Ctime)
}

func stable(c *byobfs.Node, ns uint64) gofs.StableAttr {
	mode := uint32(syscall.S_IFREG)
	if c.IsDir() {
		mode = syscall.S_IFDIR
	}
	return gofs.StableAttr{Mode: mode, Ino: c.Ino() | ns}
}

func (n *node) child(ctx context.Context, c *byobfs.Node, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	a, err := c.Attr(ctx)
	if err != nil {
		return nil, errno(err)
	}
	fillAttr(a, n.ns, &out.Attr)
	return n.NewInode(ctx, &node{n: c, ns: n.ns}, stable(c, n.ns)), 0
}

func callerPid(ctx context.Context) uint32 {
	if c, ok := fuse.FromContext(ctx); ok {
		return c.Pid
	}
	return 0
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	c, err := n.n.Lookup(ctx, name)
	if err != nil {
		return nil, errno(err)
	}
	return n.child(ctx, c, out)
}

func (n *node) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	a, err := n.n.Attr(ctx)
	if err != nil {
		return errno(err)
	}
	fillAttr(a, n.ns, &out.Attr)
	return 0
}

func (n *node) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	var sa byobfs.SetAttr
	if v, ok := in.GetSize(); ok {
		s := int64(v)
		sa.Size = &s
	}
	if v, ok := in.GetMTime(); ok {
		sa.Mtime = &v
	}
	if v, ok := in.GetMode(); ok {
		m := os.FileMode(v & 0o7777)
		sa.Mode = &m
	}
	if v, ok := in.GetUID(); ok {
		sa.UID = &v
	}
	if v, ok := in.GetGID(); ok {
		sa.GID = &v
	}
	var h *byobfs.Handle
	if f, ok := fh.(*file); ok {
		h = f.h
	}
	a, err := n.n.Setattr(ctx, sa, h)
	if err != nil {
		return errno(err)
	}
	fillAttr(a, n.ns, &out.Attr)
	return 0
}

func (n *node) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	ents, err := n.n.ReadDir(ctx)
	if err != nil {
		return nil, errno(err)
	}
	list := make([]fuse.DirEntry, len(ents))
	for i, e := range ents {
		mode := uint32(syscall.S_IFREG)
		if e.IsDir {
			mode = syscall.S_IFDIR
		}
		list[i] = fuse.DirEntry{Name: e.Name, Ino: e.Ino | n.ns, Mode: mode}
	}
	return gofs.NewListDirStream(list), 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	c, err := n.n.Mkdir(ctx, name, os.FileMode(mode&0o7777))
	if err != nil {
		return nil, errno(err)
	}
	return n.child(ctx, c, out)
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	c, h, err := n.n.Create(ctx, name, int(flags), os.FileMode(mode&0o7777), callerPid(ctx))
	if err != nil {
		return nil, nil, 0, errno(err)
	}
	ino, e := n.child(ctx, c, out)
	if e != 0 {
		h.Release(ctx)
		return nil, nil, 0, e
	}
	return ino, &file{h: h, ns: n.ns}, 0, 0
}

func (n *node) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	h, err := n.n.Open(ctx, int(flags), callerPid(ctx))
	if err != nil {
		return nil, 0, errno(err)
	}
	var ff uint32
	if h.KeepCache() {
		ff |= fuse.FOPEN_KEEP_CACHE
	}
	return &file{h: h, ns: n.ns}, ff, 0
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return errno(n.n.Unlink(ctx, name))
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return errno(n.n.Rmdir(ctx, name))
}

func (n *node) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	return errno(n.n.Rename(ctx, name, np.n, newName, flags))
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	s := n.n.FS().Statfs()
	out.Blocks, out.Bfree, out.Bavail = s.Blocks, s.Bfree, s.Bavail
	out.Files, out.Ffree = s.Files, s.Ffree
	out.Bsize, out.Frsize, out.NameLen = s.Bsize, s.Bsize, s.NameLen
	return 0
}

func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	v, err := n.n.Getxattr(attr)
	if err != nil {
		return 0, errno(err)
	}
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	var b []byte
	for _, a := range n.n.Listxattr() {
		b = append(b, a...)
		b = append(b, 0)
	}
	if len(dest) < len(b) {
		return uint32(len(b)), syscall.ERANGE
	}
	return uint32(copy(dest, b)), 0
}

func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return errno(n.n.Setxattr(attr, data))
}

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return errno(n.n.Removexattr(attr))
}

func durPtr(d time.Duration) *time.Duration { return &d }
