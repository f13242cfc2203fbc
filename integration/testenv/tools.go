package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Pinned tool versions.
const (
	MinIOModule = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
)

var toolsDirOnce = sync.OnceValue(func() string {
	if d := os.Getenv("BYOB_TOOLS_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "byob", "tools")
	}
	return filepath.Join(os.TempDir(), "byob-tools")
})

// ToolsDir is where tools are installed (bin/ below it).
func ToolsDir() string { return toolsDirOnce() }

// GoInstall makes sure bin/name exists in ToolsDir, installing module with
// `go install` if not. Parallel callers (other test binaries) wait on a file
// lock and reuse the result.
func GoInstall(ctx context.Context, name, module string) (string, error) {
	bin := filepath.Join(ToolsDir(), "bin", name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Join(ToolsDir(), "bin"), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(ToolsDir(), ".install-"+name+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", module)
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Join(ToolsDir(), "bin"), "GOFLAGS=-buildvcs=false")
	if origHome != "" {
		cmd.Env = append(cmd.Env, "HOME="+origHome)
	}
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		tail := out
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return "", fmt.Errorf("go install %s: %w\n%s", module, err, tail)
	}
	return bin, nil
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
