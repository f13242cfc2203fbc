package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
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
	Endpoint string // http://127.0.0.1:PORT/devstoreaccount1 (https:// with OAuth)
	Account  string // devstoreaccount1
	Key      string // the account key (base64)
	// OAuth: started with --oauth basic over HTTPS; Azure AD bearer tokens
	// (TokenCredential) are accepted besides the shared key and SAS.
	OAuth bool
	// CAFile is the PEM certificate the HTTPS server presents (self-signed,
	// made by the test, for 127.0.0.1); HTTPClient trusts it.
	CAFile     string
	caPool     *x509.CertPool
	proc       *process
	containers atomic.Int64
}

// Azurite returns this test binary's Azurite blob server, starting it on
// first use (and installing Azurite with npm if it is missing).
func Azurite(t testing.TB) *AzureServer {
	t.Helper()
	return azuriteSrv.get(t, "Azurite", func() (*AzureServer, error) { return startAzurite(false) })
}

// AzuriteOAuth returns a second Azurite of this test binary, started with
// `--oauth basic` over HTTPS with a self-signed certificate made here
// (Azurite accepts bearer tokens only over HTTPS). Clients must trust
// CAFile (HTTPClient does). Azurite checks a token's issuer, audience and
// lifetime, not its signature: see TokenCredential.
func AzuriteOAuth(t testing.TB) *AzureServer {
	t.Helper()
	return azuriteOAuthSrv.get(t, "Azurite (OAuth, HTTPS)", func() (*AzureServer, error) { return startAzurite(true) })
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

func startAzurite(oauth bool) (*AzureServer, error) {
	bin, err := AzuriteBin(context.Background())
	if err != nil {
		return nil, err
	}
	return startAttempts(func() (*AzureServer, error) { return startAzuriteOnce(bin, oauth) })
}

func startAzuriteOnce(bin string, oauth bool) (*AzureServer, error) {
	dir, err := os.MkdirTemp("", "byob-azurite-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	hostPort := "127.0.0.1:" + itoa(port)
	scheme := "http"
	if oauth {
		scheme = "https"
	}
	s := &AzureServer{
		Endpoint: scheme + "://" + hostPort + "/" + AzuriteAccount,
		Account:  AzuriteAccount,
		Key:      AzuriteKey,
		OAuth:    oauth,
	}
	args := []string{
		"--blobHost", "127.0.0.1", "--blobPort", itoa(port),
		"--location", filepath.Join(dir, "data"),
		"--skipApiVersionCheck", "--loose", "--silent",
		"--disableTelemetry", "--disableProductStyleUrl",
	}
	if oauth {
		// Made per run, in the server's folder (removed when it stops).
		certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		certPEM, err := selfSigned(dir, "byob test Azurite", []string{"localhost"}, "cert.pem", "key.pem")
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(certPEM)
		s.CAFile, s.caPool = certFile, pool
		args = append(args, "--oauth", "basic", "--cert", certFile, "--key", keyFile)
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
	client := s.HTTPClient()
	client.Timeout = 2 * time.Second
	if err := waitHTTP(context.Background(), p, client, scheme+"://"+hostPort+"/"+AzuriteAccount+"?comp=list", 60*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return s, nil
}

// HTTPClient is a plain HTTP client that can only reach loopback (and,
// for the HTTPS server, trusts its certificate and nothing else).
func (s *AzureServer) HTTPClient() *http.Client {
	tr := &http.Transport{DialContext: LoopbackDialer(), MaxIdleConnsPerHost: 64}
	if s.caPool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.caPool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}
}

// TokenCredential returns an azcore.TokenCredential whose tokens the
// OAuth server accepts: unsigned-but-well-formed JWTs with the storage
// audience, an Azure AD (sts.windows.net) issuer and a one-hour lifetime
// (Azurite --oauth basic checks those, not the signature). Nothing is
// fetched from any network. Each GetToken is counted in *calls when set.
func (s *AzureServer) TokenCredential(calls *atomic.Int64) azcore.TokenCredential {
	return fakeTokenCredential{calls: calls}
}

type fakeTokenCredential struct{ calls *atomic.Int64 }

// FakeTenant is the tenant of TokenCredential's tokens.
const FakeTenant = "72f988bf-0000-4000-8000-2d7cd011db47"

func (c fakeTokenCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if c.calls != nil {
		c.calls.Add(1)
	}
	now := time.Now()
	exp := now.Add(time.Hour)
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	claims := map[string]any{
		"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/" + FakeTenant + "/",
		"iat": now.Add(-time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": exp.Unix(),
		"oid": "0b9f1b9a-0000-4000-8000-00000000b10b", "tid": FakeTenant, "sub": "byob-test", "ver": "1.0",
	}
	tok := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString([]byte("not-a-signature"))
	return azcore.AccessToken{Token: tok, ExpiresOn: exp}, nil
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

// TokenAddress returns an az:// address for container with neither key nor
// SAS: the store authenticates with a TokenCredential (azure.Options.Credential).
func (s *AzureServer) TokenAddress(container string) string {
	return fmt.Sprintf("az://%s/%s?endpoint=%s", s.Account, container, url.QueryEscape(s.Endpoint))
}

// HostPort is the server's 127.0.0.1:PORT.
func (s *AzureServer) HostPort() string {
	u, _ := url.Parse(s.Endpoint)
	return u.Host
}
