package local

import (
	"bytes"
	"context"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

func TestMultipartResumeAcrossStores(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	opts := Options{NoSync: true, MinPartSize: 4}
	s1, err := Open(root, opts)
	require.NoError(t, err)
	u1, err := s1.CreateMultipart(ctx, "out/model.bin", providers.PutOptions{
		ContentType: "application/x-ckpt",
		Metadata:    map[string]string{"mtime": "1600000000.5", "run": "r1"},
	})
	require.NoError(t, err)
	require.Equal(t, "out/model.bin", u1.Key())
	p1, err := u1.UploadPart(ctx, 1, strings.NewReader("aaaa"), 4, providers.PartOptions{})
	require.NoError(t, err)
	require.Equal(t, providers.ChecksumCRC32C, p1.Checksum.Algorithm, "parts carry a CRC32C by default")
	_, err = u1.UploadPart(ctx, 2, strings.NewReader("XXXX"), 4, providers.PartOptions{}) // replaced below
	require.NoError(t, err)

	// Another process: a new Store on the same root.
	s2, err := Open(root, opts)
	require.NoError(t, err)
	u2, err := s2.ResumeMultipart(ctx, "out/model.bin", u1.ID())
	require.NoError(t, err)
	crc := crc32.Checksum([]byte("bbbb"), providers.CRC32CTable)
	p2, err := u2.UploadPart(ctx, 2, strings.NewReader("bbbb"), 4, providers.PartOptions{Checksum: providers.CRC32C(crc)})
	require.NoError(t, err)
	p3, err := u2.UploadPart(ctx, 3, strings.NewReader("cc"), 2, providers.PartOptions{})
	require.NoError(t, err)
	parts, err := u2.ListParts(ctx)
	require.NoError(t, err)
	require.Equal(t, []providers.Part{p1, p2, p3}, parts, "ListParts reports what UploadPart returned")

	whole := crc32.Checksum([]byte("aaaabbbbcc"), providers.CRC32CTable)
	info, err := u2.Complete(ctx, parts, providers.CompleteOptions{Checksum: providers.CRC32C(whole), IfNoneMatch: "*"})
	require.NoError(t, err)
	require.EqualValues(t, 10, info.Size)
	require.Equal(t, "aaaabbbbcc", read(t, s1, "out/model.bin", 0, -1))
	st, err := s1.Stat(ctx, "out/model.bin")
	require.NoError(t, err)
	require.Equal(t, info.Version, st.Version)
	require.Equal(t, "application/x-ckpt", st.ContentType)
	require.Equal(t, map[string]string{"mtime": "1600000000.5", "run": "r1"}, st.Metadata)

	// Completed: the upload is gone for everyone, and nothing is left over.
	_, err = s1.ResumeMultipart(ctx, "out/model.bin", u1.ID())
	require.ErrorIs(t, err, providers.ErrUploadNotFound)
	_, err = u1.ListParts(ctx)
	require.ErrorIs(t, err, providers.ErrUploadNotFound)
	_, err = u1.UploadPart(ctx, 4, strings.NewReader("d"), 1, providers.PartOptions{})
	require.ErrorIs(t, err, providers.ErrUploadNotFound)
	_, err = u1.Complete(ctx, parts, providers.CompleteOptions{})
	require.ErrorIs(t, err, providers.ErrUploadNotFound)
	require.Equal(t, []string{reservedDir + "/", reservedDir + "/tmp/", reservedDir + "/uploads/", "out/", "out/model.bin"}, files(t, root))
}

func TestMultipartErrors(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{NoSync: true, MinPartSize: 4})
	require.NoError(t, err)
	u, err := s.CreateMultipart(ctx, "k", providers.PutOptions{})
	require.NoError(t, err)

	for _, id := range []string{"", "zz", "../../x", strings.Repeat("0", 32), strings.ToUpper(u.ID())} {
		_, err := s.ResumeMultipart(ctx, "k", id)
		require.ErrorIs(t, err, providers.ErrUploadNotFound, "id %q", id)
	}
	_, err = s.ResumeMultipart(ctx, "other", u.ID())
	require.ErrorIs(t, err, providers.ErrUploadNotFound, "an upload belongs to its key")
	_, err = s.CreateMultipart(ctx, "a//b", providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)

	_, err = u.UploadPart(ctx, 0, strings.NewReader("x"), 1, providers.PartOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = u.UploadPart(ctx, 1, strings.NewReader("xyz"), 4, providers.PartOptions{})
	require.ErrorIs(t, err, providers.ErrSizeMismatch)
	_, err = u.UploadPart(ctx, 1, strings.NewReader("wxyz"), 4, providers.PartOptions{Checksum: providers.CRC32C(7)})
	require.ErrorIs(t, err, providers.ErrChecksum)
	parts, err := u.ListParts(ctx)
	require.NoError(t, err)
	require.Empty(t, parts, "failed parts leave nothing")

	small, err := u.UploadPart(ctx, 1, strings.NewReader("ab"), 2, providers.PartOptions{})
	require.NoError(t, err)
	last, err := u.UploadPart(ctx, 2, strings.NewReader("cd"), 2, providers.PartOptions{})
	require.NoError(t, err)
	_, err = u.Complete(ctx, []providers.Part{small, last}, providers.CompleteOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument, "parts but the last need MinPartSize")
	_, err = u.Complete(ctx, []providers.Part{last, small}, providers.CompleteOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument, "numbers ascend")
	_, err = u.Complete(ctx, nil, providers.CompleteOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = u.Complete(ctx, []providers.Part{{Number: 9}}, providers.CompleteOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument, "part never uploaded")
	stale := small
	_, err = u.UploadPart(ctx, 1, strings.NewReader("ab"), 2, providers.PartOptions{})
	require.NoError(t, err)
	_, err = u.Complete(ctx, []providers.Part{stale}, providers.CompleteOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument, "a replaced part's ETag no longer matches")
	_, err = u.Complete(ctx, []providers.Part{{Number: 1}}, providers.CompleteOptions{Checksum: providers.CRC32C(7)})
	require.ErrorIs(t, err, providers.ErrChecksum)

	put(t, s, "k", "existing")
	_, err = u.Complete(ctx, []providers.Part{{Number: 1}}, providers.CompleteOptions{IfNoneMatch: "*"})
	require.ErrorIs(t, err, providers.ErrPrecondition)
	_, err = u.Complete(ctx, []providers.Part{{Number: 1}}, providers.CompleteOptions{IfMatch: "nope"})
	require.ErrorIs(t, err, providers.ErrPrecondition)
	require.Equal(t, "existing", read(t, s, "k", 0, -1))
	_, err = u.ListParts(ctx)
	require.NoError(t, err, "a failed Complete keeps the upload")

	require.NoError(t, u.Abort(ctx))
	require.NoError(t, u.Abort(ctx), "abort twice")
	_, err = u.ListParts(ctx)
	require.ErrorIs(t, err, providers.ErrUploadNotFound)
	ents, err := os.ReadDir(filepath.Join(s.Root(), reservedDir, "uploads"))
	require.NoError(t, err)
	require.Empty(t, ents)
	tmp, err := os.ReadDir(filepath.Join(s.Root(), reservedDir, "tmp"))
	require.NoError(t, err)
	require.Empty(t, tmp, "failed Completes leave no temporary files")
}

func TestMultipartLarge(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{NoSync: true, MinPartSize: 1 << 20})
	require.NoError(t, err)
	u, err := s.CreateMultipart(ctx, "big", providers.PutOptions{})
	require.NoError(t, err)
	var want []byte
	var parts []providers.Part
	for n := 1; n <= 3; n++ {
		b := bytes.Repeat([]byte{byte('0' + n)}, 1<<20+n)
		want = append(want, b...)
		p, err := u.UploadPart(ctx, n, bytes.NewReader(b), int64(len(b)), providers.PartOptions{})
		require.NoError(t, err)
		parts = append(parts, p)
	}
	info, err := u.Complete(ctx, parts, providers.CompleteOptions{})
	require.NoError(t, err)
	require.EqualValues(t, len(want), info.Size)
	require.Equal(t, string(want), read(t, s, "big", 0, -1))
}
