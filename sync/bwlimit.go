package sync

import (
	"context"
	"io"
	gosync "sync"
	"time"
)

// limiter is a token bucket shared by every transfer: rate bytes per
// second, bursts of up to one second's worth.
type limiter struct {
	rate float64
	// now and sleep are the clock (time.Now, sleepCtx); tests replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	mu    gosync.Mutex
	// tokens may go negative: a reader that took more than there was
	// waits until the bucket refills. GUARDED_BY(mu).
	tokens float64
	last   time.Time // GUARDED_BY(mu)
}

func newLimiter(bytesPerSec int64) *limiter {
	if bytesPerSec <= 0 {
		return nil
	}
	return &limiter{rate: float64(bytesPerSec), tokens: float64(bytesPerSec), last: limiterClock.now(),
		now: limiterClock.now, sleep: limiterClock.sleep}
}

// chunk caps one read so a reader does not take a huge debt at once.
func (l *limiter) chunk() int { return max(int(l.rate/8), 4096) }

// take consumes n tokens and sleeps while the bucket is in debt.
func (l *limiter) take(ctx context.Context, n int) error {
	l.mu.Lock()
	now := l.now()
	l.tokens = min(l.tokens+now.Sub(l.last).Seconds()*l.rate, l.rate)
	l.last = now
	l.tokens -= float64(n)
	wait := time.Duration(0)
	if l.tokens < 0 {
		wait = time.Duration(-l.tokens / l.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if wait == 0 {
		return nil
	}
	return l.sleep(ctx, wait)
}

// limiterClock is the clock new limiters use (tests swap it).
var limiterClock = struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}{time.Now, sleepCtx}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type limitedReader struct {
	ctx context.Context
	l   *limiter
	r   io.ReadCloser
}

func (r *limitedReader) Read(p []byte) (int, error) {
	if len(p) > r.l.chunk() {
		p = p[:r.l.chunk()]
	}
	n, err := r.r.Read(p)
	if n > 0 {
		if werr := r.l.take(r.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

func (r *limitedReader) Close() error { return r.r.Close() }

// limitedSource rate-limits an UploadSource's readers.
type limitedSource struct {
	UploadSource
	l *limiter
}

func (s limitedSource) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	rc, err := s.UploadSource.OpenRange(ctx, off, n)
	if err != nil {
		return nil, err
	}
	return &limitedReader{ctx: ctx, l: s.l, r: rc}, nil
}

// limitedWriterAt rate-limits downloads.
type limitedWriterAt struct {
	ctx context.Context
	l   *limiter
	w   io.WriterAt
}

func (w limitedWriterAt) WriteAt(p []byte, off int64) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), w.l.chunk())
		if err := w.l.take(w.ctx, n); err != nil {
			return written, err
		}
		m, err := w.w.WriteAt(p[:n], off)
		written += m
		if err != nil {
			return written, err
		}
		p, off = p[n:], off+int64(n)
	}
	return written, nil
}
