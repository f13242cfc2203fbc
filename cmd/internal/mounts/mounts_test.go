package mounts

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseMountinfo(t *testing.T) {
	in := `21 26 0:20 / /proc rw,relatime - proc proc rw
45 26 0:40 / /mnt/with\040space rw,nosuid,nodev,relatime shared:1 - fuse.byob file:///b\134x rw,user_id=0
46 26 0:41 / /mnt/other rw - tmpfs tmpfs rw
47 45 0:42 / /mnt/with\040space rw - fuse.byob s3://***:***@h/b rw
`
	got, err := parseMountinfo("x", bufio.NewScanner(strings.NewReader(in)))
	require.NoError(t, err)
	require.Len(t, got, 4)
	require.Equal(t, Entry{Mountpoint: "/mnt/with space", FSType: "fuse.byob", Source: `file:///b\x`}, got[1])
	e, ok := At(got, "/mnt/with space")
	require.True(t, ok)
	require.Equal(t, "s3://***:***@h/b", e.Source, "the top-most mount wins")
	_, ok = At(got, "/mnt/none")
	require.False(t, ok)
}

// A record names a live mount only while its pid has the recorded start
// time and executable; Find removes one that does not, and tells the
// states apart from the mount table.
func TestRecordsAndStates(t *testing.T) {
	dir := t.TempDir()
	mp := "/mnt/x"
	r, err := NewRecord(mp, "file:///b", "/cache", SocketPath(dir, mp), "test")
	require.NoError(t, err)
	require.True(t, r.Alive())
	unregister, err := Register(dir, r)
	require.NoError(t, err)
	got, err := Lookup(dir, mp)
	require.NoError(t, err)
	require.Equal(t, r, *got)

	byob := []Entry{{Mountpoint: mp, FSType: FSType}}
	m, err := find(dir, mp, byob)
	require.NoError(t, err)
	require.Equal(t, Running, m.State)
	m, err = find(dir, mp, nil)
	require.NoError(t, err)
	require.Equal(t, Stopping, m.State, "registered, alive, no longer mounted")
	m, err = find(dir, mp, []Entry{{Mountpoint: mp, FSType: "tmpfs"}})
	require.NoError(t, err)
	require.Equal(t, Other, m.State)

	// A recycled pid: same pid, another start time.
	stale := r
	stale.StartTicks++
	require.False(t, stale.Alive())
	_, err = Register(dir, stale)
	require.NoError(t, err)
	m, err = find(dir, mp, byob)
	require.NoError(t, err)
	require.Equal(t, Unregistered, m.State)
	require.Nil(t, m.Record)
	_, err = os.Stat(filepath.Join(dir, ID(mp)+".json"))
	require.ErrorIs(t, err, os.ErrNotExist, "the stale record is removed")

	// unregister removes only its own record.
	_, err = Register(dir, stale)
	require.NoError(t, err)
	unregister()
	got, err = Lookup(dir, mp)
	require.NoError(t, err)
	require.NotNil(t, got, "another mount's record stays")

	m, err = find(dir, "/mnt/none", byob)
	require.NoError(t, err)
	require.Equal(t, NotMounted, m.State)
}

// OpenFiles finds what another process holds below a directory: its
// working directory, a file open for reading and one open for writing.
func TestOpenFiles(t *testing.T) {
	d := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(d, "r"), nil, 0o644))
	cmd := exec.Command("sh", "-c", "exec 3<r 4>>w; exec sleep 60")
	cmd.Dir = d
	require.NoError(t, cmd.Start())
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	want := []OpenFile{
		{PID: cmd.Process.Pid, Command: "sleep", Path: d, Cwd: true},
		{PID: cmd.Process.Pid, Command: "sleep", Path: filepath.Join(d, "r")},
		{PID: cmd.Process.Pid, Command: "sleep", Path: filepath.Join(d, "w"), Write: true},
	}
	require.Eventually(t, func() bool {
		got := OpenFiles(d)
		return len(got) == 3 && got[0] == want[0] && got[1] == want[1] && got[2] == want[2]
	}, 10*time.Second, 10*time.Millisecond, "%v", OpenFiles(d))
	require.Contains(t, want[2].String(), "open for writing")
	require.Empty(t, OpenFiles(filepath.Join(d, "nobody-uses-this")))
}
