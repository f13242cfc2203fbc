package transfer

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/byobfs/byob/providers"
)

// LiveSource marks the journals of live uploads (UploadJournal.Source.Path
// = LiveSource + the path the caller named). They are never resumed: the
// file they read was never closed (AbortLiveOrphans).
const LiveSource = "byob-live:"

// CrashLiveMidUpload is the crash point (BYOB_CRASH_AT) after the 2nd part
// of a live upload is on the server, before its file is closed.
const CrashLiveMidUpload = "live-mid-upload"

// Live is an upload fed as an application writes a file (the mount's new
// and truncated files): each part of bytes written contiguously from
// offset 0 is sent as soon as it is complete, at most Options.Concurrency
// parts in flight, read back from the file src (which stays the authority)
// or taken from a full PartBuffer the writer hands over (Take). Any write
// it cannot follow (a rewrite of bytes already sent, a truncate below
// them, too many out-of-order writes), a failed part or a failed Complete
// gives it up (Abandon): its upload is aborted in the background, and the
// caller uploads the file as a whole instead. Part size, checksums and the
// journal are the Uploader's.
//
// Locking: Live.mu is a leaf; the part goroutines take only it and read src
// without any lock of the caller.
type Live struct {
	u     *Uploader
	src   io.ReaderAt
	key   string
	path  string // for the journal (LiveSource + path)
	ps    int64
	limit int
	max   int // MaxParts
	alg   providers.ChecksumAlgorithm
	mp    providers.Multiparter
	mtime time.Time // mtime metadata of the object, fixed at creation

	life   context.Context // the caller's component lifetime (Uploader.Live)
	ctx    context.Context // ends when abandoned
	cancel context.CancelFunc

	fromMem atomic.Int64 // parts sent from a PartBuffer (Stats)

	mu sync.Mutex
	// The fields below are GUARDED_BY(mu).
	next       int64      // bytes written contiguously from 0
	extents    [][2]int64 // written ranges beyond next, sorted, disjoint
	dispatched int64      // bytes handed to parts 1..nparts
	nparts     int
	sealed     bool // a short (last) part was dispatched
	inflight   int
	finished   int
	parts      map[int]livePart
	broken     error // non-nil: abandoned
	up         providers.Upload
	creating   bool
	ready      chan struct{}         // closed once up is created (or creation failed)
	changed    chan struct{}         // closed and replaced when a part ends
	mem        map[int64]*PartBuffer // full buffers taken, not sent yet, by offset
	memN       int                   // buffers held: in mem, or being sent
}

// livePart is a finished part.
type livePart struct {
	part providers.Part
	crc  uint32
}

// Live starts a live upload of key, reading its parts from src (the file
// being written; path names it in the journal), or returns nil when the
// store has no multipart uploads. ctx is the caller's component lifetime:
// when it ends, the upload's background aborts are no longer waited for by
// Wait.
func (u *Uploader) Live(ctx context.Context, key string, src io.ReaderAt, path string) *Live {
	caps := u.st.Capabilities()
	mp, ok := u.st.(providers.Multiparter)
	if !ok || caps.Multipart == providers.MultipartNone {
		return nil
	}
	maxParts := caps.MaxParts
	if maxParts <= 0 {
		maxParts = 10000
	}
	lctx, cancel := context.WithCancel(ctx)
	return &Live{
		u: u, src: src, key: key, path: path, ps: basePartSize(u.o.PartSize, caps), limit: u.o.Concurrency, max: maxParts,
		alg: partAlgorithm(caps), mp: mp, life: ctx, ctx: lctx, cancel: cancel,
		parts: map[int]livePart{}, ready: make(chan struct{}), changed: make(chan struct{}),
		mem: map[int64]*PartBuffer{},
	}
}

// PartSize is the size of every part but the last.
func (s *Live) PartSize() int64 { return s.ps }

// Mtime is the time the upload was created: the object's mtime metadata.
func (s *Live) Mtime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mtime
}

// LiveStats describe a live upload.
type LiveStats struct {
	FromMemory int64 // parts sent from a PartBuffer, not read back from the file
	Held       int   // PartBuffers held: taken, or being sent
}

// Stats returns what the upload did so far.
func (s *Live) Stats() LiveStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return LiveStats{FromMemory: s.fromMem.Load(), Held: s.memN}
}

// Following reports whether the upload still follows the writes.
func (s *Live) Following() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken == nil && !s.sealed
}

// Contiguous reports whether the upload has followed every write of a
// file of size bytes: one run from offset 0, nothing given up or sealed.
func (s *Live) Contiguous(size int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken == nil && !s.sealed && s.next == size && len(s.extents) == 0
}

