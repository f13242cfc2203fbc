package credfile

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path+".tmp", []byte(data), 0o600))
	require.NoError(t, os.Rename(path+".tmp", path))
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "creds")
	write(t, p, "# rotated daily\nACCESS_KEY_ID = AK1\nsecret_access_key = \"se/cr+et\"\naccount_key='acc'\nprivate_key=a\\nb\nservice_account=sa@x\n")
	c, err := Load("s3", p)
	require.NoError(t, err)
	require.Equal(t, Creds{User: "AK1", Secret: "se/cr+et"}, c)
	c, err = Load("gs", p)
	require.NoError(t, err)
	require.Equal(t, Creds{User: "sa@x", Secret: "a\nb"}, c)
	c, err = Load("az", p)
	require.NoError(t, err)
	require.Equal(t, "acc", c.Secret)
	a := providers.Address{Scheme: "az", Host: "acct"}
	c.Apply(&a)
	require.Equal(t, "acc", a.Secret)
	require.NotContains(t, fmt.Sprintf("%v %+v %#v %s", c, c, c, c), "acc")

	write(t, p, "access_key_id AK1\nsecret_access_key = hush\n")
	_, err = Load("s3", p)
	require.ErrorContains(t, err, "line 1")
	write(t, p, "access_key_id = AK1\n")
	_, err = Load("s3", p)
	require.ErrorContains(t, err, "needs access_key_id and secret_access_key")
	_, err = Load("s3", filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "no such file")
}

func TestSourceFollowsTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "creds")
	write(t, p, "access_key_id = AK1\nsecret_access_key = S1\n")
	now := time.Unix(1000, 0)
	s, err := NewSource("s3", p, time.Second)
	require.NoError(t, err)
	s.now, s.checked = func() time.Time { return now }, now
	c, g1 := s.Current()
	require.Equal(t, "AK1", c.User)

	// Within the interval the file is not looked at.
	write(t, p, "access_key_id = AK2\nsecret_access_key = S2\n")
	c, g := s.Current()
	require.Equal(t, "AK1", c.User)
	require.Equal(t, g1, g)
	now = now.Add(time.Second)
	c, g2 := s.Current()
	require.Equal(t, Creds{User: "AK2", Secret: "S2"}, c)
	require.NotEqual(t, g1, g2)

	// Half-written: the last good credentials stay, and the file is read
	// again once it is whole.
	require.NoError(t, os.WriteFile(p, []byte("access_key_id = AK3\n"), 0o600))
	now = now.Add(time.Second)
	c, g = s.Current()
	require.Equal(t, "AK2", c.User)
	require.Equal(t, g2, g)
	require.NoError(t, os.WriteFile(p, []byte("access_key_id = AK3\nsecret_access_key = S3\n"), 0o600))
	now = now.Add(time.Second)
	c, g3 := s.Current()
	require.Equal(t, "AK3", c.User)
	require.NotEqual(t, g2, g3)

	// The same contents written again: no new generation.
	write(t, p, "access_key_id = AK3\nsecret_access_key = S3\n")
	now = now.Add(time.Second)
	_, g = s.Current()
	require.Equal(t, g3, g)

	// Reload looks at once, within the interval.
	write(t, p, "access_key_id = AK4\nsecret_access_key = S4\n")
	g4 := s.Reload()
	require.NotEqual(t, g3, g4)
	c, g = s.Current()
	require.Equal(t, "AK4", c.User)
	require.Equal(t, g4, g)
	require.Equal(t, g4, s.Gen())

	// A missing file keeps the last credentials.
	require.NoError(t, os.Remove(p))
	now = now.Add(time.Second)
	c, _ = s.Current()
	require.Equal(t, "AK4", c.User)
	require.Equal(t, g4, s.Reload())
}

// A rewrite that keeps the file's size and mtime is only seen by a forced
// re-read, and Reload forces one at most once per interval: a stream of
// refused requests costs a stat each, not a read of the file.
func TestReloadForcesOncePerInterval(t *testing.T) {
	p := filepath.Join(t.TempDir(), "creds")
	require.NoError(t, os.WriteFile(p, []byte("access_key_id = AK1\nsecret_access_key = S1\n"), 0o600))
	now := time.Unix(1000, 0)
	s, err := NewSource("s3", p, time.Second)
	require.NoError(t, err)
	s.now, s.checked = func() time.Time { return now }, now
	g1 := s.Reload() // forced: the first one
	st, err := os.Stat(p)
	require.NoError(t, err)
	// Same size, same inode, mtime put back: the stat does not change.
	require.NoError(t, os.WriteFile(p, []byte("access_key_id = AK2\nsecret_access_key = S2\n"), 0o600))
	require.NoError(t, os.Chtimes(p, st.ModTime(), st.ModTime()))
	now = now.Add(500 * time.Millisecond)
	require.Equal(t, g1, s.Reload(), "within the interval: not read again")
	c, _ := s.Current()
	require.Equal(t, "AK1", c.User)
	now = now.Add(time.Second)
	g2 := s.Reload()
	require.NotEqual(t, g1, g2, "past the interval: read again")
	c, _ = s.Current()
	require.Equal(t, "AK2", c.User)
}
