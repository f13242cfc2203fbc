package mounts

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// FSType is the file system type the kernel shows for byob mounts.
const FSType = "fuse.byob"

// Entry is one line of /proc/self/mountinfo.
type Entry struct {
	Mountpoint string
	FSType     string
	Source     string
}

// Table reads the mounts of this process's mount namespace.
func Table() ([]Entry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMountinfo(f.Name(), bufio.NewScanner(f))
}

func parseMountinfo(name string, sc *bufio.Scanner) ([]Entry, error) {
	var out []Entry
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		left, right, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		lf, rf := strings.Fields(left), strings.Fields(right)
		if len(lf) < 5 || len(rf) < 2 {
			continue
		}
		out = append(out, Entry{Mountpoint: unescape(lf[4]), FSType: rf[0], Source: unescape(rf[1])})
	}
	return out, sc.Err()
}

// unescape undoes the kernel's octal escapes (\040 for a space, \011,
// \012, \134) in mountinfo fields.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// At returns the top-most entry mounted at mountpoint, if any.
func At(table []Entry, mountpoint string) (Entry, bool) {
	var found Entry
	ok := false
	for _, e := range table {
		if e.Mountpoint == mountpoint {
			found, ok = e, true // later lines are mounted on top
		}
	}
	return found, ok
}
