// Package mounts finds the byob mounts running on this machine, whatever
// cache directory each was given, and tells a live mount from a dead one.
//
// A mount is identified three ways at once:
//
//   - the kernel's mount table (/proc/self/mountinfo): an entry of type
//     "fuse.byob" at the mountpoint says something is mounted there, and
//     a stat that fails with ENOTCONN says its server is gone;
//   - a registry record per mount, <runtime dir>/<id>.json (RuntimeDir;
//     id: a hash of the mountpoint), written by the mount once it is live
//     and removed when it exits: its pid, the process's start time and
//     executable, its cache directory, its redacted source and its
//     control socket (<runtime dir>/<id>.sock);
//   - the process itself: the pid in a record counts only while
//     /proc/<pid> has the recorded start time and executable, so a pid
//     recycled after a crash is never taken for the mount (nor signalled).
//
// The runtime directory is private (cache.PrivateDir): a record or socket
// planted by another user is never read. Root's is /run/byob, another
// user's $XDG_RUNTIME_DIR/byob; BYOB_RUNTIME_DIR overrides both.
package mounts
