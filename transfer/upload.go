package transfer

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/byobfs/byob/providers"
)

// Options configure an Uploader. Zero fields take the defaults of
// DefaultOptions, except Journal, SpillDir, StoreID and AfterPart.
type Options struct {
	// PartSize is the part size; 0 picks DefaultPartSize, adjusted to the
	// store's limits (see the package doc).
	PartSize int64
	// Concurrency is the number of parts in flight (default 4).
	Concurrency int
	// MemoryLimit caps the bytes of part buffers UploadStream holds, across
	// all streams of one Uploader (default 64 MiB).
	MemoryLimit int64
	// Journal, when set, makes UploadFile resumable (see the package doc).
	Journal Journal
	// SpillDir holds the temporary files of stream parts too large for
	// memory; "" means os.TempDir().
	SpillDir string
	// StoreID identifies the store in the journal (providers.Address.StoreID).
	StoreID string
	// AfterPart, when set, runs after the nth part (1-based, counting parts
	// finished by this call) is uploaded and journaled. A test and crash hook.
	AfterPart func(n int)
	// LiveMemory bounds the part buffers writers hand to live uploads
	// (Live.Buffer), across every Uploader given the same one (default:
	// one of DefaultLiveMemory for this Uploader).
	LiveMemory *Memory
	// Logger receives what live uploads give up and fail to clean up.
	Logger *slog.Logger
}

// DefaultLiveMemory is the default LiveMemory: 8 parts of the default 16
// MiB (a writer ahead of its upload holds Concurrency+2 = 6).
const DefaultLiveMemory = 128 << 20

// DefaultOptions returns automatic part size, 4 parts in flight and 64 MiB
// of buffers.
func DefaultOptions() Options {
	return Options{Concurrency: 4, MemoryLimit: 64 << 20}
}

// Uploader uploads objects to one store. It is safe for concurrent use.
type Uploader struct {
	st   providers.Store
	o    Options  // immutable after NewUploader
	mem  *Memory  // part buffers of streamed uploads
	live *Memory  // part buffers writers hand to live uploads
	bufs *Buffers // parts a live upload reads back from its file

	wg sync.WaitGroup // background aborts of live uploads given up (Wait)
}

// NewUploader returns an Uploader writing to st, which retries its calls
// itself (wrap.Stack): a part, a Put of a section, a Complete.
func NewUploader(st providers.Store, o Options) *Uploader {
	d := DefaultOptions()
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = d.MemoryLimit
	}
	if o.LiveMemory == nil {
		o.LiveMemory = NewMemory(DefaultLiveMemory)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Uploader{st: st, o: o, mem: NewMemory(o.MemoryLimit), live: o.LiveMemory, bufs: NewBuffers(o.Concurrency, bufIdle)}
}

// partAlgorithm is the checksum each part carries for st.
func partAlgorithm(caps providers.Capabilities) providers.ChecksumAlgorithm {
	switch {
	case caps.Verifies(providers.ChecksumCRC32C):
		return providers.ChecksumCRC32C
	case caps.Verifies(providers.ChecksumMD5):
		return providers.ChecksumMD5
	}
	return providers.ChecksumNone
}

// partSums hashes one part: always CRC32C, MD5 when the parts carry it.
type partSums struct {
	crc hash.Hash32
	md5 hash.Hash
}

func newPartSums(alg providers.ChecksumAlgorithm) *partSums {
	s := &partSums{crc: crc32.New(providers.CRC32CTable)}
	if alg == providers.ChecksumMD5 {
		s.md5 = md5.New()
	}
	return s
}

func (s *partSums) Write(p []byte) (int, error) {
	s.crc.Write(p)
	if s.md5 != nil {
		s.md5.Write(p)
	}
	return len(p), nil
}

// option returns the PartOptions for the part's algorithm.
func (s *partSums) option(alg providers.ChecksumAlgorithm) providers.PartOptions {
	var sum []byte
	if s.md5 != nil {
		sum = s.md5.Sum(nil)
	}
	return partOption(alg, s.crc.Sum32(), sum)
}

