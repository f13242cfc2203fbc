package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(holderEnv); path != "" {
		runHolder(path) // this binary re-run as a writer holding a file open
		return
	}
	testenv.Main(m)
}

// The Go caches, resolved before testenv.Main isolates HOME (package
// variables are initialized before TestMain runs).
var (
	goModCache   = goEnvDefault("GOMODCACHE", func() string { return filepath.Join(goPath(), "pkg", "mod") })
	goBuildCache = goEnvDefault("GOCACHE", func() string { d, _ := os.UserCacheDir(); return filepath.Join(d, "go-build") })
)

func goPath() string {
	if p := os.Getenv("GOPATH"); p != "" {
		return strings.Split(p, string(os.PathListSeparator))[0]
	}
	h, _ := os.UserHomeDir()
	return filepath.Join(h, "go")
}

func goEnvDefault(name string, def func() string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def()
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// byobBin builds cmd/byob once per test binary.
func byobBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		// make test builds bin/byob first and passes it in BYOB_BIN.
		if b := os.Getenv("BYOB_BIN"); b != "" {
			binPath = b
			return
		}
		dir, err := os.MkdirTemp("", "byob-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "byob")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Dir(filepath.Dir(file))
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/byob")
		cmd.Dir = root
		// testenv.Main moved HOME: keep the real module and build caches.
		cmd.Env = append(os.Environ(), "GOMODCACHE="+goModCache, "GOCACHE="+goBuildCache)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building byob: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// byob runs the binary with args and extra environment.
func byob(t testing.TB, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(byobBin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Logf("slow: byob %v took %v", redactArgs(args), d.Round(time.Millisecond))
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run byob: %v", err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// redactArgs redacts addresses for logs with the product's own redaction
// (providers.RedactText: userinfo up to the last "@", queries, signatures):
// credentials never reach test output.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = providers.RedactText(a)
	}
	return out
}
