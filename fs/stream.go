package fs

import (
	"context"
	"os"
	"strings"

	"github.com/byobfs/byob/transfer"
)

// CrashAfterWriteBackAck is the crash point (BYOB_CRASH_AT, see
// transfer.CrashPoint) in write-back mode once a close has been
// acknowledged, before its background upload starts. The streamed write
// path has transfer.CrashLiveMidUpload.
const CrashAfterWriteBackAck = "fs-after-writeback-ack"

// newLive returns a live upload (transfer.Live) following the writes of a
// new or truncated file into its staging file, or nil when the store
// cannot stream (no multipart upload) or writes are written back.
func (f *FS) newLive(file *os.File, key, path string) *transfer.Live {
	if f.opts.WriteBack {
		return nil
	}
	return f.up.Live(f.ctx, key, file, path)
}

// abortOrphans aborts the live uploads a previous run left (a mount killed
// while a file was being written): such a file was never closed, so it is
// never published. Its staging file is removed.
func (f *FS) abortOrphans(ctx context.Context) {
	done, err := f.up.AbortLiveOrphans(ctx)
	if err != nil {
		f.log.Warn("abort unfinished streamed uploads (the next mount retries)", "err", err)
	}
	for _, j := range done {
		f.log.Warn("discarded a file that was being written when the mount stopped (never closed, never published)", "key", j.Key)
		os.Remove(strings.TrimPrefix(j.Source.Path, transfer.LiveSource))
	}
}
