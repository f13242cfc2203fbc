package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// FakeGCSModule is the pinned fake-gcs-server (a GCS JSON/XML API emulator).
const FakeGCSModule = "github.com/fsouza/fake-gcs-server@v1.56.1"

// GCSServer is a running fake-gcs-server on 127.0.0.1, in-memory backend.
type GCSServer struct {
	// URL is http://127.0.0.1:PORT: the value of ?endpoint= in a gs://
	// address, and (without the scheme) of STORAGE_EMULATOR_HOST.
	URL     string
	proc    *process
	buckets atomic.Int64
}

// FakeGCS returns this test binary's fake-gcs-server, installing and
// starting it on first use. It fails the test under CI=true when the server
// cannot be started, and skips it otherwise.
func FakeGCS(t testing.TB) *GCSServer {
	t.Helper()
	return gcsSrv.get(t, "fake-gcs-server", startFakeGCS)
}

func startFakeGCS() (*GCSServer, error) {
	bin, err := GoInstall(context.Background(), "fake-gcs-server", FakeGCSModule)
	if err != nil {
		return nil, err
	}
	return startAttempts(func() (*GCSServer, error) { return startFakeGCSOnce(bin) })
}

func startFakeGCSOnce(bin string) (*GCSServer, error) {
	dir, err := os.MkdirTemp("", "byob-fakegcs-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	hostPort := "127.0.0.1:" + itoa(port)
	s := &GCSServer{URL: "http://" + hostPort}
	args := []string{
		"-scheme", "http",
		"-host", "127.0.0.1",
		"-port", itoa(port),
		"-backend", "memory",
		"-public-host", hostPort,
		"-external-url", s.URL,
		"-log-level", "warn",
	}
	env := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	p, err := startProcess("fake-gcs-server", dir, env, bin, args...)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.proc = p
	if err := waitHTTP(context.Background(), p, s.HTTPClient(), s.URL+"/storage/v1/b", 60*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return s, nil
}

// HTTPClient is a plain client that can only dial loopback addresses.
func (s *GCSServer) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: LoopbackDialer(), MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
}

// EmulatorHost is host:port, the form STORAGE_EMULATOR_HOST takes.
func (s *GCSServer) EmulatorHost() string { return s.URL[len("http://"):] }

// NewBucket creates a bucket with a unique name for one test, through the
// JSON API (POST /storage/v1/b?project=test).
func (s *GCSServer) NewBucket(t testing.TB) string {
	t.Helper()
	n := s.buckets.Add(1)
	name := fmt.Sprintf("t%d-%d", os.Getpid(), n)
	body, _ := json.Marshal(map[string]string{"name": name})
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL+"/storage/v1/b?project=test", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
		t.Fatalf("create bucket %s: HTTP %d: %s", name, resp.StatusCode, b)
	}
	return name
}

// Address returns a gs:// address for bucket on this server, without
// credentials (the emulator accepts unauthenticated requests).
func (s *GCSServer) Address(bucket string) string {
	return "gs://" + bucket + "?endpoint=" + s.URL
}
