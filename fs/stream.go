package fs

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

// streamSource marks the upload journals of streamed writes in the cache
// index (transfer.SourceFingerprint.Path = streamSource + staging path).
// They are never resumed: New aborts them (the file was never closed).
const streamSource = "byob-fs-stream:"

// Crash points of the streamed write path (BYOB_CRASH_AT, see
// transfer.CrashPoint).
const (
	// CrashMidUpload fires after the 2nd part of a streamed upload is on the
	// server, before the file is closed.
	CrashMidUpload = "fs-mid-upload"
	// CrashAfterWriteBackAck fires in write-back mode once a close has been
	// acknowledged, before its background upload starts.
	CrashAfterWriteBackAck = "fs-after-writeback-ack"
)

// streamPart is a finished part of a streamed upload.
type streamPart struct {
	part providers.Part
	crc  uint32
}

// streamer uploads a file being written sequentially as a multipart upload
// while the application writes: each PartSize bytes written contiguously from
// offset 0 are sent as soon as they are complete (read back from the staging
// file, which stays the authority), at most Concurrency parts in flight. Any
// write it cannot follow (a rewrite of bytes already sent, a truncate, an
// explicit mtime) or a failed part abandons it: its upload is aborted and
// publish falls back to uploading the staging file.
type streamer struct {
	f     *FS
	file  *os.File
	key   string
	path  string // staging file (for the journal)
	ps    int64
	limit int
	max   int // MaxParts
	alg   providers.ChecksumAlgorithm
	mp    providers.Multiparter
	mtime time.Time // mtime metadata of the object, fixed at creation

	ctx    context.Context // ends when abandoned
	cancel context.CancelFunc

	mu sync.Mutex
	// The fields below are GUARDED_BY(mu).
	next       int64      // bytes written contiguously from 0
	extents    [][2]int64 // written ranges beyond next, sorted, disjoint
	dispatched int64      // bytes handed to parts 1..nparts
	nparts     int
	sealed     bool // a short (last) part was dispatched
	inflight   int
	finished   int
	parts      map[int]streamPart
	broken     error // non-nil: abandoned
	up         providers.Upload
	creating   bool
	ready      chan struct{}      // closed once up is created (or creation failed)
	changed    chan struct{}      // closed and replaced when a part ends
	mem        map[int64]*partMem // sealed tails (tail.go) not sent yet, by offset
	memN       int                // sealed tails held: in mem, or being sent
	memParts   atomic.Int64       // parts sent from a sealed tail (tests)
}

// newStreamer returns a streamer for a new or truncated file, or nil when
// the store cannot stream (no multipart upload) or writes are written back.
func (f *FS) newStreamer(file *os.File, key, path string) *streamer {
	if f.opts.WriteBack || f.caps.Multipart == providers.MultipartNone {
		return nil
	}
	mp, ok := f.store.(providers.Multiparter)
	if !ok {
		return nil
	}
	ps := f.opts.PartSize
	if ps <= 0 {
		ps = transfer.DefaultPartSize
	}
	ps = max(ps, f.caps.MinPartSize, 1)
	if f.caps.MaxPartSize > 0 {
		ps = min(ps, f.caps.MaxPartSize)
	}
	maxParts := f.caps.MaxParts
	if maxParts <= 0 {
		maxParts = 10000
	}
	alg := providers.ChecksumNone
	switch {
	case f.caps.Verifies(providers.ChecksumCRC32C):
		alg = providers.ChecksumCRC32C
	case f.caps.Verifies(providers.ChecksumMD5):
		alg = providers.ChecksumMD5
	}
	ctx, cancel := context.WithCancel(f.ctx)
	return &streamer{
		f: f, file: file, key: key, path: path, ps: ps, limit: f.opts.UploadConcurrency, max: maxParts,
		alg: alg, mp: mp, ctx: ctx, cancel: cancel,
		parts: map[int]streamPart{}, ready: make(chan struct{}), changed: make(chan struct{}),
		mem: map[int64]*partMem{},
	}
}

