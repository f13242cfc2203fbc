package fusefs

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	byobfs "github.com/byobfs/byob/fs"
)

// teamShift places each team's inode numbers in its own range: team i (in
// name order, from 1) shows inode (i << teamShift) | ino, so numbers of
// different teams never collide. The root of a team mount is inode 1.
const teamShift = 48

// teamsRoot is the root of MountTeams: one read-only directory per team,
// each the root of that team's FS. It holds nothing else.
type teamsRoot struct {
	gofs.Inode
	teams   map[string]*byobfs.FS
	names   []string
	started time.Time
	uid     uint32
	gid     uint32
}

var (
	_ = (gofs.NodeOnAdder)((*teamsRoot)(nil))
	_ = (gofs.NodeGetattrer)((*teamsRoot)(nil))
	_ = (gofs.NodeStatfser)((*teamsRoot)(nil))
)

func (r *teamsRoot) OnAdd(ctx context.Context) {
	for i, name := range r.names {
		f := r.teams[name]
		ns := uint64(i+1) << teamShift
		c := &node{n: f.Root(), ns: ns}
		ch := r.NewPersistentInode(ctx, c, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: f.Root().Ino() | ns})
		r.AddChild(name, ch, false)
	}
}

func (r *teamsRoot) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Ino = 1
	out.Mode = syscall.S_IFDIR | 0o555
	out.Nlink = uint32(2 + len(r.names))
	out.Owner = fuse.Owner{Uid: r.uid, Gid: r.gid}
	out.SetTimes(&r.started, &r.started, &r.started)
	return 0
}

func (r *teamsRoot) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	for _, f := range r.teams {
		s := f.Statfs()
		out.Blocks, out.Bfree, out.Bavail = s.Blocks, s.Bfree, s.Bavail
		out.Files, out.Ffree = s.Files, s.Ffree
		out.Bsize, out.Frsize, out.NameLen = s.Bsize, s.Bsize, s.NameLen
		break
	}
	return 0
}

// MountTeams mounts several file systems under one mountpoint: the root is
// a read-only directory holding one directory per team (the map's keys),
// each showing its own FS (its own store, confined to the team's sub-path
// by the caller with wrap.Stack, and its own StoreID). Nothing can be
// created in the root itself; a rename between two teams is EXDEV (mv then
// copies and deletes). Kernel timeouts, ownership and read-only mode come
// from the first team's Options (in name order); give every team the same
// TTLs, UID and GID. Team names must be valid, distinct file names.
func MountTeams(mountpoint string, teams map[string]*byobfs.FS, opts MountOptions) (*Server, error) {
	if len(teams) == 0 {
		return nil, fmt.Errorf("mount %s: no teams", mountpoint)
	}
	names := make([]string, 0, len(teams))
	for name, f := range teams {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || len(name) > 255 {
			return nil, fmt.Errorf("mount %s: %q is not a valid team directory name", mountpoint, name)
		}
		if f == nil {
			return nil, fmt.Errorf("mount %s: team %q has no file system", mountpoint, name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	fo := teams[names[0]].Options()
	ro := true
	for _, f := range teams {
		ro = ro && f.Options().ReadOnly
	}
	fo.ReadOnly = ro // the kernel's "ro" only when every team is read-only
	root := &teamsRoot{teams: teams, names: names, started: time.Now(), uid: fo.UID, gid: fo.GID}
	return mount(mountpoint, root, 1, fo, opts)
}
