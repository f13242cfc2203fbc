package mounts

import (
	"errors"
	"os"
	"syscall"

	"github.com/byobfs/byob/fs/fusefs"
)

// State is what stands at a mountpoint.
type State int

const (
	// NotMounted: nothing is mounted there.
	NotMounted State = iota
	// Running: a byob mount whose process is alive and registered here.
	Running
	// Dead: a byob mount whose process is gone (ENOTCONN).
	Dead
	// Unregistered: a byob mount this user's registry does not know (another
	// user's, or a byob that predates registries).
	Unregistered
	// Other: something else than byob is mounted there.
	Other
	// Stopping: not mounted any more, the process still finishing (uploads).
	Stopping
)

func (s State) String() string {
	return [...]string{"not mounted", "running", "dead", "unregistered", "not byob", "stopping"}[s]
}

// Mount is what Find learned about one mountpoint.
type Mount struct {
	Mountpoint string
	State      State
	Entry      Entry   // the mount table's entry (zero when not mounted)
	Record     *Record // the registry's (nil when none, or stale)
}

// Find tells what stands at mountpoint (an absolute, clean path), with the
// registry of the runtime directory dir. A record whose process is gone is
// removed on the way.
func Find(dir, mountpoint string) (Mount, error) {
	table, err := Table()
	if err != nil {
		return Mount{}, err
	}
	return find(dir, mountpoint, table)
}

func find(dir, mountpoint string, table []Entry) (Mount, error) {
	m := Mount{Mountpoint: mountpoint}
	rec, err := Lookup(dir, mountpoint)
	if err != nil {
		return m, err
	}
	if rec != nil && !rec.Alive() {
		Remove(dir, *rec)
		rec = nil
	}
	m.Record = rec
	e, mounted := At(table, mountpoint)
	m.Entry = e
	switch {
	case !mounted && rec != nil:
		m.State = Stopping
	case !mounted:
		m.State = NotMounted
	case e.FSType != FSType:
		m.State = Other
	case fusefs.Dead(mountpoint):
		m.State = Dead
	case rec != nil:
		m.State = Running
	default:
		m.State = Unregistered
	}
	return m, nil
}

// List returns every byob mount of the mount table and every live
// registered mount that is still stopping, in mount-table order.
func List(dir string) ([]Mount, error) {
	table, err := Table()
	if err != nil {
		return nil, err
	}
	var out []Mount
	seen := map[string]bool{}
	for _, e := range table {
		if e.FSType != FSType || seen[e.Mountpoint] {
			continue
		}
		seen[e.Mountpoint] = true
		m, err := find(dir, e.Mountpoint, table)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	recs, err := Records(dir)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if seen[r.Mountpoint] {
			continue
		}
		m, err := find(dir, r.Mountpoint, table)
		if err != nil {
			return nil, err
		}
		if m.State == Stopping {
			out = append(out, m)
		}
	}
	return out, nil
}

// ByCacheDir returns the live registered mount whose cache is cacheDir.
func ByCacheDir(dir, cacheDir string) (*Record, error) {
	recs, err := Records(dir)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.CacheDir == cacheDir && r.Alive() {
			return &r, nil
		}
	}
	return nil, nil
}

// ClearDead detaches a dead mount (lazily: nothing can be served from it
// any more) and removes what was registered for it.
func ClearDead(dir string, m Mount) error {
	if m.State != Dead {
		return nil
	}
	if err := syscall.Unmount(m.Mountpoint, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	os.Remove(recordPath(dir, m.Mountpoint))
	os.Remove(SocketPath(dir, m.Mountpoint))
	return nil
}
