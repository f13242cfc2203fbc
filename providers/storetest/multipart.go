package storetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// partSize is the part size the multipart cases use: MinPartSize, or 64 KiB
// when the backend has no minimum.
func partSize(c providers.Capabilities) int64 {
	if c.MinPartSize > 0 {
		return c.MinPartSize
	}
	return 64 << 10
}

// realUploadIDs reports whether the backend keeps uploads by ID so that an
// aborted or finished upload is known to be gone (ErrUploadNotFound).
func realUploadIDs(k providers.MultipartKind) bool {
	return k == providers.MultipartNative || k == providers.MultipartMemory || k == providers.MultipartLocal
}

// create starts an upload and aborts it at cleanup (an error there is
// expected once the upload is complete or aborted).
func create(t *testing.T, mp providers.Multiparter, key string, opts providers.PutOptions) providers.Upload {
	t.Helper()
	u, err := mp.CreateMultipart(t.Context(), key, opts)
	require.NoError(t, err, "CreateMultipart %q", key)
	require.NotEmpty(t, u.ID(), "upload ID")
	require.Equal(t, key, u.Key(), "upload Key")
	t.Cleanup(func() { _ = u.Abort(context.Background()) })
	return u
}

// uploadPart uploads data as part n and checks the returned Part.
func uploadPart(t *testing.T, u providers.Upload, n int, data []byte, opts providers.PartOptions) providers.Part {
	t.Helper()
	p, err := u.UploadPart(t.Context(), n, bytes.NewReader(data), int64(len(data)), opts)
	require.NoError(t, err, "UploadPart %d", n)
	require.Equal(t, n, p.Number, "Part.Number")
	require.Equal(t, int64(len(data)), p.Size, "Part.Size")
	return p
}

// requireParts checks ListParts returns want's numbers and sizes (and
// ETags, where both sides have one), in ascending order.
func requireParts(t *testing.T, u providers.Upload, want []providers.Part) []providers.Part {
	t.Helper()
	got, err := u.ListParts(t.Context())
	require.NoError(t, err, "ListParts")
	require.Len(t, got, len(want), "ListParts count")
	for i := range want {
		require.Equal(t, want[i].Number, got[i].Number, "ListParts[%d].Number", i)
		require.Equal(t, want[i].Size, got[i].Size, "ListParts[%d].Size", i)
		if want[i].ETag != "" && got[i].ETag != "" {
			require.Equal(t, want[i].ETag, got[i].ETag, "ListParts[%d].ETag", i)
		}
	}
	return got
}

