package wrap

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// noSleep is a policy that retries at once, recording the waits it skipped.
func noSleep(attempts int, waits *[]time.Duration) RetryPolicy {
	return RetryPolicy{MaxAttempts: attempts, Initial: time.Millisecond, Max: 8 * time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error {
			if waits != nil {
				*waits = append(*waits, d)
			}
			return ctx.Err()
		}}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestRetryable(t *testing.T) {
	op := func(kind error) error { return providers.NewOpError("get", "k", kind, errors.New("cause")) }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"throttled", op(providers.ErrThrottled), true},
		{"server", op(providers.ErrServer), true},
		{"unavailable", op(providers.ErrUnavailable), true},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"net timeout", fmt.Errorf("x: %w", timeoutErr{}), true},
		{"not exist", op(providers.ErrNotExist), false},
		{"permission", op(providers.ErrPermission), false},
		{"precondition", op(providers.ErrPrecondition), false},
		{"invalid argument", op(providers.ErrInvalidArgument), false},
		{"invalid key", op(providers.ErrInvalidKey), false},
		{"invalid range", op(providers.ErrInvalidRange), false},
		{"expired without refresh", op(providers.ErrExpired), false},
		{"upload not found", op(providers.ErrUploadNotFound), false},
		{"canceled", providers.NewOpError("get", "k", nil, context.Canceled), false},
		{"deadline (also a net timeout)", fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{"unclassified", errors.New("something"), false},
		{"permanent wins", &permanentError{op(providers.ErrServer)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Retryable(tt.err))
		})
	}
}

func TestDo(t *testing.T) {
	ctx := context.Background()
	server := providers.NewOpError("put", "k", providers.ErrServer, nil)
	t.Run("retries until success", func(t *testing.T) {
		var waits []time.Duration
		n := 0
		err := Do(ctx, noSleep(5, &waits), func(context.Context) error {
			n++
			if n < 4 {
				return server
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, 4, n)
		require.Len(t, waits, 3)
		for i, w := range waits {
			require.Less(t, w, time.Millisecond<<i, "full jitter under the doubling ceiling")
		}
	})
	t.Run("gives up after MaxAttempts", func(t *testing.T) {
		n := 0
		err := Do(ctx, noSleep(3, nil), func(context.Context) error { n++; return server })
		require.ErrorIs(t, err, providers.ErrServer)
		require.Equal(t, 3, n)
	})
	t.Run("permanent not retried", func(t *testing.T) {
		n := 0
		err := Do(ctx, noSleep(5, nil), func(context.Context) error {
			n++
			return providers.NewOpError("get", "k", providers.ErrNotExist, nil)
		})
		require.ErrorIs(t, err, providers.ErrNotExist)
		require.Equal(t, 1, n)
	})
	t.Run("expired calls refresh", func(t *testing.T) {
		p := noSleep(5, nil)
		refreshed, n := 0, 0
		p.Refresh = func(context.Context) error { refreshed++; return nil }
		err := Do(ctx, p, func(context.Context) error {
			n++
			if refreshed == 0 {
				return providers.NewOpError("get", "k", providers.ErrExpired, nil)
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, 1, refreshed)
		require.Equal(t, 2, n)
	})
	t.Run("expired without refresh is permanent", func(t *testing.T) {
		n := 0
		err := Do(ctx, noSleep(5, nil), func(context.Context) error {
			n++
			return providers.NewOpError("get", "k", providers.ErrExpired, nil)
		})
		require.ErrorIs(t, err, providers.ErrExpired)
		require.Equal(t, 1, n)
	})
	t.Run("cancelled ctx stops", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		n := 0
		err := Do(cctx, noSleep(5, nil), func(context.Context) error { n++; cancel(); return server })
		require.ErrorIs(t, err, providers.ErrServer)
		require.Equal(t, 1, n)
	})
	t.Run("default backoff is bounded", func(t *testing.T) {
		p := DefaultRetryPolicy()
		for k := 1; k < 40; k++ {
			require.Less(t, p.backoff(k), p.Max+1)
		}
	})
}

func TestCRC32CCombine(t *testing.T) {
	data := make([]byte, 1<<20+37)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	whole := crc32.Checksum(data, providers.CRC32CTable)
	for _, cut := range []int{0, 1, 7, 4096, 1 << 19, len(data) - 1, len(data)} {
		a := crc32.Checksum(data[:cut], providers.CRC32CTable)
		b := crc32.Checksum(data[cut:], providers.CRC32CTable)
		require.Equal(t, whole, providers.CombineCRC32C(a, b, int64(len(data)-cut)), "cut at %d", cut)
	}
}
