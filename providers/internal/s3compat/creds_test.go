package s3compat

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/credfile"
)

func TestRetryOnNewerCredentials(t *testing.T) {
	p := filepath.Join(t.TempDir(), "creds")
	writeKeys := func(k string) {
		require.NoError(t, os.WriteFile(p+".tmp", []byte("access_key_id = "+k+"\nsecret_access_key = s\n"), 0o600))
		require.NoError(t, os.Rename(p+".tmp", p))
	}
	writeKeys("AK1")
	src, err := credfile.NewSource("s3", p, 1<<40)
	require.NoError(t, err)
	f := NewFileCredsFrom(src)
	invalidated := 0
	f.OnNewer(func() { invalidated++ })
	valid := "AK1"
	calls := 0
	// do signs with what Current returns, as the SDKs do.
	do := func() (string, error) {
		calls++
		if c := f.Current(); c.User != valid {
			return "", providers.NewOpError("stat", "k", providers.ErrPermission, errors.New("InvalidAccessKeyId"))
		}
		return "ok", nil
	}
	v, err := Retry(f, nil, do)
	require.NoError(t, err)
	require.Equal(t, "ok", v)
	require.Equal(t, 1, calls)

	// Rotated: one failure, a re-read, one more call.
	writeKeys("AK2")
	valid = "AK2"
	calls = 0
	v, err = Retry(f, nil, do)
	require.NoError(t, err)
	require.Equal(t, "ok", v)
	require.Equal(t, 2, calls)
	require.Equal(t, 1, invalidated)

	// Keys revoked, nothing newer in the file: no second call.
	valid = "AK3"
	calls = 0
	_, err = Retry(f, nil, do)
	require.ErrorIs(t, err, providers.ErrPermission)
	require.Equal(t, 1, calls)

	// Other errors are not retried.
	calls = 0
	_, err = Retry(f, nil, func() (string, error) {
		calls++
		return "", providers.NewOpError("stat", "k", providers.ErrNotExist, nil)
	})
	require.ErrorIs(t, err, providers.ErrNotExist)
	require.Equal(t, 1, calls)

	// A body that cannot be sent again is not.
	writeKeys("AK3")
	calls = 0
	_, err = Retry(f, Rewinder(io.MultiReader(strings.NewReader("x")), 1), do)
	require.ErrorIs(t, err, providers.ErrPermission)
	require.Equal(t, 1, calls)

	// A seekable one is sent again from where it started.
	writeKeys("AK4")
	valid = "AK4"
	r := strings.NewReader("xxbody")
	_, _ = r.Seek(2, io.SeekStart)
	var sent []string
	_, err = Retry(f, Rewinder(r, 4), func() (string, error) {
		b, _ := io.ReadAll(r)
		sent = append(sent, string(b))
		return do()
	})
	require.NoError(t, err)
	require.Equal(t, []string{"body", "body"}, sent)

	// Static credentials: a nil FileCreds just calls.
	valid, calls = "none", 0
	_, err = Retry(nil, nil, do)
	require.Error(t, err)
	require.Equal(t, 1, calls)
}