// testMultipart checks multipart uploads where the store is a Multiparter.
func testMultipart(t *testing.T, s providers.Store) {
	caps := s.Capabilities()
	mp, ok := s.(providers.Multiparter)
	if !ok {
		notApplicable(t, "the store does not implement providers.Multiparter")
		require.Equal(t, providers.MultipartNone, caps.Multipart, "Capabilities.Multipart without Multiparter")
		return
	}
	ps := partSize(caps)
	small := []byte("the short last part")

	t.Run("Complete", func(t *testing.T) {
		p1, p2 := payload(int(ps), 11), payload(int(ps), 12)
		want := append(append(append([]byte(nil), p1...), p2...), small...)
		meta := map[string]string{providers.MetaMtime: "1700000000", "x-mp": "yes"}
		u := create(t, mp, "mp/complete", providers.PutOptions{ContentType: "application/x-mp", Metadata: meta})
		parts := []providers.Part{
			uploadPart(t, u, 2, p2, providers.PartOptions{}), // out of order, as concurrent uploaders do
			uploadPart(t, u, 1, p1, providers.PartOptions{}),
			uploadPart(t, u, 3, small, providers.PartOptions{}),
		}
		parts[0], parts[1] = parts[1], parts[0]
		requireParts(t, u, parts)
		requireNotExist(t, s, "mp/complete")
		info, err := u.Complete(t.Context(), parts, providers.CompleteOptions{})
		require.NoError(t, err, "Complete")
		require.Equal(t, int64(len(want)), info.Size)
		require.NotEmpty(t, info.Version)
		st := requireContent(t, s, "mp/complete", want)
		require.Equal(t, meta, st.Metadata, "metadata from CreateMultipart")
		require.Equal(t, "application/x-mp", st.ContentType)
		if realUploadIDs(caps.Multipart) {
			_, err = u.ListParts(t.Context())
			require.ErrorIs(t, err, providers.ErrUploadNotFound, "ListParts after Complete")
		}
	})

	t.Run("ReplacePart", func(t *testing.T) {
		u := create(t, mp, "mp/replace", providers.PutOptions{})
		uploadPart(t, u, 1, payload(100, 13), providers.PartOptions{})
		p := uploadPart(t, u, 1, []byte("replacement"), providers.PartOptions{})
		requireParts(t, u, []providers.Part{p})
		_, err := u.Complete(t.Context(), []providers.Part{p}, providers.CompleteOptions{})
		require.NoError(t, err)
		requireContent(t, s, "mp/replace", []byte("replacement"))
	})

	t.Run("Abort", func(t *testing.T) {
		u := create(t, mp, "mp/abort", providers.PutOptions{})
		p := uploadPart(t, u, 1, small, providers.PartOptions{})
		require.NoError(t, u.Abort(t.Context()), "Abort")
		require.NoError(t, u.Abort(t.Context()), "Abort twice")
		_, err := u.Complete(t.Context(), []providers.Part{p}, providers.CompleteOptions{})
		require.Error(t, err, "Complete after Abort")
		requireNotExist(t, s, "mp/abort")
		if !realUploadIDs(caps.Multipart) {
			notApplicable(t, "multipart kind %s keeps no upload by ID: ErrUploadNotFound after Abort not checked", caps.Multipart)
			return
		}
		require.ErrorIs(t, err, providers.ErrUploadNotFound, "Complete after Abort")
		_, err = u.ListParts(t.Context())
		require.ErrorIs(t, err, providers.ErrUploadNotFound, "ListParts after Abort")
		requireUploadNotFound(t, mp, "mp/abort", u.ID())
	})

	t.Run("Resume", func(t *testing.T) {
		p1 := payload(int(ps), 14)
		u1 := create(t, mp, "mp/resume", providers.PutOptions{Metadata: map[string]string{"x-resumed": "1"}})
		uploadPart(t, u1, 1, p1, providers.PartOptions{})
		u2, err := mp.ResumeMultipart(t.Context(), "mp/resume", u1.ID())
		require.NoError(t, err, "ResumeMultipart")
		require.Equal(t, u1.ID(), u2.ID())
		require.Equal(t, "mp/resume", u2.Key())
		p2 := uploadPart(t, u2, 2, small, providers.PartOptions{})
		// A resumed uploader that lost its journal's ETags uses ListParts.
		parts := requireParts(t, u2, []providers.Part{{Number: 1, Size: ps}, p2})
		_, err = u2.Complete(t.Context(), parts, providers.CompleteOptions{})
		require.NoError(t, err, "Complete through the resumed handle")
		st := requireContent(t, s, "mp/resume", append(append([]byte(nil), p1...), small...))
		require.Equal(t, map[string]string{"x-resumed": "1"}, st.Metadata)
	})

	t.Run("ResumeUnknown", func(t *testing.T) {
		requireUploadNotFound(t, mp, "mp/unknown", "storetest-no-such-upload")
	})

	t.Run("InvalidPartNumber", func(t *testing.T) {
		u := create(t, mp, "mp/invalid", providers.PutOptions{})
		for _, n := range []int{0, -1, caps.MaxParts + 1} {
			_, err := u.UploadPart(t.Context(), n, bytes.NewReader(small), int64(len(small)), providers.PartOptions{})
			require.ErrorIs(t, err, providers.ErrInvalidArgument, "UploadPart %d (MaxParts %d)", n, caps.MaxParts)
		}
		_, err := u.UploadPart(t.Context(), 1, bytes.NewReader(small), int64(len(small))+1, providers.PartOptions{})
		require.Error(t, err, "UploadPart with a short reader")
	})

	t.Run("TooSmallPart", func(t *testing.T) {
		if caps.MinPartSize <= int64(len(small)) {
			notApplicable(t, "MinPartSize %d: no part is too small", caps.MinPartSize)
			return
		}
		u := create(t, mp, "mp/small", providers.PutOptions{})
		parts := []providers.Part{uploadPart(t, u, 1, small, providers.PartOptions{}), uploadPart(t, u, 2, small, providers.PartOptions{})}
		_, err := u.Complete(t.Context(), parts, providers.CompleteOptions{})
		require.Error(t, err, "Complete with a non-last part under MinPartSize")
		requireNotExist(t, s, "mp/small")
	})

	t.Run("Conditional", func(t *testing.T) { testMultipartConditional(t, s, mp) })

	t.Run("PartChecksum", func(t *testing.T) {
		if len(caps.VerifiedChecksums) == 0 {
			notApplicable(t, "VerifiedChecksums is empty")
			return
		}
		for _, a := range caps.VerifiedChecksums {
			u := create(t, mp, "mp/sum-"+a.String(), providers.PutOptions{})
			good := checksumOf(a, small)
			bad := providers.Checksum{Algorithm: a, Sum: bytes.Clone(good.Sum)}
			bad.Sum[0] ^= 0xff
			_, err := u.UploadPart(t.Context(), 1, bytes.NewReader(small), int64(len(small)), providers.PartOptions{Checksum: bad})
			require.ErrorIs(t, err, providers.ErrChecksum, "UploadPart with a wrong %s", a)
			p := uploadPart(t, u, 1, small, providers.PartOptions{Checksum: good})
			_, err = u.Complete(t.Context(), []providers.Part{p}, providers.CompleteOptions{})
			require.NoError(t, err)
			requireContent(t, s, "mp/sum-"+a.String(), small)
		}
	})
}