// contiguous reports whether the stream has followed every write of a
// file of size bytes: one run from offset 0, nothing given up or sealed.
func (s *streamer) contiguous(size int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken == nil && !s.sealed && s.next == size && len(s.extents) == 0
}

// streaming reports whether the stream still follows the writes.
func (s *streamer) streaming() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken == nil && !s.sealed
}

// takeMem takes a sealed tail as the bytes of the part at t.off (sent from
// memory, not read back from the staging file) and records them written.
// While UploadConcurrency+1 tails are held it waits for one to be sent, so
// a writer ahead of the uploads goes at their pace. It reports false when
// the stream cannot take the tail (given up, not at its frontier, ctx
// done): the caller writes it to the staging file and calls wrote.
func (s *streamer) takeMem(ctx context.Context, t *partMem) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.broken == nil && s.memN > s.limit {
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		s.mu.Lock()
		if ctx.Err() != nil {
			return false
		}
	}
	if s.broken != nil || s.sealed || t.off != s.next || len(s.extents) > 0 {
		return false // (tails start on part boundaries, at or past dispatched)
	}
	if old := s.mem[t.off]; old != nil { // a tail of bytes truncated away
		delete(s.mem, t.off)
		s.memDoneLocked(old)
	}
	s.mem[t.off] = t
	s.memN++
	s.wroteLocked(t.off, int64(t.n))
	return true
}

// memFor takes the sealed tail holding [off, off+size) out of the stream,
// or returns nil.
func (s *streamer) memFor(off, size int64) *partMem {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mem[off]
	if m == nil {
		return nil
	}
	delete(s.mem, off)
	if int64(m.n) != size {
		s.memDoneLocked(m)
		return nil
	}
	return m
}

// memDoneLocked lets a sealed tail go and wakes a writer waiting for room.
func (s *streamer) memDoneLocked(m *partMem) {
	m.release()
	s.memN--
	s.notifyLocked()
}

// wrote records that [off, off+n) of the staging file was written.
func (s *streamer) wrote(off, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Sealed tails over these bytes hold what was there before: the
	// part is read from the staging file instead.
	s.dropMemLocked(func(m *partMem) bool { return m.off < off+n && off < m.off+int64(m.n) })
	s.wroteLocked(off, n)
}

// dropMemLocked lets go of the sealed tails not sent yet that match.
func (s *streamer) dropMemLocked(match func(*partMem) bool) {
	for off, m := range s.mem {
		if match(m) {
			delete(s.mem, off)
			s.memDoneLocked(m)
		}
	}
}

func (s *streamer) wroteLocked(off, n int64) {
	if n <= 0 {
		return
	}
	if s.broken != nil {
		return
	}
	if s.sealed || off < s.dispatched {
		s.abandonLocked(fmt.Errorf("rewrite at %d of bytes already sent", off))
		return
	}
	end := off + n
	if off > s.next {
		s.addExtentLocked(off, end)
		if len(s.extents) > 64 {
			s.abandonLocked(errors.New("too many out-of-order writes"))
		}
		return
	}
	s.next = max(s.next, end)
	// Absorb the extents the frontier now reaches.
	i := 0
	for ; i < len(s.extents) && s.extents[i][0] <= s.next; i++ {
		s.next = max(s.next, s.extents[i][1])
	}
	s.extents = s.extents[i:]
	s.pumpLocked(false)
}

func (s *streamer) addExtentLocked(off, end int64) {
	out := make([][2]int64, 0, len(s.extents)+1)
	placed := false
	for _, e := range s.extents {
		switch {
		case e[1] < off:
			out = append(out, e)
		case end < e[0]:
			if !placed {
				out = append(out, [2]int64{off, end})
				placed = true
			}
			out = append(out, e)
		default: // overlap or adjacent: merge
			off, end = min(off, e[0]), max(end, e[1])
		}
	}
	if !placed {
		out = append(out, [2]int64{off, end})
	}
	s.extents = out
}