// Take takes a full PartBuffer as the bytes of the part at b.Off (sent
// from memory, not read back from the file) and records them written.
// While Concurrency+1 buffers are held it waits for one to be sent, so a
// writer ahead of the uploads goes at their pace. It reports false when
// the upload cannot take the buffer (given up, not at its frontier, ctx
// done): the caller writes it to the file and calls Wrote. Taken, the
// buffer is released by the upload once sent.
func (s *Live) Take(ctx context.Context, b *PartBuffer) bool {
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
	if s.broken != nil || s.sealed || b.off != s.next || len(s.extents) > 0 {
		return false // (buffers start on part boundaries, at or past dispatched)
	}
	if old := s.mem[b.off]; old != nil { // a buffer of bytes truncated away
		delete(s.mem, b.off)
		s.memDoneLocked(old)
	}
	s.mem[b.off] = b
	s.memN++
	s.wroteLocked(b.off, int64(b.n))
	return true
}

// memFor takes the buffer holding [off, off+size) out of the upload, or
// returns nil.
func (s *Live) memFor(off, size int64) *PartBuffer {
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

// memDoneLocked lets a buffer go and wakes a writer waiting for room.
func (s *Live) memDoneLocked(m *PartBuffer) {
	m.Release()
	s.memN--
	s.notifyLocked()
}

// Wrote records that [off, off+n) of the file was written.
func (s *Live) Wrote(off, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Buffers over these bytes hold what was there before: the part is
	// read from the file instead.
	s.dropMemLocked(func(m *PartBuffer) bool { return m.off < off+n && off < m.off+int64(m.n) })
	s.wroteLocked(off, n)
}

// dropMemLocked lets go of the buffers not sent yet that match.
func (s *Live) dropMemLocked(match func(*PartBuffer) bool) {
	for off, m := range s.mem {
		if match(m) {
			delete(s.mem, off)
			s.memDoneLocked(m)
		}
	}
}

func (s *Live) wroteLocked(off, n int64) {
	if n <= 0 || s.broken != nil {
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

func (s *Live) addExtentLocked(off, end int64) {
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

// Truncated records a truncate to size: the upload survives only a cut
// within bytes not yet sent.
func (s *Live) Truncated(size int64) {
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
	s.dropMemLocked(func(m *PartBuffer) bool { return m.off+int64(m.n) > size })
}

// Abandon gives the upload up (see abandonLocked).
func (s *Live) Abandon(reason error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abandonLocked(reason)
}

// abandonLocked marks the upload broken, cancels its parts, and aborts it
// in the background once no part is in flight.
func (s *Live) abandonLocked(reason error) {
	if s.broken != nil {
		return
	}
	s.broken = reason
	s.cancel()
	s.dropMemLocked(func(*PartBuffer) bool { return true })
	u := s.u
	u.o.Logger.Debug("live upload given up; the file will be uploaded whole", "key", s.key, "reason", reason)
	// Wait waits for the abort unless the lifetime is over (a WaitGroup
	// must not grow from zero while Wait runs).
	tracked := s.life.Err() == nil
	if tracked {
		u.wg.Add(1)
	}
	go func() {
		if tracked {
			defer u.wg.Done()
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
			u.o.Logger.Warn("abort live upload (the next start retries)", "key", s.key, "err", err)
			return
		}
		s.forget(actx, up.ID())
	}()
}

func (s *Live) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// pumpLocked dispatches the parts that are complete (and, when final, the
// rest of the file up to next) while slots are free.
func (s *Live) pumpLocked(final bool) {
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
func (s *Live) startLocked() {
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
		if err == nil && s.u.o.Journal != nil {
			j := &UploadJournal{Store: s.u.o.StoreID, Key: s.key, UploadID: up.ID(), PartSize: s.ps,
				Source: SourceFingerprint{Path: LiveSource + s.path}, Started: time.Now(), Updated: time.Now()}
			if jerr := s.u.o.Journal.SaveUpload(s.ctx, j); jerr != nil {
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

// sendPart hashes and uploads part n ([off, off+size) of the file).
func (s *Live) sendPart(n int, off, size int64) {
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
		CrashPoint(CrashLiveMidUpload)
	}
}

func (s *Live) doPart(n int, off, size int64) error {
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
	// The part is the buffer the writer handed over, or is read from the
	// file once, into memory; both hashed and sent from there.
	var buf []byte
	var sum uint32
	if m := s.memFor(off, size); m != nil {
		defer func() {
			s.mu.Lock()
			s.memDoneLocked(m)
			s.mu.Unlock()
		}()
		buf, sum = m.Bytes(), m.crc
		s.fromMem.Add(1)
	} else {
		b := s.u.bufs.Get(int(s.ps))
		defer s.u.bufs.Put(b)
		buf = b[:size]
		got, err := s.src.ReadAt(buf, off)
		if int64(got) == size {
			err = nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if int64(got) != size {
			return fmt.Errorf("file ended at %d: %w", off+int64(got), providers.ErrSizeMismatch)
		}
		sum = crc32.Checksum(buf, providers.CRC32CTable)
	}
	var md5sum []byte
	if s.alg == providers.ChecksumMD5 {
		h := md5.Sum(buf)
		md5sum = h[:]
	}
	p, err := up.UploadPart(s.ctx, n, bytes.NewReader(buf), size, partOption(s.alg, sum, md5sum))
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
	s.parts[n] = livePart{part: p, crc: sum}
	s.mu.Unlock()
	return nil
}

// Idle reports whether the upload has sent nothing yet (no part, no
// upload). A caller publishing a file then uploads it whole with one Put
// and may keep the upload for the writes that follow: a flush before the
// data (a descriptor closed early, as shells and dd do) or a small file
// never gives it up. Call it while no write runs.
func (s *Live) Idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken == nil && s.nparts == 0 && s.up == nil && !s.creating
}

// Finish completes the upload as an object of size bytes: it sends what is
// left and completes the multipart upload with the combined CRC32C. ok is
// false when the upload cannot publish the file (given up, not contiguous,
// never started): the caller uploads it whole instead. Call it while no
// write runs.
func (s *Live) Finish(ctx context.Context, size int64) (info providers.ObjectInfo, ok bool, err error) {
	s.mu.Lock()
	if s.broken == nil && (s.next != size || len(s.extents) > 0) {
		s.abandonLocked(fmt.Errorf("file of %d bytes, %d written in order", size, s.next))
	}
	if s.broken == nil && s.nparts == 0 && s.up == nil && !s.creating {
		// Nothing sent yet: one upload of the file is as good.
		s.abandonLocked(errors.New("nothing sent"))
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
		s.Abandon(fmt.Errorf("parts hold %d bytes, the file %d", total, size))
		return providers.ObjectInfo{}, false, nil
	}
	info, err = up.Complete(ctx, parts, providers.CompleteOptions{Checksum: providers.CRC32C(crc)})
	if err != nil {
		if ctx.Err() != nil {
			return info, false, err
		}
		s.u.o.Logger.Warn("complete live upload failed; uploading the file whole", "key", s.key, "err", err)
		s.Abandon(fmt.Errorf("complete: %w", err))
		return providers.ObjectInfo{}, false, nil
	}
	s.mu.Lock()
	s.up = nil
	s.broken = errors.New("completed")
	s.dropMemLocked(func(*PartBuffer) bool { return true })
	s.mu.Unlock()
	s.cancel()
	s.forget(context.WithoutCancel(ctx), up.ID())
	if info.Metadata == nil {
		info.Metadata = map[string]string{providers.MetaMtime: providers.FormatMtime(mtime)}
	}
	return info, true, nil
}

// forget deletes the journal record of upload id (and not a newer upload's
// record of the same key).
func (s *Live) forget(ctx context.Context, id string) {
	j := s.u.o.Journal
	if j == nil {
		return
	}
	r, err := j.LoadUpload(ctx, s.u.o.StoreID, s.key)
	if err != nil || r == nil || r.UploadID != id {
		return
	}
	if err := j.DeleteUpload(ctx, s.u.o.StoreID, s.key); err != nil {
		s.u.o.Logger.Warn("forget live upload", "key", s.key, "err", err)
	}
}

// AbortLiveOrphans aborts the live uploads a previous run left in the
// journal for this Uploader's store (a process killed while a file was
// being written: it was never closed, so it is never published), forgets
// their records and returns them (Source.Path is LiveSource + the path the
// caller named). A record whose abort failed stays for the next start.
func (u *Uploader) AbortLiveOrphans(ctx context.Context) ([]UploadJournal, error) {
	if u.o.Journal == nil {
		return nil, nil
	}
	var orphans []UploadJournal
	err := u.o.Journal.ListUploads(ctx, func(j UploadJournal) error {
		if j.Store == u.o.StoreID && strings.HasPrefix(j.Source.Path, LiveSource) {
			orphans = append(orphans, j)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	mp, ok := u.st.(providers.Multiparter)
	var done []UploadJournal
	var errs []error
	for _, j := range orphans {
		if ok {
			if err := abortByID(ctx, mp, j.Key, j.UploadID); err != nil && !errors.Is(err, providers.ErrNotExist) {
				errs = append(errs, fmt.Errorf("abort the live upload of %q: %w", j.Key, err))
				continue
			}
		}
		if err := u.o.Journal.DeleteUpload(ctx, j.Store, j.Key); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, j)
	}
	return done, errors.Join(errs...)
}

// Wait waits for the background aborts of the live uploads given up.
func (u *Uploader) Wait() { u.wg.Wait() }
