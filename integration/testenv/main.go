package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	mu      sync.Mutex
	running []*process // GUARDED_BY(mu): servers to stop at exit

	origHome = os.Getenv("HOME")
)

// Main isolates the environment, runs the package's tests, stops every
// server this binary started and exits with the tests' code.
func Main(m *testing.M) {
	cleanup := Isolate()
	code := m.Run()
	StopAll()
	cleanup()
	os.Exit(code)
}

// Isolate points HOME, XDG_*, byob's cache and runtime directories and the
// AWS/GCP/Azure config locations at an empty temporary folder and disables
// cloud metadata probes. It returns a
// function that removes the folder.
func Isolate() func() {
	dir, err := os.MkdirTemp("", "byob-home-")
	if err != nil {
		panic(err)
	}
	// Resolve the tools dir from the real environment before HOME moves.
	_ = ToolsDir()
	set := map[string]string{
		"HOME":                        dir,
		"XDG_CONFIG_HOME":             filepath.Join(dir, ".config"),
		"XDG_CACHE_HOME":              filepath.Join(dir, ".cache"),
		"XDG_DATA_HOME":               filepath.Join(dir, ".local", "share"),
		"XDG_RUNTIME_DIR":             filepath.Join(dir, "run"),
		"AWS_CONFIG_FILE":             filepath.Join(dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "aws-credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_REGION":                  "us-east-1",
		"CLOUDSDK_CONFIG":             filepath.Join(dir, "gcloud"),
		// Google's metadata probe goes to loopback port 1: refused at once.
		"GCE_METADATA_HOST": "127.0.0.1:1",
		"GCE_METADATA_IP":   "127.0.0.1:1",
		"NO_GCE_CHECK":      "true",
		"AZURE_CONFIG_DIR":  filepath.Join(dir, "azure"),
		"BYOB_CONFIG":       "",
		"BYOB_STORE":        "",
		// Root's defaults are /var/cache/byob and /run/byob: tests keep
		// theirs here instead.
		"BYOB_CACHE_DIR":   filepath.Join(dir, ".cache", "byob"),
		"BYOB_RUNTIME_DIR": filepath.Join(dir, "run", "byob"),
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"GOOGLE_APPLICATION_CREDENTIALS", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_CLIENT_ID",
		"AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "BUCKET", "GORILLA_FILE_STORE", "BUCKET_PATH", "STORAGE_EMULATOR_HOST"} {
		os.Unsetenv(k)
	}
	for k, v := range set {
		if v == "" {
			os.Unsetenv(k)
			continue
		}
		os.Setenv(k, v)
	}
	for _, d := range []string{set["XDG_CONFIG_HOME"], set["XDG_CACHE_HOME"], set["XDG_RUNTIME_DIR"]} {
		os.MkdirAll(d, 0o700)
	}
	return func() { os.RemoveAll(dir) }
}

// StopAll stops every server this process started.
func StopAll() {
	mu.Lock()
	ps := running
	running = nil
	mu.Unlock()
	for _, p := range ps {
		p.stop()
	}
}

// Unavailable fails the test under CI and skips it otherwise: for a server
// or a kernel feature the test needs and this machine lacks.
func Unavailable(t testing.TB, what string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s unavailable: %v", what, err)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a missing server is a failure)", msg)
	}
	t.Skipf("%s (set CI=true to make this a failure; `make tools` installs the servers)", msg)
}

func getenv(k string) string { return os.Getenv(k) }

// lazy is a server of this test binary, started on first use. It remembers
// the outcome, a failure included, so a server that cannot start is not
// tried again (an npm install, three start attempts) by every later test.
type lazy[T any] struct {
	mu   sync.Mutex
	done bool // GUARDED_BY(mu)
	srv  T    // GUARDED_BY(mu)
	err  error
}

// get returns the server, starting it with start the first time; a start
// that failed makes every caller unavailable (a failure under CI=true).
func (l *lazy[T]) get(t testing.TB, what string, start func() (T, error)) T {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.srv, l.err = start()
		l.done = true
	}
	if l.err != nil {
		Unavailable(t, what, l.err)
	}
	return l.srv
}

// The servers, one of each kind per test binary.
var (
	minioPlain      lazy[*S3Server]
	minioSecure     lazy[*S3Server]
	azuriteSrv      lazy[*AzureServer]
	azuriteOAuthSrv lazy[*AzureServer]
	gcsSrv          lazy[*GCSServer]
)