// truncated records a truncate to size: the stream survives only a cut
// within bytes not yet sent.
func (s *streamer) truncated(size int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return
	}
	if s.sealed || size < s.dispatched || size > s.next {
		s.abandonLocked(fmt.Errorf("truncate to %d", size))
		return
	}
	s.next = size
	s.extents = nil
	s.dropMemLocked(func(m *partMem) bool { return m.off+int64(m.n) > size })
}

// abandon gives the stream up (see abandonLocked).
func (s *streamer) abandon(reason error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abandonLocked(reason)
}

// abandonLocked marks the stream broken, cancels its parts, and aborts its
// upload in the background once no part is in flight.
func (s *streamer) abandonLocked(reason error) {
	if s.broken != nil {
		return
	}
	s.broken = reason
	s.cancel()
	s.dropMemLocked(func(*partMem) bool { return true })
	s.f.log.Debug("streamed upload abandoned; the staging file will be uploaded", "key", s.key, "reason", reason)
	f := s.f
	// Close waits for the abort unless it is already closing (a WaitGroup
	// must not grow from zero while Wait runs).
	tracked := f.ctx.Err() == nil
	if tracked {
		f.wg.Add(1)
	}
	go func() {
		if tracked {
			defer f.wg.Done()
		}
		s.mu.Lock()
		for s.inflight > 0 || s.creating {
			ch := s.changed
			s.mu.Unlock()
			<-ch
			s.mu.Lock()
		}
		up := s.up
		s.up = nil
		s.mu.Unlock()
		if up == nil {
			return
		}
		actx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := up.Abort(actx); err != nil {
			f.log.Warn("abort streamed upload (the next mount retries)", "key", s.key, "err", err)
			return
		}
		s.forget(actx, up.ID())
	}()
}

func (s *streamer) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// pumpLocked dispatches the parts that are complete (and, when final, the
// rest of the file up to next) while slots are free.
func (s *streamer) pumpLocked(final bool) {
	for s.broken == nil && s.inflight < s.limit && !s.sealed {
		avail := s.next - s.dispatched
		if avail < s.ps && !(final && avail > 0) {
			return
		}
		if s.nparts+1 > s.max {
			s.abandonLocked(errors.New("too many parts"))
			return
		}
		sz := min(avail, s.ps)
		if sz < s.ps {
			s.sealed = true
		}
		s.startLocked()
		s.nparts++
		n, off := s.nparts, s.dispatched
		s.dispatched += sz
		s.inflight++
		go s.sendPart(n, off, sz)
	}
}

// startLocked creates the multipart upload (in the background) once.
func (s *streamer) startLocked() {
	if s.creating || s.up != nil {
		return
	}
	s.creating = true
	s.mtime = time.Now()
	go func() {
		put := providers.PutOptions{Metadata: map[string]string{providers.MetaMtime: providers.FormatMtime(s.mtime)}}
		if s.alg == providers.ChecksumCRC32C {
			put.Checksum = providers.Checksum{Algorithm: providers.ChecksumCRC32C}
		}
		up, err := s.mp.CreateMultipart(s.ctx, s.key, put)
		if err == nil {
			j := &transfer.UploadJournal{Store: s.f.opts.StoreID, Key: s.key, UploadID: up.ID(), PartSize: s.ps,
				Source: transfer.SourceFingerprint{Path: streamSource + s.path}, Started: time.Now(), Updated: time.Now()}
			if jerr := s.f.cache.SaveUpload(s.ctx, j); jerr != nil {
				actx, cancel := context.WithTimeout(context.Background(), time.Minute)
				up.Abort(actx)
				cancel()
				up, err = nil, jerr
			}
		}
		s.mu.Lock()
		s.creating = false
		if err != nil {
			s.abandonLocked(fmt.Errorf("create multipart upload: %w", err))
		} else {
			s.up = up
		}
		close(s.ready)
		s.notifyLocked()
		s.mu.Unlock()
	}()
}

