package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/byobfs/byob/cache"
	"github.com/byobfs/byob/cmd/internal/mounts"
	byobfs "github.com/byobfs/byob/fs"
)

// The control socket lets other byob commands ask a running mount what only
// it knows (its cache index is held by its process) and ask it to unmount.
// One request line, one JSON answer line:
//
//	status          pid and mountpoint: the mount answers, so it is alive
//	pending         write-back data acknowledged and not uploaded yet
//	stats           its cache's statistics
//	unmount         unmount unless busy (then: busy, and the open files)
//	unmount force   unmount; when busy, detach at once and keep serving the
//	                open files until they are closed (--drain-timeout)
//
// The socket is <runtime dir>/<mount id>.sock (mounts.SocketPath): the
// runtime directory is private to the mounting user, and the socket 0600.
type controlAnswer struct {
	OK      bool                   `json:"ok"`
	Error   string                 `json:"error,omitempty"`
	PID     int                    `json:"pid,omitempty"`
	Mount   string                 `json:"mountpoint,omitempty"`
	Pending []byobfs.PendingUpload `json:"pending,omitempty"`
	Stats   *cache.Stats           `json:"stats,omitempty"`
	// Busy: an unmount was refused (or, forced, detached) while these
	// files were open.
	Busy bool              `json:"busy,omitempty"`
	Open []mounts.OpenFile `json:"open,omitempty"`
}

// serveControl answers requests on the unix socket path with handle until
// the returned stop function is called.
func serveControl(path string, handle func(ctx context.Context, req string) controlAnswer) (stop func(), err error) {
	os.Remove(path) // a socket left by a dead mount (the directory is private)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				ans := handle(ctx, strings.TrimSpace(line))
				c.SetWriteDeadline(time.Now().Add(30 * time.Second))
				json.NewEncoder(c).Encode(ans)
			}(conn)
		}
	}()
	return func() { cancel(); l.Close(); os.Remove(path) }, nil
}

// errNoAnswer: nothing answers on the control socket.
var errNoAnswer = errors.New("the mount does not answer on its control socket")

// askMount sends one request to the mount whose control socket is socket
// and waits for its answer (an unmount answers once the mount is
// unmounted or found busy).
func askMount(socket, req string) (controlAnswer, error) {
	var ans controlAnswer
	conn, err := net.DialTimeout("unix", socket, 2*time.Second)
	if err != nil {
		return ans, fmt.Errorf("%w: %v", errNoAnswer, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := fmt.Fprintln(conn, req); err != nil {
		return ans, err
	}
	if err := json.NewDecoder(conn).Decode(&ans); err != nil {
		return ans, err
	}
	if !ans.OK && !ans.Busy {
		return ans, fmt.Errorf("the mount answered: %s", ans.Error)
	}
	return ans, nil
}