// partOption is the checksum a part carries for alg (partAlgorithm): its
// CRC32C, or its MD5 sum, or none.
func partOption(alg providers.ChecksumAlgorithm, crc uint32, md5sum []byte) providers.PartOptions {
	switch alg {
	case providers.ChecksumCRC32C:
		return providers.PartOptions{Checksum: providers.CRC32C(crc)}
	case providers.ChecksumMD5:
		return providers.PartOptions{Checksum: providers.Checksum{Algorithm: providers.ChecksumMD5, Sum: md5sum}}
	}
	return providers.PartOptions{}
}

// wholeSum returns the Put checksum for a single-part object.
func (s *partSums) wholeSum(alg providers.ChecksumAlgorithm) providers.Checksum {
	return s.option(alg).Checksum
}

// doneInfo is a finished part as the upload keeps it.
type doneInfo struct {
	part providers.Part
	off  int64
	crc  uint32
}

// uploadState is one multipart upload in progress.
type uploadState struct {
	u   *Uploader
	key string
	up  providers.Upload
	alg providers.ChecksumAlgorithm // what parts carry
	put providers.PutOptions

	mu sync.Mutex
	// GUARDED_BY(mu): everything below. mu is held across SaveUpload so
	// journal saves are ordered.
	done     map[int]doneInfo
	journal  *UploadJournal // nil when not journaling
	finished int            // parts finished by this call
}

// sendPart uploads part n of size bytes from r (its checksums in sums) and
// records it.
func (s *uploadState) sendPart(ctx context.Context, n int, off int64, r io.ReadSeeker, size int64, sums *partSums) error {
	d, err := s.uploadPart(ctx, n, off, r, size, sums)
	if err != nil {
		return err
	}
	return s.finish(ctx, d)
}

// uploadPart uploads part n of size bytes from r (its checksums in sums)
// and checks what the store recorded; the caller records it with finish.
func (s *uploadState) uploadPart(ctx context.Context, n int, off int64, r io.ReadSeeker, size int64, sums *partSums) (doneInfo, error) {
	p, err := s.up.UploadPart(ctx, n, r, size, sums.option(s.alg))
	if err != nil {
		return doneInfo{}, err
	}
	if p.Size == 0 {
		p.Size = size
	}
	if p.Number == 0 {
		p.Number = n
	}
	if p.Size != size || p.Number != n {
		return doneInfo{}, providers.NewOpError("upload-part", s.key, providers.ErrSizeMismatch,
			fmt.Errorf("part %d: sent %d bytes, the store recorded part %d of %d", n, size, p.Number, p.Size))
	}
	return doneInfo{part: p, off: off, crc: sums.crc.Sum32()}, nil
}

// finish records a finished part, journals it, and runs the crash hooks.
func (s *uploadState) finish(ctx context.Context, d doneInfo) error {
	s.mu.Lock()
	s.done[d.part.Number] = d
	if s.journal != nil {
		s.journal.Parts = append(s.journal.Parts, JournalPart{
			Number: d.part.Number, Offset: d.off, Size: d.part.Size, ETag: d.part.ETag,
			Checksum: providers.CRC32C(d.crc),
		})
		slices.SortFunc(s.journal.Parts, func(a, b JournalPart) int { return a.Number - b.Number })
		s.journal.Updated = time.Now()
		if err := s.u.o.Journal.SaveUpload(ctx, s.journal); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("transfer: journaling part %d of %q: %w", d.part.Number, s.key, err)
		}
	}
	s.finished++
	k := s.finished
	s.mu.Unlock()
	if s.u.o.AfterPart != nil {
		s.u.o.AfterPart(k)
	}
	CrashPoint("after-part-" + strconv.Itoa(k))
	return nil
}

