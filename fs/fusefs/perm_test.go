package fusefs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/cache"
	byobfs "github.com/byobfs/byob/fs"
	"github.com/byobfs/byob/integration/testenv"
)

const nobody = 65534

// asNobody runs a shell script as uid/gid 65534 with no supplementary
// groups and returns its combined output and whether it exited 0.
func asNobody(t *testing.T, script string) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath("setpriv"); err != nil {
		testenv.Unavailable(t, "setpriv", err)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "sh", "-c", script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err == nil
}

// openMountDir is a mountpoint other users can reach (t.TempDir is 0700).
func openMountDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "byob-perm-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(d, 0o755))
	t.Cleanup(func() { os.RemoveAll(d) })
	mnt := filepath.Join(d, "mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	return mnt
}

func permMount(t *testing.T, mut func(*byobfs.Options)) (string, *byobfs.FS, func(string) string) {
	t.Helper()
	requireFUSE(t)
	st := newMem()
	put(t, st, "data/secret.txt", []byte("secret"))
	put(t, st, "data/other.txt", []byte("other"))
	f := newFS(t, st, func(o *byobfs.Options, _ *cache.Options) {
		if mut != nil {
			mut(o)
		}
	})
	mnt := openMountDir(t)
	srv, err := Mount(mnt, f, MountOptions{AllowOther: true})
	require.NoError(t, err)
	watch(t, mnt, srv)
	obj := func(key string) string {
		b, err := get(t, st, key)
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}
	return mnt, f, obj
}

// With --allow-other the kernel enforces the owner and modes the mount
// shows: a user who is not the owner can read what 0644/0755 grant and
// change nothing; chmod and chown cannot change them (EPERM, no silent
// revert), and a no-op chmod is accepted.
func TestAllowOtherEnforcesPermissions(t *testing.T) {
	mnt, _, obj := permMount(t, nil) // uid 0, 0644/0755
	data := filepath.Join(mnt, "data")

	// chmod/chown by root: the mode shown is the mount's.
	require.ErrorIs(t, os.Chmod(filepath.Join(data, "secret.txt"), 0o600), syscall.EPERM)
	require.NoError(t, os.Chmod(filepath.Join(data, "secret.txt"), 0o644))
	require.ErrorIs(t, os.Chmod(filepath.Join(data, "secret.txt"), os.ModeSetuid|0o644), syscall.EPERM)
	require.ErrorIs(t, os.Chmod(data, 0o700), syscall.EPERM)
	require.ErrorIs(t, os.Chown(filepath.Join(data, "secret.txt"), nobody, nobody), syscall.EPERM)
	fi, err := os.Stat(filepath.Join(data, "secret.txt"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	out, ok := asNobody(t, "cat "+data+"/secret.txt")
	require.True(t, ok, out)
	require.Equal(t, "secret", out)
	out, ok = asNobody(t, "ls "+data)
	require.True(t, ok, out)

	for name, script := range map[string]string{
		"overwrite": "echo pwned > " + data + "/secret.txt",
		"append":    "echo pwned >> " + data + "/secret.txt",
		"truncate":  "truncate -s 0 " + data + "/secret.txt",
		"delete":    "rm -f " + data + "/other.txt",
		"create":    "echo new > " + data + "/new.txt",
		"mkdir":     "mkdir " + data + "/newdir",
		"rename":    "mv " + data + "/other.txt " + data + "/moved.txt",
		"touch":     "touch " + data + "/secret.txt",
		"chmod":     "chmod 600 " + data + "/secret.txt",
		"rmdir":     "rmdir " + data,
	} {
		out, ok := asNobody(t, script)
		require.False(t, ok, "%s as nobody succeeded: %s", name, out)
	}
	require.Equal(t, "secret", obj("data/secret.txt"))
	require.Equal(t, "other", obj("data/other.txt"))
	for _, k := range []string{"data/new.txt", "data/moved.txt", "data/newdir/"} {
		require.Contains(t, obj(k), "not exist", k)
	}
}

// Modes the admin chose keep other users out entirely.
func TestAllowOtherPrivateModes(t *testing.T) {
	mnt, _, _ := permMount(t, func(o *byobfs.Options) { o.FileMode, o.DirMode = 0o600, 0o700 })
	out, ok := asNobody(t, "ls "+mnt)
	require.False(t, ok, out)
	out, ok = asNobody(t, "cat "+mnt+"/data/secret.txt")
	require.False(t, ok, out)
}

// A mount owned by the training user (uid=, gid=) is theirs to write.
func TestAllowOtherOwnedByUser(t *testing.T) {
	mnt, _, obj := permMount(t, func(o *byobfs.Options) { o.UID, o.GID = nobody, nobody })
	data := filepath.Join(mnt, "data")
	out, ok := asNobody(t, "echo new > "+data+"/new.txt && rm "+data+"/other.txt && mkdir "+data+"/d && chmod 644 "+data+"/new.txt")
	require.True(t, ok, out)
	require.Equal(t, "new\n", obj("data/new.txt"))
	require.Contains(t, obj("data/other.txt"), "not exist")
	out, ok = asNobody(t, "chmod 755 "+data+"/new.txt")
	require.False(t, ok, "chmod to another mode: %s", out)
}
