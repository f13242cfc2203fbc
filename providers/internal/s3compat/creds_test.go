package s3compat

import (
	"bytes"
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
	_, err = Retry(f, NewBody(io.MultiReader(strings.NewReader("x")), 1).Again, do)
	require.ErrorIs(t, err, providers.ErrPermission)
	require.Equal(t, 1, calls)

	// One that can give a second reader is sent again from where it
	// started, through that reader: the first one (net/http may still be
	// reading it) is not moved back.
	writeKeys("AK4")
	valid = "AK4"
	r := strings.NewReader("xxbody")
	_, _ = r.Seek(2, io.SeekStart)
	body := NewBody(r, 4)
	var sent []string
	var readers []io.Reader
	_, err = Retry(f, body.Again, func() (string, error) {
		b, _ := io.ReadAll(body.Reader())
		sent = append(sent, string(b))
		readers = append(readers, body.Reader())
		return do()
	})
	require.NoError(t, err)
	require.Equal(t, []string{"body", "body"}, sent)
	require.Equal(t, io.Reader(r), readers[0])
	require.NotEqual(t, io.Reader(r), readers[1], "the second attempt reads a reader of its own")

	// Static credentials: a nil FileCreds just calls.
	valid, calls = "none", 0
	_, err = Retry(nil, nil, do)
	require.Error(t, err)
	require.Equal(t, 1, calls)
}

// A Body's next reader holds the same bytes as the first one from where it
// stood, for each kind of reader that can give one.
func TestBodyAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, []byte("0123456789"), 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	for name, r := range map[string]io.ReadSeeker{
		"file":    f,
		"bytes":   bytes.NewReader([]byte("0123456789")),
		"string":  strings.NewReader("0123456789"),
		"section": io.NewSectionReader(strings.NewReader("xx0123456789"), 2, 10),
	} {
		_, err := r.Seek(3, io.SeekStart)
		require.NoError(t, err, name)
		b := NewBody(r, 5)
		first, err := io.ReadAll(io.LimitReader(b.Reader(), 5))
		require.NoError(t, err, name)
		require.Equal(t, "34567", string(first), name)
		require.True(t, b.Again(), name)
		again, err := io.ReadAll(b.Reader())
		require.NoError(t, err, name)
		require.Equal(t, "34567", string(again), name)
	}
}
