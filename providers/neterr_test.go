package providers

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// IsNetErr is the one test of "the server could not be reached or the
// transfer broke" every backend maps to ErrUnavailable.
func TestIsNetErr(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("read: %w", syscall.ECONNRESET),
		&os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED},
		io.ErrUnexpectedEOF, io.EOF,
		fmt.Errorf("deadline: %w", os.ErrDeadlineExceeded),
	} {
		require.True(t, IsNetErr(err), "%v", err)
	}
	for _, err := range []error{errors.New("AccessDenied"), ErrNotExist, ErrPrecondition} {
		require.False(t, IsNetErr(err), "%v", err)
	}
}
