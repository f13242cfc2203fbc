package mounts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Record is what a live mount registers about itself.
type Record struct {
	Mountpoint string    `json:"mountpoint"`
	Source     string    `json:"source"` // redacted
	CacheDir   string    `json:"cache_dir"`
	Socket     string    `json:"socket"`
	PID        int       `json:"pid"`
	StartTicks uint64    `json:"start_ticks"` // /proc/<pid>/stat field 22
	Exe        string    `json:"exe"`
	Started    time.Time `json:"started"`
	Version    string    `json:"version"`
}

// ID names the records and socket of the mount at mountpoint.
func ID(mountpoint string) string {
	h := sha256.Sum256([]byte(mountpoint))
	return hex.EncodeToString(h[:8])
}

// SocketPath is the control socket of the mount at mountpoint.
func SocketPath(dir, mountpoint string) string { return filepath.Join(dir, ID(mountpoint)+".sock") }

func recordPath(dir, mountpoint string) string { return filepath.Join(dir, ID(mountpoint)+".json") }

// NewRecord describes this process as the mount at mountpoint.
func NewRecord(mountpoint, source, cacheDir, socket, version string) (Record, error) {
	pid := os.Getpid()
	start, exe, err := identity(pid)
	if err != nil {
		return Record{}, err
	}
	return Record{Mountpoint: mountpoint, Source: source, CacheDir: cacheDir, Socket: socket, PID: pid,
		StartTicks: start, Exe: exe, Started: time.Now().UTC().Truncate(time.Second), Version: version}, nil
}

// Register writes r into the runtime directory dir (replacing a record
// left by a dead mount of the same mountpoint) and returns the function
// that removes it again, unless another mount has replaced it meanwhile.
func Register(dir string, r Record) (unregister func(), err error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	p := recordPath(dir, r.Mountpoint)
	tmp := p + ".tmp-" + fmt.Sprint(r.PID)
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return func() {
		if cur, err := Lookup(dir, r.Mountpoint); err == nil && cur != nil && cur.PID == r.PID && cur.StartTicks == r.StartTicks {
			os.Remove(p)
		}
	}, nil
}

// Lookup returns the record of the mount at mountpoint, or nil when there
// is none. The record may be stale: see Record.Alive.
func Lookup(dir, mountpoint string) (*Record, error) {
	r, err := readRecord(recordPath(dir, mountpoint))
	if r != nil && r.Mountpoint != mountpoint {
		return nil, nil // a hash collision: not this mountpoint's
	}
	return r, err
}

func readRecord(p string) (*Record, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r Record
	if err := json.NewDecoder(f).Decode(&r); err != nil {
		return nil, fmt.Errorf("mount record %s: %w", p, err)
	}
	return &r, nil
}

// Records returns every record in dir (stale ones included).
func Records(dir string) ([]Record, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []Record
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		r, err := readRecord(filepath.Join(dir, e.Name()))
		if err != nil || r == nil {
			continue
		}
		out = append(out, *r)
	}
	return out, nil
}

// Remove deletes r's record and socket (a dead mount's).
func Remove(dir string, r Record) {
	os.Remove(recordPath(dir, r.Mountpoint))
	os.Remove(SocketPath(dir, r.Mountpoint))
}
