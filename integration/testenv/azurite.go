package testenv

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// Azurite pins.
const (
	// AzuritePackage is the npm package installed into ToolsDir()/azurite.
	AzuritePackage = "azurite@3"
	// AzuriteAccount and AzuriteKey are Azurite's well-known development
	// account and key (public, documented by Microsoft).
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// AzureServer is a running Azurite blob service on 127.0.0.1.
type AzureServer struct {
	Endpoint   string // http://127.0.0.1:PORT/devstoreaccount1
	Account    string // devstoreaccount1
	Key        string // the account key (base64)
	proc       *process
	containers atomic.Int64
}

var (
	azuriteMu  sync.Mutex
	azuriteSrv *AzureServer // GUARDED_BY(azuriteMu)
)

// Azurite returns this test binary's Azurite blob server, starting it on
// first use (and installing Azurite with npm if it is missing).
func Azurite(t testing.TB) *AzureServer {
	t.Helper()
	azuriteMu.Lock()
	defer azuriteMu.Unlock()
	if azuriteSrv == nil {
		s, err := startAzurite()
		if err != nil {
			unavailable(t, "Azurite", err)
		}
		azuriteSrv = s
	}
	return azuriteSrv
}

// AzuriteBin returns the azurite-blob executable, running
// `npm install --prefix ToolsDir()/azurite azurite@3` under a file lock
// when it is missing.
func AzuriteBin(ctx context.Context) (string, error) {
	dir := filepath.Join(ToolsDir(), "azurite")
	bin := filepath.Join(dir, "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(ToolsDir(), ".install-azurite.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("azurite-blob is not installed and npm is not on PATH: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--prefix", dir, AzuritePackage)
	cmd.Env = os.Environ()
	if origHome != "" {
		cmd.Env = append(cmd.Env, "HOME="+origHome)
	}
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		tail := out
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return "", fmt.Errorf("npm install %s: %w\n%s", AzuritePackage, err, tail)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("npm install %s did not create %s: %w", AzuritePackage, bin, err)
	}
	return bin, nil
}

func startAzurite() (*AzureServer, error) {
	bin, err := AzuriteBin(context.Background())
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := startAzuriteOnce(bin)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startAzuriteOnce(bin string) (*AzureServer, error) {
	dir, err := os.MkdirTemp("", "byob-azurite-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	hostPort := "127.0.0.1:" + itoa(port)
	s := &AzureServer{
		Endpoint: "http://" + hostPort + "/" + AzuriteAccount,
		Account:  AzuriteAccount,
		Key:      AzuriteKey,
	}
	args := []string{
		"--blobHost", "127.0.0.1", "--blobPort", itoa(port),
		"--location", filepath.Join(dir, "data"),
		"--skipApiVersionCheck", "--loose", "--silent",
		"--disableTelemetry", "--disableProductStyleUrl",
	}
	env := []string{
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
	}
	p, err := startProcess("azurite", dir, env, bin, args...)
	if err != nil {
		return nil, err
	}
	s.proc = p
	// Any HTTP answer (even 400/403 for an unauthenticated request) means
	// the server is up; waitHTTP accepts status < 500.
	client := &http.Client{Transport: &http.Transport{DialContext: LoopbackDialer()}, Timeout: 2 * time.Second}
	if err := waitHTTP(context.Background(), p, client, "http://"+hostPort+"/"+AzuriteAccount+"?comp=list", 60*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return s, nil
}

// HTTPClient is a plain HTTP client that can only reach loopback.
func (s *AzureServer) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: LoopbackDialer(), MaxIdleConnsPerHost: 64}}
}

// Client returns an azblob service client authenticated with the shared
// key, for setting up fixtures. Its retries are off.
func (s *AzureServer) Client() (*azblob.Client, error) {
	cred, err := azblob.NewSharedKeyCredential(s.Account, s.Key)
	if err != nil {
		return nil, err
	}
	return azblob.NewClientWithSharedKeyCredential(s.Endpoint+"/", cred, &azblob.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Retry:     policy.RetryOptions{MaxRetries: -1},
			Transport: s.HTTPClient(),
		},
	})
}

// NewContainer creates a container with a unique name for one test and
// deletes it at cleanup.
func (s *AzureServer) NewContainer(t testing.TB) string {
	t.Helper()
	n := s.containers.Add(1)
	name := fmt.Sprintf("t%d-%d", os.Getpid(), n)
	c, err := s.Client()
	if err != nil {
		t.Fatalf("azblob client: %v", err)
	}
	if _, err := c.CreateContainer(context.Background(), name, nil); err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = c.ServiceClient().NewContainerClient(name).Delete(context.Background(), nil)
	})
	return name
}

// Address returns an az:// address for container on this server: the
// account key URL-encoded, ?endpoint= pointing at Azurite, extra query
// parameters ("k=v") appended.
func (s *AzureServer) Address(container string, extra ...string) string {
	q := "endpoint=" + url.QueryEscape(s.Endpoint)
	for _, e := range extra {
		q += "&" + e
	}
	return fmt.Sprintf("az://:%s@%s/%s?%s", url.QueryEscape(s.Key), s.Account, container, q)
}

// SASAddress returns an az:// address for container with no key and the
// given SAS token (without a leading '?').
func (s *AzureServer) SASAddress(container, sas string) string {
	return fmt.Sprintf("az://%s/%s?endpoint=%s&sas=%s", s.Account, container, url.QueryEscape(s.Endpoint), url.QueryEscape(strings.TrimPrefix(sas, "?")))
}

// HostPort is the server's 127.0.0.1:PORT.
func (s *AzureServer) HostPort() string {
	u, _ := url.Parse(s.Endpoint)
	return u.Host
}