// sendPart hashes and uploads part n ([off, off+size) of the staging file).
func (s *streamer) sendPart(n int, off, size int64) {
	err := s.doPart(n, off, size)
	s.mu.Lock()
	s.inflight--
	if err != nil {
		s.abandonLocked(fmt.Errorf("part %d: %w", n, err))
	}
	k := 0
	if err == nil {
		s.finished++
		k = s.finished
	}
	s.pumpLocked(false)
	s.notifyLocked()
	s.mu.Unlock()
	if k == 2 {
		transfer.CrashPoint(CrashMidUpload)
	}
}

func (s *streamer) doPart(n int, off, size int64) error {
	select {
	case <-s.ready:
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	s.mu.Lock()
	up := s.up
	s.mu.Unlock()
	if up == nil {
		return errors.New("no upload")
	}
	// The part is the sealed tail the writer left in memory, or is read
	// from the staging file once, into memory; both hashed and sent from
	// there.
	var buf []byte
	var sum uint32
	m := s.memFor(off, size)
	if m != nil {
		defer func() {
			s.mu.Lock()
			s.memDoneLocked(m)
			s.mu.Unlock()
		}()
		buf, sum = m.bytes(), m.crc
		s.memParts.Add(1)
	} else {
		bp := tailBufs.get(s.ps)
		defer tailBufs.put(bp)
		buf = (*bp)[:size]
		got, err := s.file.ReadAt(buf, off)
		if int64(got) == size {
			err = nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if int64(got) != size {
			return fmt.Errorf("staging file ended at %d: %w", off+int64(got), providers.ErrSizeMismatch)
		}
		sum = crc32.Checksum(buf, providers.CRC32CTable)
	}
	var md hash.Hash
	if s.alg == providers.ChecksumMD5 {
		md = md5.New()
		md.Write(buf)
	}
	var po providers.PartOptions
	switch s.alg {
	case providers.ChecksumCRC32C:
		po.Checksum = providers.CRC32C(sum)
	case providers.ChecksumMD5:
		po.Checksum = providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: md.Sum(nil)}
	}
	p, err := up.UploadPart(s.ctx, n, bytes.NewReader(buf), size, po)
	if err != nil {
		return err
	}
	if p.Number == 0 {
		p.Number = n
	}
	if p.Size == 0 {
		p.Size = size
	}
	if p.Number != n || p.Size != size {
		return fmt.Errorf("part %d: the store recorded part %d of %d bytes: %w", n, p.Number, p.Size, providers.ErrSizeMismatch)
	}
	s.mu.Lock()
	s.parts[n] = streamPart{part: p, crc: sum}
	s.mu.Unlock()
	return nil
}

// idle reports whether the stream has sent nothing yet (no part, no
// upload). A publish then uploads the staging file with one Put and keeps
// the stream for the writes that follow: a flush before the data (a
// descriptor closed early, as shells and dd do) or a small file never
// abandons streaming. Called with the wfile's mu held, so no write runs.
func (s *streamer) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken == nil && s.nparts == 0 && s.up == nil && !s.creating
}

