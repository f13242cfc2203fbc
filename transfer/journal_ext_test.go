package transfer_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
	"github.com/byobfs/byob/transfer"
	"github.com/byobfs/byob/transfer/transfertest"
)

// idRecorder returns an AfterPart hook that records the journaled upload ID.
func idRecorder(j *transfertest.MemJournal, key string, id *atomic.Value) func(int) {
	return func(int) {
		if rec, _ := j.LoadUpload(context.Background(), "mem", key); rec != nil {
			id.Store(rec.UploadID)
		}
	}
}

func TestUploadFileWithFaults(t *testing.T) {
	ctx := context.Background()
	f := faulty.Wrap(transfer.SmallMem(0), faulty.Options{Seed: 3, Rules: []faulty.StoreRule{
		faulty.FailRate(faulty.OpUploadPart, 0.2),
		faulty.FailRate(faulty.OpCreateMultipart, 0.5),
		faulty.FailRate(faulty.OpComplete, 0.5),
	}})
	j := transfertest.NewMemJournal()
	var id atomic.Value
	o := transfer.TestOptions()
	o.Journal, o.StoreID = j, "mem"
	o.AfterPart = idRecorder(j, "big", &id)
	u := transfer.NewUploader(transfer.Retried(f, 20), o)
	data := transfer.RandBytes(2, 100<<10+123)
	put := providers.PutOptions{Metadata: map[string]string{providers.MetaMD5: "given"}}
	info, err := u.UploadFile(ctx, "big", bytes.NewReader(data), int64(len(data)), transfer.SourceFingerprint{Size: int64(len(data))}, put)
	require.NoError(t, err)
	require.Equal(t, data, transfer.ReadAll(t, f, "big"))
	transfer.RequireCRC(t, info, data)
	require.Greater(t, f.Injected(), 5)
	require.Equal(t, 0, j.Len(), "journal record removed after complete")
	transfer.RequireGone(t, f, "big", id.Load().(string))
	st, err := f.Stat(ctx, "big")
	require.NoError(t, err)
	require.Equal(t, "given", st.Metadata[providers.MetaMD5], "md5chksum passed through as given")

	// Without it nothing computes one.
	_, err = u.UploadFile(ctx, "big2", bytes.NewReader(data), int64(len(data)), transfer.SourceFingerprint{}, providers.PutOptions{})
	require.NoError(t, err)
	st, err = f.Stat(ctx, "big2")
	require.NoError(t, err)
	require.NotContains(t, st.Metadata, providers.MetaMD5)
}

func TestUploadFileAbortsOnFinalFailure(t *testing.T) {
	ctx := context.Background()
	f := faulty.Wrap(transfer.SmallMem(0), faulty.Options{Rules: []faulty.StoreRule{{Op: faulty.OpUploadPart, Nth: 5,
		Err: providers.NewOpError("upload-part", "k", providers.ErrPermission, nil)}}})
	j := transfertest.NewMemJournal()
	var id atomic.Value
	o := transfer.TestOptions()
	o.Journal, o.StoreID = j, "mem"
	o.AfterPart = idRecorder(j, "k", &id)
	u := transfer.NewUploader(transfer.Retried(f, 20), o)
	data := transfer.RandBytes(5, 20<<10)
	fp := transfer.SourceFingerprint{Path: "data", Size: int64(len(data))}
	_, err := u.UploadFile(ctx, "k", bytes.NewReader(data), int64(len(data)), fp, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrPermission)
	require.GreaterOrEqual(t, f.Calls(faulty.OpAbort), 1)
	transfer.RequireGone(t, f, "k", id.Load().(string))
	require.Equal(t, 0, j.Len(), "an aborted upload leaves no journal record")
	_, err = f.Stat(ctx, "k")
	require.ErrorIs(t, err, providers.ErrNotExist)

	// Retries exhausted on a retryable error: aborted as well.
	f.SetRules(faulty.FailRate(faulty.OpUploadPart, 1))
	f.Reset()
	_, err = u.UploadFile(ctx, "k", bytes.NewReader(data), int64(len(data)), fp, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrServer)
	require.GreaterOrEqual(t, f.Calls(faulty.OpAbort), 1)
	require.Equal(t, 0, j.Len())
}