// complete checks that parts 1..count hold exactly total bytes and
// completes the upload with the combined CRC32C.
func (s *uploadState) complete(ctx context.Context, count int, total int64) (providers.ObjectInfo, error) {
	s.mu.Lock()
	parts := make([]providers.Part, 0, count)
	var (
		sum   int64
		crc   uint32
		first = true
	)
	for n := 1; n <= count; n++ {
		d, ok := s.done[n]
		if !ok {
			s.mu.Unlock()
			return providers.ObjectInfo{}, fmt.Errorf("transfer: part %d of %q missing before complete", n, s.key)
		}
		parts = append(parts, d.part)
		if first {
			crc, first = d.crc, false
		} else {
			crc = providers.CombineCRC32C(crc, d.crc, d.part.Size)
		}
		sum += d.part.Size
	}
	s.mu.Unlock()
	if sum != total {
		return providers.ObjectInfo{}, providers.NewOpError("complete-multipart", s.key, providers.ErrSizeMismatch,
			fmt.Errorf("parts hold %d bytes, the source %d", sum, total))
	}
	whole := providers.CRC32C(crc)
	co := providers.CompleteOptions{Checksum: whole, IfMatch: s.put.IfMatch, IfNoneMatch: s.put.IfNoneMatch}
	if !s.put.Checksum.IsZero() {
		co.Checksum = s.put.Checksum
	}
	info, err := s.up.Complete(ctx, parts, co)
	if err != nil {
		return info, err
	}
	return withCRC(info, whole), nil
}

// withCRC records the whole object's CRC32C in info.Checksums.
func withCRC(info providers.ObjectInfo, crc providers.Checksum) providers.ObjectInfo {
	for _, c := range info.Checksums {
		if c.Algorithm == providers.ChecksumCRC32C {
			return info
		}
	}
	info.Checksums = append(slices.Clone(info.Checksums), crc)
	return info
}

// fail ends a failed upload: aborted and forgotten, unless it is journaled
// and the caller's ctx ended (then it stays resumable).
func (s *uploadState) fail(ctx context.Context, err error) error {
	if s.journal != nil && ctx.Err() != nil {
		return err
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if aerr := s.up.Abort(actx); aerr != nil {
		return errors.Join(err, fmt.Errorf("transfer: aborting the upload of %q: %w", s.key, aerr))
	}
	if s.journal != nil {
		if derr := s.u.o.Journal.DeleteUpload(actx, s.journal.Store, s.key); derr != nil {
			return errors.Join(err, derr)
		}
	}
	return err
}

// createOptions are the PutOptions CreateMultipart gets: the caller's
// metadata and content type, CRC32C mode when parts carry CRC32C.
func createOptions(put providers.PutOptions, alg providers.ChecksumAlgorithm) providers.PutOptions {
	co := providers.PutOptions{ContentType: put.ContentType, Metadata: put.Metadata, IfNoneMatch: put.IfNoneMatch}
	if alg == providers.ChecksumCRC32C {
		co.Checksum = providers.Checksum{Algorithm: providers.ChecksumCRC32C}
	}
	return co
}

// putOne uploads r (size bytes, already hashed into sums) with one Put.
func (u *Uploader) putOne(ctx context.Context, key string, r io.Reader, size int64, sums *partSums, alg providers.ChecksumAlgorithm, put providers.PutOptions) (providers.ObjectInfo, error) {
	if put.Checksum.IsZero() {
		put.Checksum = sums.wholeSum(alg)
	}
	info, err := u.st.Put(ctx, key, r, size, put)
	if err != nil {
		return info, err
	}
	return withCRC(info, providers.CRC32C(sums.crc.Sum32())), nil
}

// UploadFile uploads size bytes of f as key. src fingerprints f for the
// journal. Parts are read concurrently from f; see the package doc for part
// sizes, checksums, failure and resume.
func (u *Uploader) UploadFile(ctx context.Context, key string, f io.ReaderAt, size int64, src SourceFingerprint, put providers.PutOptions) (providers.ObjectInfo, error) {
	if size < 0 {
		return providers.ObjectInfo{}, providers.NewOpError("upload", key, providers.ErrInvalidArgument, fmt.Errorf("negative size %d", size))
	}
	caps := u.st.Capabilities()
	alg := partAlgorithm(caps)
	mp, isMP := u.st.(providers.Multiparter)
	multipart := isMP && caps.Multipart != providers.MultipartNone
	ps, err := filePartSize(size, u.o.PartSize, caps)
	if err != nil && multipart {
		return providers.ObjectInfo{}, err
	}
	if !multipart || size <= ps {
		if caps.MaxPutSize > 0 && size > caps.MaxPutSize {
			return providers.ObjectInfo{}, providers.NewOpError("upload", key, providers.ErrInvalidArgument,
				fmt.Errorf("%d bytes is over the store's largest Put (%d) and it has no multipart upload", size, caps.MaxPutSize))
		}
		sums := newPartSums(alg)
		if err := hashSection(f, 0, size, sums, make([]byte, min(hashBufSize, max(size, 1)))); err != nil {
			return providers.ObjectInfo{}, providers.NewOpError("upload", key, nil, err)
		}
		return u.putOne(ctx, key, io.NewSectionReader(f, 0, size), size, sums, alg, put)
	}
	count := int(ceilDiv(size, ps))
	s, err := u.startFile(ctx, mp, key, ps, src, put, alg)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	info, err := u.runFile(ctx, s, f, size, ps, count)
	if err != nil {
		return info, s.fail(ctx, err)
	}
	if s.journal != nil {
		if err := u.o.Journal.DeleteUpload(ctx, s.journal.Store, key); err != nil {
			return info, fmt.Errorf("transfer: %q uploaded, but its journal record stays: %w", key, err)
		}
	}
	return info, nil
}

// hashSection hashes size bytes of f from off into w through buf, failing
// when f is shorter.
func hashSection(f io.ReaderAt, off, size int64, w io.Writer, buf []byte) error {
	n, err := io.CopyBuffer(w, io.NewSectionReader(f, off, size), buf)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("source ended at %d bytes, %d expected: %w", off+n, off+size, providers.ErrSizeMismatch)
	}
	return nil
}

