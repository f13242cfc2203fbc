package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	byobfs "github.com/byobfs/byob/fs"
)

// The control socket lets commands that need a running mount's state ask
// the mount itself: its cache index is held by the mount's process. One
// request line ("pending" or "unmount"), one JSON answer line. The socket
// lives in the mount's cache directory, mode 0600 (root or the mounting
// user only).
const controlSocket = "control.sock"

type controlAnswer struct {
	Pending []byobfs.PendingUpload `json:"pending,omitempty"`
	OK      bool                   `json:"ok"`
	Error   string                 `json:"error,omitempty"`
}

// serveControl answers control requests until ctx ends. unmount is called
// for an "unmount" request.
func serveControl(ctx context.Context, dir string, fss []*byobfs.FS, unmount func()) (func(), error) {
	path := filepath.Join(dir, controlSocket)
	os.Remove(path) // a socket left by a killed mount
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	os.Chmod(path, 0o600)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				var ans controlAnswer
				switch strings.TrimSpace(line) {
				case "pending":
					ans.OK = true
					for _, f := range fss {
						p, err := f.Pending(ctx)
						if err != nil {
							ans.OK, ans.Error = false, err.Error()
						}
						ans.Pending = append(ans.Pending, p...)
					}
				case "unmount":
					ans.OK = true
					unmount()
				default:
					ans.Error = "unknown request"
				}
				json.NewEncoder(c).Encode(ans)
			}(conn)
		}
	}()
	return func() { l.Close(); os.Remove(path) }, nil
}

// askMount sends one request to the mount whose cache directory is dir.
func askMount(dir, req string) (controlAnswer, error) {
	var ans controlAnswer
	conn, err := net.DialTimeout("unix", filepath.Join(dir, controlSocket), 2*time.Second)
	if err != nil {
		return ans, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintln(conn, req); err != nil {
		return ans, err
	}
	if err := json.NewDecoder(conn).Decode(&ans); err != nil {
		return ans, err
	}
	if !ans.OK {
		return ans, fmt.Errorf("the mount answered: %s", ans.Error)
	}
	return ans, nil
}
