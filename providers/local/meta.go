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
	// xattrMeta holds an object's content type and user metadata other than
	// mtime, as JSON (storedMeta).
	xattrMeta = "user.byob.meta"
	// xattrSum holds a multipart part's checksum, as JSON (providers.Checksum).
	xattrSum = "user.byob.sum"
)

// storedMeta is the JSON in xattrMeta.
type storedMeta struct {
	ContentType string            `json:"type,omitempty"`
	Metadata    map[string]string `json:"meta,omitempty"`
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
func baseInfo(key string, fi os.FileInfo) providers.ObjectInfo {
	info := providers.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		info.Version = version(st)
	}
	return info
}

// fullInfo adds the content type and user metadata held by the open file f,
// and mtime (always, from the file's modification time).
func (s *Store) fullInfo(key string, f *os.File, fi os.FileInfo) providers.ObjectInfo {
	info := baseInfo(key, fi)
	sm := s.readMeta(f)
	info.ContentType = sm.ContentType
	info.Metadata = make(map[string]string, len(sm.Metadata)+1)
	for k, v := range sm.Metadata {
		info.Metadata[k] = v
	}
	info.Metadata[providers.MetaMtime] = providers.FormatMtime(fi.ModTime())
	return info
}

// readMeta reads f's xattrMeta. A missing attribute, a file system without
// xattrs or an unreadable value all read as no metadata.
func (s *Store) readMeta(f *os.File) storedMeta {
	var sm storedMeta
	if b := getxattr(f, xattrMeta); b != nil {
		_ = json.Unmarshal(b, &sm)
	}
	return sm
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
			continue
		}
		if om.stored.Metadata == nil {
			om.stored.Metadata = map[string]string{}
		}
		om.stored.Metadata[k] = v
	}
	return om, nil
}

// apply gives the temporary file t the metadata: its modification time and,
// when there is a content type or other metadata, the xattr. A file system
// without user xattrs makes that second part ErrUnsupported.
func (om objectMeta) apply(s *Store, op, key string, t *tempFile) error {
	if om.stored.ContentType != "" || len(om.stored.Metadata) > 0 {
		if s.noXattr {
			return kindErr(op, key, providers.ErrUnsupported, errors.New("metadata other than mtime needs user xattrs, which this file system refuses"))
		}
		b, err := json.Marshal(om.stored)
		if err != nil {
			return kindErr(op, key, providers.ErrInvalidArgument, err)
		}
		if err := setxattr(t.f, xattrMeta, b); err != nil {
			switch {
			case errors.Is(err, unix.ENOTSUP):
				return kindErr(op, key, providers.ErrUnsupported, fmt.Errorf("metadata other than mtime needs user xattrs: %w", err))
			case errors.Is(err, unix.E2BIG), errors.Is(err, unix.ENOSPC), errors.Is(err, unix.ERANGE):
				return kindErr(op, key, providers.ErrInvalidArgument, fmt.Errorf("metadata of %d bytes does not fit in an xattr: %w", len(b), err))
			}
			return opErr(op, key, err)
		}
	}
	if om.hasMtime {
		if err := os.Chtimes(t.path, time.Time{}, om.mtime); err != nil {
			return opErr(op, key, err)
		}
	}
	return nil
}

// setxattr sets f's attribute name to value.
func setxattr(f *os.File, name string, value []byte) error {
	var err error
	if cerr := rawControl(f, func(fd int) { err = unix.Fsetxattr(fd, name, value, 0) }); cerr != nil {
		return cerr
	}
	return err
}