// requireUploadNotFound checks an unknown upload ID is ErrUploadNotFound,
// from ResumeMultipart or, for backends that resume lazily, from ListParts.
func requireUploadNotFound(t *testing.T, mp providers.Multiparter, key, id string) {
	t.Helper()
	u, err := mp.ResumeMultipart(t.Context(), key, id)
	if err != nil {
		require.ErrorIs(t, err, providers.ErrUploadNotFound, "ResumeMultipart of unknown upload %q", id)
		return
	}
	_, err = u.ListParts(t.Context())
	require.ErrorIs(t, err, providers.ErrUploadNotFound, "ListParts of unknown upload %q", id)
}

// testMultipartConditional checks Complete's IfNoneMatch and IfMatch where
// ConditionalWrites, ErrUnsupported elsewhere.
func testMultipartConditional(t *testing.T, s providers.Store, mp providers.Multiparter) {
	one := func(key string, data []byte, o providers.CompleteOptions) error {
		u := create(t, mp, key, providers.PutOptions{})
		p := uploadPart(t, u, 1, data, providers.PartOptions{})
		_, err := u.Complete(t.Context(), []providers.Part{p}, o)
		return err
	}
	v := put(t, s, "mp/cond", []byte("existing"), providers.PutOptions{}).Version
	if !s.Capabilities().ConditionalWrites {
		notApplicable(t, "ConditionalWrites is false: a conditional Complete must fail with ErrUnsupported")
		require.ErrorIs(t, one("mp/cond", []byte("new"), providers.CompleteOptions{IfNoneMatch: "*"}), providers.ErrUnsupported)
		requireContent(t, s, "mp/cond", []byte("existing"))
		return
	}
	require.ErrorIs(t, one("mp/cond", []byte("new"), providers.CompleteOptions{IfNoneMatch: "*"}), providers.ErrPrecondition,
		"Complete IfNoneMatch * over an existing key")
	requireContent(t, s, "mp/cond", []byte("existing"))
	require.NoError(t, one("mp/cond-new", []byte("new"), providers.CompleteOptions{IfNoneMatch: "*"}), "Complete IfNoneMatch * on a missing key")
	requireContent(t, s, "mp/cond-new", []byte("new"))
	require.NoError(t, one("mp/cond", []byte("matched"), providers.CompleteOptions{IfMatch: v}), "Complete IfMatch the current Version")
	requireContent(t, s, "mp/cond", []byte("matched"))
	require.ErrorIs(t, one("mp/cond", []byte("stale"), providers.CompleteOptions{IfMatch: v}), providers.ErrPrecondition,
		"Complete IfMatch a stale Version")
	requireContent(t, s, "mp/cond", []byte("matched"))
}
