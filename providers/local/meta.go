package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/byobfs/byob/providers"
)

const (
	// xattrMeta holds an object's content type, the mtime as written and the
	// other user metadata, as JSON (storedMeta).
	xattrMeta = "user.byob.meta"
	// xattrSum holds a multipart part's checksum, as JSON (providers.Checksum).
	xattrSum = "user.byob.sum"
)

// storedMeta is the JSON in xattrMeta. Every write through this package
// sets it, so a file without it was made by another program.
type storedMeta struct {
	ContentType string `json:"type,omitempty"`
	// Mtime is the mtime metadata as the writer gave it (the file's
	// modification time holds its value).
	Mtime    string            `json:"mtime,omitempty"`
	Metadata map[string]string `json:"meta,omitempty"`
}

// version renders a file's Version: inode, size, mtime and ctime in
// nanoseconds. Every write makes a new file (a temporary file renamed into
// place) while the old one still exists, so the inode, and with it the
// Version, differs from the one it replaces even for identical bytes.
func version(st *syscall.Stat_t) string {
	b := make([]byte, 0, 64)
	b = strconv.AppendUint(b, st.Ino, 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, st.Size, 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, st.Mtim.Nano(), 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, st.Ctim.Nano(), 16)
	return string(b)
}

// baseInfo is what a listing says about the file fi describes: no metadata.
// ModTime is the upload time: the ctime, set when the file was renamed into
// place (the modification time is the mtime metadata's).
func baseInfo(key string, fi os.FileInfo) providers.ObjectInfo {
	info := providers.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		info.Version = version(st)
		info.ModTime = time.Unix(st.Ctim.Unix())
	}
	return info
}

// fullInfo adds the content type and user metadata held by the open file f.
// The mtime metadata is reported when the writer gave one, or when another
// program made the file; its value is the file's modification time (the
// string as written while the file still has that time).
func (s *Store) fullInfo(key string, f *os.File, fi os.FileInfo) providers.ObjectInfo {
	info := baseInfo(key, fi)
	sm, ours := readMeta(f)
	info.ContentType = sm.ContentType
	info.Metadata = make(map[string]string, len(sm.Metadata)+1)
	for k, v := range sm.Metadata {
		info.Metadata[k] = v
	}
	switch mt := fi.ModTime(); {
	case !ours:
		info.Metadata[providers.MetaMtime] = providers.FormatMtime(mt)
	case sm.Mtime != "":
		if t, ok := providers.ParseMtime(sm.Mtime); ok && t.Equal(mt) {
			info.Metadata[providers.MetaMtime] = sm.Mtime
		} else {
			info.Metadata[providers.MetaMtime] = providers.FormatMtime(mt) // changed since
		}
	}
	return info
}

// readMeta reads f's xattrMeta; ours is false when the file has none. An
// unreadable value reads as no metadata.
func readMeta(f *os.File) (sm storedMeta, ours bool) {
	b := getxattr(f, xattrMeta)
	if b == nil {
		return sm, false
	}
	_ = json.Unmarshal(b, &sm)
	return sm, true
}

// getxattr returns f's attribute name, or nil when it has none.
func getxattr(f *os.File, name string) []byte {
	buf := make([]byte, 1024)
	for {
		var n int
		var err error
		cerr := rawControl(f, func(fd int) { n, err = unix.Fgetxattr(fd, name, buf) })
		switch {
		case cerr != nil:
			return nil
		case errors.Is(err, unix.ERANGE) && len(buf) < 1<<16:
			buf = make([]byte, 1<<16)
			continue
		case err != nil:
			return nil
		}
		return buf[:n]
	}
}

// rawControl runs fn with f's descriptor without switching it to blocking
// mode (as Fd does).
func rawControl(f *os.File, fn func(fd int)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) })
}

// objectMeta is the metadata a write gives its object.
type objectMeta struct {
	mtime    time.Time // zero: the time of the write
	stored   storedMeta
	hasMtime bool
}

// parseMeta splits user metadata into the file's mtime and the rest. An
// mtime that does not parse is ErrInvalidArgument.
func parseMeta(op, key, contentType string, md map[string]string) (objectMeta, error) {
	var om objectMeta
	om.stored.ContentType = contentType
	for k, v := range providers.CloneMetadata(md) {
		if k == providers.MetaMtime {
			t, ok := providers.ParseMtime(v)
			if !ok {
				return om, kindErr(op, key, providers.ErrInvalidArgument, fmt.Errorf("mtime metadata %q is not a time", v))
			}
			om.mtime, om.hasMtime = t, true
			om.stored.Mtime = v
			continue
		}
		if om.stored.Metadata == nil {
			om.stored.Metadata = map[string]string{}
		}
		om.stored.Metadata[k] = v
	}
	return om, nil
}

// apply gives the temporary file t the metadata: its modification time,
// and the xattr. A file system without user xattrs makes a write carrying
// a content type or metadata other than mtime ErrUnsupported; without them
// the xattr only marks the file as written here, and is left out.
func (om objectMeta) apply(s *Store, op, key string, t *tempFile) error {
	needed := om.stored.ContentType != "" || len(om.stored.Metadata) > 0
	if s.noXattr {
		if needed {
			return kindErr(op, key, providers.ErrUnsupported, errors.New("metadata other than mtime needs user xattrs, which this file system refuses"))
		}
	} else if kind, err := om.setxattr(t.f); err != nil && needed {
		return kindErr(op, key, kind, err)
	}
	if om.hasMtime {
		if err := os.Chtimes(t.path, time.Time{}, om.mtime); err != nil {
			return opErr(op, key, err)
		}
	}
	return nil
}

// setxattr writes the stored metadata. kind is the sentinel its failure
// means, if any.
func (om objectMeta) setxattr(f *os.File) (kind, err error) {
	b, err := json.Marshal(om.stored)
	if err != nil {
		return providers.ErrInvalidArgument, err
	}
	err = setxattr(f, xattrMeta, b)
	switch {
	case err == nil:
		return nil, nil
	case errors.Is(err, unix.ENOTSUP):
		return providers.ErrUnsupported, fmt.Errorf("metadata other than mtime needs user xattrs: %w", err)
	case errors.Is(err, unix.E2BIG), errors.Is(err, unix.ENOSPC), errors.Is(err, unix.ERANGE):
		return providers.ErrInvalidArgument, fmt.Errorf("metadata of %d bytes does not fit in an xattr: %w", len(b), err)
	}
	return kindOf(err), err
}

// setxattr sets f's attribute name to value.
func setxattr(f *os.File, name string, value []byte) error {
	var err error
	if cerr := rawControl(f, func(fd int) { err = unix.Fsetxattr(fd, name, value, 0) }); cerr != nil {
		return cerr
	}
	return err
}