func TestUploadFileResumeAfterCrash(t *testing.T) {
	f := faulty.Wrap(transfer.SmallMem(0), faulty.Options{})
	j := transfertest.NewMemJournal()
	data := transfer.RandBytes(6, 40<<10+5) // 41 parts of 1 KiB
	src := transfer.SourceFingerprint{Path: "/data/x", Size: int64(len(data)), ModTime: time.Unix(1700000000, 0)}

	ctx, cancel := context.WithCancel(context.Background())
	o := transfer.TestOptions()
	o.Journal, o.StoreID = j, "mem"
	o.AfterPart = func(n int) {
		if n == 10 {
			cancel() // the "crash": nothing after this part counts
		}
	}
	_, err := transfer.NewUploader(transfer.Retried(f, 20), o).UploadFile(ctx, "k", bytes.NewReader(data), int64(len(data)), src, providers.PutOptions{})
	require.ErrorIs(t, err, context.Canceled)
	rec, err := j.LoadUpload(context.Background(), "mem", "k")
	require.NoError(t, err)
	require.NotNil(t, rec, "a cancelled journaled upload stays resumable")
	require.GreaterOrEqual(t, len(rec.Parts), 10)
	require.Equal(t, 0, f.Calls(faulty.OpAbort))
	journaled := len(rec.Parts)

	f.Reset()
	o.AfterPart = nil
	info, err := transfer.NewUploader(transfer.Retried(f, 20), o).UploadFile(context.Background(), "k", bytes.NewReader(data), int64(len(data)), src, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, f.Calls(faulty.OpResumeMultipart))
	require.Equal(t, 0, f.Calls(faulty.OpCreateMultipart))
	require.Equal(t, 41-journaled, f.Calls(faulty.OpUploadPart), "only the missing parts are sent")
	require.Equal(t, data, transfer.ReadAll(t, f, "k"))
	transfer.RequireCRC(t, info, data)
	require.Equal(t, 0, j.Len())
	transfer.RequireGone(t, f, "k", rec.UploadID)

	// A changed source does not resume: the old upload is aborted.
	ctx, cancel = context.WithCancel(context.Background())
	o.AfterPart = func(n int) {
		if n == 3 {
			cancel()
		}
	}
	_, err = transfer.NewUploader(transfer.Retried(f, 20), o).UploadFile(ctx, "k", bytes.NewReader(data), int64(len(data)), src, providers.PutOptions{})
	require.ErrorIs(t, err, context.Canceled)
	rec, _ = j.LoadUpload(context.Background(), "mem", "k")
	require.NotNil(t, rec)
	f.Reset()
	src.ModTime = src.ModTime.Add(time.Second)
	o.AfterPart = nil
	_, err = transfer.NewUploader(transfer.Retried(f, 20), o).UploadFile(context.Background(), "k", bytes.NewReader(data), int64(len(data)), src, providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, f.Calls(faulty.OpCreateMultipart))
	require.Equal(t, 41, f.Calls(faulty.OpUploadPart))
	transfer.RequireGone(t, f, "k", rec.UploadID)
}

func TestAbortStale(t *testing.T) {
	ctx := context.Background()
	m := transfer.SmallMem(0)
	j := transfertest.NewMemJournal()
	old, err := m.CreateMultipart(ctx, "old", providers.PutOptions{})
	require.NoError(t, err)
	fresh, err := m.CreateMultipart(ctx, "fresh", providers.PutOptions{})
	require.NoError(t, err)
	now := time.Now()
	require.NoError(t, j.SaveUpload(ctx, &transfer.UploadJournal{Store: "mem", Key: "old", UploadID: old.ID(), Updated: now.Add(-8 * 24 * time.Hour)}))
	require.NoError(t, j.SaveUpload(ctx, &transfer.UploadJournal{Store: "mem", Key: "fresh", UploadID: fresh.ID(), Updated: now}))
	require.NoError(t, j.SaveUpload(ctx, &transfer.UploadJournal{Store: "other", Key: "old", UploadID: "x", Updated: now.Add(-8 * 24 * time.Hour)}))
	gone, err := transfer.AbortStale(ctx, m, j, "mem", transfer.DefaultStaleAge)
	require.NoError(t, err)
	require.Len(t, gone, 1)
	require.Equal(t, "old", gone[0].Key)
	transfer.RequireGone(t, m, "old", old.ID())
	_, err = m.ResumeMultipart(ctx, "fresh", fresh.ID())
	require.NoError(t, err)
	require.Equal(t, 2, j.Len())
}

// A zero fingerprint identifies no source: such an upload is not
// journaled, so it never resumes (or is resumed by) another upload of the
// key.
func TestUploadFileZeroFingerprintNotJournaled(t *testing.T) {
	ctx := context.Background()
	f := faulty.Wrap(transfer.SmallMem(0), faulty.Options{})
	j := transfertest.NewMemJournal()
	o := transfer.TestOptions()
	o.Journal, o.StoreID = j, "mem"
	o.AfterPart = func(int) { require.Zero(t, j.Len(), "no record while it runs") }
	u := transfer.NewUploader(transfer.Retried(f, 20), o)
	data := transfer.RandBytes(6, 20<<10)
	_, err := u.UploadFile(ctx, "k", bytes.NewReader(data), int64(len(data)), transfer.SourceFingerprint{}, providers.PutOptions{})
	require.NoError(t, err)
	require.Zero(t, j.Saves())
	require.Equal(t, data, transfer.ReadAll(t, f, "k"))
}
