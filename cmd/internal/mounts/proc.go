package mounts

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// identity returns the start time (clock ticks since boot, field 22 of
// /proc/<pid>/stat) and the executable of process pid.
func identity(pid int) (start uint64, exe string, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, "", err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command may hold spaces and ')'
	if i < 0 {
		return 0, "", fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 (starttime) is f[19].
	if len(f) < 20 {
		return 0, "", fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, "", fmt.Errorf("process %d has exited", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, "", err
	}
	exe, err = os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return start, strings.TrimSuffix(exe, " (deleted)"), err
}

// Alive reports whether the process r names is still the one that wrote
// the record: same pid, start time and executable.
func (r Record) Alive() bool {
	if r.PID <= 0 {
		return false
	}
	start, exe, err := identity(r.PID)
	return err == nil && start == r.StartTicks && exe == r.Exe
}

// OpenFile is a file or working directory some process holds below a
// mountpoint.
type OpenFile struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
	Path    string `json:"path"`
	Write   bool   `json:"write,omitempty"` // open for writing
	Cwd     bool   `json:"cwd,omitempty"`   // the process's working directory
}

func (o OpenFile) String() string {
	how := "open"
	switch {
	case o.Cwd:
		how = "working directory"
	case o.Write:
		how = "open for writing"
	}
	return fmt.Sprintf("pid %d (%s): %s (%s)", o.PID, o.Command, o.Path, how)
}

// OpenFiles lists the descriptors and working directories of the
// processes this user may inspect that lie at or below mountpoint (what
// keeps an unmount busy), as fuser(1) finds them.
func OpenFiles(mountpoint string) []OpenFile {
	under := func(p string) bool { return p == mountpoint || strings.HasPrefix(p, mountpoint+"/") }
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var out []OpenFile
	for _, pd := range procs {
		pid, err := strconv.Atoi(filepath.Base(pd))
		if err != nil || pid == os.Getpid() {
			continue
		}
		comm := ""
		if b, err := os.ReadFile(pd + "/comm"); err == nil {
			comm = strings.TrimSpace(string(b))
		}
		if cwd, err := os.Readlink(pd + "/cwd"); err == nil && under(cwd) {
			out = append(out, OpenFile{PID: pid, Command: comm, Path: cwd, Cwd: true})
		}
		fds, _ := os.ReadDir(pd + "/fd")
		for _, fd := range fds {
			p, err := os.Readlink(pd + "/fd/" + fd.Name())
			if err != nil || !under(p) {
				continue
			}
			out = append(out, OpenFile{PID: pid, Command: comm, Path: p, Write: fdWritable(pd, fd.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PID != out[j].PID {
			return out[i].PID < out[j].PID
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// fdWritable reads the open flags of a descriptor from fdinfo.
func fdWritable(procDir, fd string) bool {
	b, err := os.ReadFile(procDir + "/fdinfo/" + fd)
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&3 != 0 // O_WRONLY or O_RDWR
		}
	}
	return false
}
