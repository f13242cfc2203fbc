package fusefs

import (
	"context"
	"os"
	"strings"
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
	kd kernelDir
}

var (
	_ = (gofs.NodeLookuper)((*node)(nil))
	_ = (gofs.NodeGetattrer)((*node)(nil))
	_ = (gofs.NodeSetattrer)((*node)(nil))
	_ = (gofs.NodeOpendirHandler)((*node)(nil))
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

func (n *node) child(ctx context.Context, c *byobfs.Node, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	a, err := c.Attr(ctx)
	if err != nil {
		return nil, errno(err)
	}
	fillAttr(a, n.ns, &out.Attr)
	return n.inode(ctx, c, name), 0
}

// inode returns the go-fuse Inode of c: the one the kernel already has for
// name when it is still c's (as on a second ls), else a new one.
func (n *node) inode(ctx context.Context, c *byobfs.Node, name string) *gofs.Inode {
	if name != "" {
		if ch := n.GetChild(name); ch != nil {
			if cn, ok := ch.Operations().(*node); ok && cn.n == c {
				return ch
			}
		}
	}
	return n.NewInode(ctx, &node{n: c, ns: n.ns}, stable(c, n.ns))
}

// callerProc is the process (thread group) of the thread FUSE says made
// the request: the core publishes a file at the flush of the process that
// opened it. 0 when unknown.
func callerProc(ctx context.Context) int {
	if c, ok := fuse.FromContext(ctx); ok {
		return tgidOf(c.Pid)
	}
	return 0
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	c, err := n.n.Lookup(ctx, name)
	if err != nil {
		return nil, errno(err)
	}
	ino, e := n.child(ctx, c, name, out)
	if e == 0 && c.IsDir() {
		// That a directory exists is listing information, trusted for
		// DirTTL (ls -l DIR looks DIR up again after opening it).
		out.SetEntryTimeout(c.FS().Options().DirTTL)
	}
	return ino, e
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
		m := os.FileMode(v & 0o777)
		if v&0o7000 != 0 {
			m |= os.ModeSetuid // any of setuid, setgid, sticky: never shown, so never equal
		}
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

// OpendirHandle lists the directory (from its listing while fresh) and
// returns a handle that reads it in place. READDIRPLUS takes each entry's
// attributes from the listing through the handle's Lookup: no LOOKUP or
// GETATTR per entry, and the kernel may keep them for what is left of the
// listing's DirTTL. While the listing stays the same, the kernel keeps the
// entries too and later opens read them from its cache (kernelDir).
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	r, err := n.n.OpenDir(ctx)
	if err != nil {
		return nil, 0, errno(err)
	}
	d := &dirHandle{parent: n, r: r}
	gen, ok := r.Generation()
	ff := n.kd.openFlags(gen, ok, func() bool { return n.NotifyContent(0, 0) == 0 })
	d.cached = ff != 0
	return d, ff, 0
}

// dirHandle is an open directory: a DirReader, and the entry it returned
// last, which READDIRPLUS looks up next.
type dirHandle struct {
	parent *node
	r      *byobfs.DirReader
	last   *byobfs.Node
	name   string
	off    uint64 // entries returned so far
	cached bool   // opened with the kernel's cache flags (kernelDir)
}

var (
	_ = (gofs.FileReaddirenter)((*dirHandle)(nil))
	_ = (gofs.FileLookuper)((*dirHandle)(nil))
	_ = (gofs.FileSeekdirer)((*dirHandle)(nil))
	_ = (gofs.FileReleasedirer)((*dirHandle)(nil))
)

func (d *dirHandle) Releasedir(ctx context.Context, flags uint32) {
	if d.cached {
		d.parent.kd.closed()
	}
}

func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	de, c, ok := d.r.Next()
	if !ok {
		d.last, d.name = nil, ""
		return nil, 0
	}
	d.last, d.name = c, de.Name
	d.off++
	readdirEntries.Add(1)
	mode := uint32(syscall.S_IFREG)
	if de.IsDir {
		mode = syscall.S_IFDIR
	}
	return &fuse.DirEntry{Name: de.Name, Ino: de.Ino | d.parent.ns, Mode: mode, Off: d.off}, 0
}

// Lookup answers READDIRPLUS for the entry Readdirent returned last: its
// node is at hand, and its attributes are those of the listing being read
// (or newer), used as they are.
func (d *dirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if d.last == nil || name != d.name {
		return d.parent.Lookup(ctx, name, out)
	}
	fillAttr(d.last.KnownAttr(), d.parent.ns, &out.Attr)
	if ttl := d.r.CacheTTL(); ttl > 0 {
		out.SetEntryTimeout(ttl)
		out.SetAttrTimeout(ttl)
	}
	return d.parent.inode(ctx, d.last, name), 0
}

// Seekdir moves to the off-th entry (offsets count entries from 1); a
// rewind lists the directory again when its listing is stale, except on a
// handle whose entries go into the kernel's copy: that one starts over
// its own listing, the one the copy is of (kernelDir).
func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if off < d.off {
		if d.cached {
			d.r.Rewind()
		} else {
			r, err := d.parent.n.OpenDir(ctx)
			if err != nil {
				return errno(err)
			}
			d.r = r
		}
		d.last, d.name, d.off = nil, "", 0
	}
	for d.off < off {
		if _, _, ok := d.r.Next(); !ok {
			break
		}
		d.off++
	}
	d.last, d.name = nil, ""
	return 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	c, err := n.n.Mkdir(ctx, name)
	if err != nil {
		return nil, errno(err)
	}
	return n.child(ctx, c, "", out)
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	c, h, err := n.n.Create(ctx, name, int(flags), callerProc(ctx))
	if err != nil {
		return nil, nil, 0, errno(err)
	}
	ino, e := n.child(ctx, c, "", out)
	if e != 0 {
		h.Release(ctx)
		return nil, nil, 0, e
	}
	return ino, &file{h: h, ns: n.ns}, writeOnlyFlags(flags), 0
}

func (n *node) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	h, err := n.n.Open(ctx, int(flags), callerProc(ctx))
	if err != nil {
		return nil, 0, errno(err)
	}
	ff := writeOnlyFlags(flags)
	if h.KeepCache() {
		ff |= fuse.FOPEN_KEEP_CACHE
	}
	return &file{h: h, ns: n.ns}, ff, 0
}

// writeOnlyFlags gives a write-only handle FOPEN_DIRECT_IO: its writes
// reach the mount without passing through the kernel's page cache, which
// would cost the writer a copy and the page allocations, and fill the
// cache with pages nothing reads (a read-write handle keeps it, for mmap
// and its own reads). Handles read their own Version (close-to-open), so
// other handles' cached pages are as coherent as before; and a later open
// sees a new Version without FOPEN_KEEP_CACHE, which drops the cache.
func writeOnlyFlags(flags uint32) uint32 {
	if flags&syscall.O_ACCMODE == syscall.O_WRONLY {
		return fuse.FOPEN_DIRECT_IO
	}
	return 0
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
	if !strings.HasPrefix(attr, "user.") {
		// security.*, system.* (POSIX ACLs), trusted.*: not supported
		// rather than absent, so that ls -l, which asks for
		// security.selinux and system.posix_acl_access, stops asking
		// after the first file of the mount (coreutils remembers a device
		// that answers ENOTSUP) instead of costing two requests per file.
		return 0, syscall.EOPNOTSUPP
	}
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