// finish completes the stream as an object of size bytes: it sends what is
// left and completes the upload. ok is false when the stream cannot publish
// the file (abandoned, not contiguous, never started): the caller uploads the
// staging file instead. Called with the wfile's mu held, so no write runs.
func (s *streamer) finish(ctx context.Context, size int64) (info providers.ObjectInfo, ok bool, err error) {
	s.mu.Lock()
	if s.broken == nil && (s.next != size || len(s.extents) > 0) {
		s.abandonLocked(fmt.Errorf("file of %d bytes, %d written in order", size, s.next))
	}
	if s.broken == nil && s.nparts == 0 && s.up == nil && !s.creating {
		// Nothing sent yet: one upload of the staging file is as good.
		s.abandonLocked(errors.New("nothing streamed"))
	}
	for s.broken == nil && (s.dispatched < size || s.inflight > 0 || s.creating) {
		s.pumpLocked(true)
		if s.broken != nil || (s.dispatched >= size && s.inflight == 0 && !s.creating) {
			break
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return providers.ObjectInfo{}, false, ctx.Err()
		}
		s.mu.Lock()
	}
	if s.broken != nil {
		s.mu.Unlock()
		return providers.ObjectInfo{}, false, nil
	}
	parts := make([]providers.Part, 0, s.nparts)
	var crc uint32
	var total int64
	for n := 1; n <= s.nparts; n++ {
		p := s.parts[n]
		parts = append(parts, p.part)
		if n == 1 {
			crc = p.crc
		} else {
			crc = providers.CombineCRC32C(crc, p.crc, p.part.Size)
		}
		total += p.part.Size
	}
	up := s.up
	mtime := s.mtime
	s.mu.Unlock()
	if total != size {
		s.abandon(fmt.Errorf("parts hold %d bytes, the file %d", total, size))
		return providers.ObjectInfo{}, false, nil
	}
	info, err = up.Complete(ctx, parts, providers.CompleteOptions{Checksum: providers.CRC32C(crc)})
	if err != nil {
		if ctx.Err() != nil {
			return info, false, err
		}
		s.f.log.Warn("complete streamed upload failed; uploading the staging file", "key", s.key, "err", err)
		s.abandon(fmt.Errorf("complete: %w", err))
		return providers.ObjectInfo{}, false, nil
	}
	s.mu.Lock()
	s.up = nil
	s.broken = errors.New("completed")
	s.dropMemLocked(func(*partMem) bool { return true })
	s.mu.Unlock()
	s.cancel()
	s.forget(context.WithoutCancel(ctx), up.ID())
	if info.Metadata == nil {
		info.Metadata = map[string]string{providers.MetaMtime: providers.FormatMtime(mtime)}
	}
	return info, true, nil
}

// forget deletes the journal record of upload id (and not a newer stream's
// record of the same key).
func (s *streamer) forget(ctx context.Context, id string) {
	f := s.f
	j, err := f.cache.LoadUpload(ctx, f.opts.StoreID, s.key)
	if err != nil || j == nil || j.UploadID != id {
		return
	}
	if err := f.cache.DeleteUpload(ctx, f.opts.StoreID, s.key); err != nil {
		f.log.Warn("forget streamed upload", "key", s.key, "err", err)
	}
}

// abortOrphans aborts the streamed uploads a previous run left (a mount
// killed while a file was being written): such a file was never closed, so
// it is never published. Its staging file is removed.
func (f *FS) abortOrphans(ctx context.Context) {
	var orphans []transfer.UploadJournal
	err := f.cache.ListUploads(ctx, func(j transfer.UploadJournal) error {
		if j.Store == f.opts.StoreID && strings.HasPrefix(j.Source.Path, streamSource) {
			orphans = append(orphans, j)
		}
		return nil
	})
	if err != nil {
		f.log.Warn("list unfinished streamed uploads", "err", err)
		return
	}
	mp, ok := f.store.(providers.Multiparter)
	for _, j := range orphans {
		if ok {
			up, err := mp.ResumeMultipart(ctx, j.Key, j.UploadID)
			if err == nil {
				err = up.Abort(ctx)
			}
			if err != nil && !errors.Is(err, providers.ErrUploadNotFound) && !errors.Is(err, providers.ErrNotExist) {
				f.log.Warn("abort unfinished streamed upload", "key", j.Key, "err", err)
				continue
			}
		}
		f.log.Warn("discarded a file that was being written when the mount stopped (never closed, never published)", "key", j.Key)
		os.Remove(strings.TrimPrefix(j.Source.Path, streamSource))
		if err := f.cache.DeleteUpload(ctx, j.Store, j.Key); err != nil {
			f.log.Warn("forget streamed upload", "key", j.Key, "err", err)
		}
	}
}
