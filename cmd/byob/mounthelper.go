package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// mountHelperArgs translates a mount(8) helper call into byob arguments.
// mount -t fuse.byob SRC MP -o ro,allow_other,cache_size=20GiB runs
// /sbin/mount.fuse.byob SRC MP -o OPTS (a symlink to byob); the options
// name byob mount's flags with "_" for "-"; mount(8)'s own generic options
// (rw, dev, suid, exec, auto, nofail, _netdev, ...) are ignored.
func mountHelperArgs(argv0 string, args []string) ([]string, bool, error) {
	base := filepath.Base(argv0)
	if base != "mount.fuse.byob" && base != "mount.byob" {
		return nil, false, nil
	}
	var pos, opts []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-o" && i+1 < len(args):
			opts = append(opts, strings.Split(args[i+1], ",")...)
			i++
		case strings.HasPrefix(args[i], "-o") && len(args[i]) > 2:
			opts = append(opts, strings.Split(args[i][2:], ",")...)
		case args[i] == "-n" || args[i] == "-s" || args[i] == "-f" || args[i] == "-v":
			// mount(8) flags: no mtab, sloppy, fake, verbose
		default:
			pos = append(pos, args[i])
		}
	}
	if len(pos) != 2 {
		return nil, true, fmt.Errorf("usage: mount.fuse.byob ADDRESS MOUNTPOINT [-o options]")
	}
	out := []string{"mount", "--daemon"}
	ignored := map[string]bool{"rw": true, "dev": true, "nodev": true, "suid": true, "nosuid": true, "exec": true,
		"noexec": true, "auto": true, "noauto": true, "user": true, "nouser": true, "nofail": true, "_netdev": true,
		"defaults": true, "atime": true, "noatime": true, "relatime": true}
	for _, o := range opts {
		o = strings.TrimSpace(o)
		if o == "" || ignored[o] || strings.HasPrefix(o, "x-") {
			continue
		}
		k, v, hasV := strings.Cut(o, "=")
		switch k {
		case "ro":
			out = append(out, "--read-only")
			continue
		case "config":
			out = append([]string{"--config", v}, out...)
			continue
		case "log_level", "log_format":
			out = append([]string{"--" + strings.ReplaceAll(k, "_", "-"), v}, out...)
			continue
		}
		flag := "--" + strings.ReplaceAll(k, "_", "-")
		if hasV {
			out = append(out, flag+"="+v)
		} else {
			out = append(out, flag)
		}
	}
	return append(out, pos...), true, nil
}