// hashBufSize is the read size of hashSection: large reads, few syscalls.
const hashBufSize = 1 << 20

// hashedPart is a part whose checksums are known, waiting for a sender.
type hashedPart struct {
	n         int
	off, size int64
	sums      *partSums
}

// runFile sends the parts not yet done and completes the upload. One
// goroutine hashes the parts in order (the checksum goes in the part's
// request headers), at most Concurrency parts ahead of the senders, so a
// sender never waits for a hash; Concurrency senders each upload a part and
// record it (finish: journal save, hooks) before taking the next, so a
// crash leaves at most Concurrency parts sent but not journaled.
func (u *Uploader) runFile(ctx context.Context, s *uploadState, f io.ReaderAt, size, ps int64, count int) (providers.ObjectInfo, error) {
	g, gctx := errgroup.WithContext(ctx)
	hashed := make(chan hashedPart, u.o.Concurrency)
	g.Go(func() error {
		defer close(hashed)
		buf := make([]byte, min(hashBufSize, ps))
		for n := 1; n <= count; n++ {
			s.mu.Lock()
			_, done := s.done[n]
			s.mu.Unlock()
			if done {
				continue
			}
			off := int64(n-1) * ps
			sz := min(ps, size-off)
			sums := newPartSums(s.alg)
			if err := gctx.Err(); err != nil {
				return err
			}
			if err := hashSection(f, off, sz, sums, buf); err != nil {
				return providers.NewOpError("upload-part", s.key, nil, err)
			}
			select {
			case hashed <- hashedPart{n: n, off: off, size: sz, sums: sums}:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range u.o.Concurrency {
		g.Go(func() error {
			for h := range hashed {
				if err := gctx.Err(); err != nil {
					return err // another part failed
				}
				if err := s.sendPart(gctx, h.n, h.off, io.NewSectionReader(f, h.off, h.size), h.size, h.sums); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return providers.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return providers.ObjectInfo{}, err
	}
	return s.complete(ctx, count, size)
}
