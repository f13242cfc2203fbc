package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIODomain is the MINIO_DOMAIN every test server runs with, so
// virtual-hosted style requests (bucket.s3.byob.test:PORT) work when the
// client's dialer sends that name to 127.0.0.1 (see LoopbackDialer).
const MinIODomain = "s3.byob.test"

// S3Server is a running MinIO server on 127.0.0.1.
type S3Server struct {
	Endpoint  string // 127.0.0.1:PORT
	URL       string // http(s)://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
	Domain    string // MINIO_DOMAIN
	TLS       bool
	CACertPEM []byte // the self-signed CA when TLS
	proc      *process
	buckets   atomic.Int64
}

// MinIO returns this test binary's plain-HTTP MinIO server, starting it on
// first use.
func MinIO(t testing.TB) *S3Server {
	t.Helper()
	return minioPlain.get(t, "MinIO", func() (*S3Server, error) { return startMinIO(false) })
}

// MinIOTLS returns a MinIO server serving HTTPS with a self-signed
// certificate for 127.0.0.1, localhost and *.MinIODomain; CACertPEM holds it.
func MinIOTLS(t testing.TB) *S3Server {
	t.Helper()
	return minioSecure.get(t, "MinIO (TLS)", func() (*S3Server, error) { return startMinIO(true) })
}

func startMinIO(secure bool) (*S3Server, error) {
	ctx := context.Background()
	bin, err := GoInstall(ctx, "minio", MinIOModule)
	if err != nil {
		return nil, err
	}
	return startAttempts(func() (*S3Server, error) { return startMinIOOnce(bin, secure) })
}

func startMinIOOnce(bin string, secure bool) (*S3Server, error) {
	dir, err := os.MkdirTemp("", "byob-minio-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cport, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &S3Server{
		Endpoint:  "127.0.0.1:" + itoa(port),
		AccessKey: "byobtestadmin",
		SecretKey: "byob/test+Secret/Key+0123456789abcdefghij", // raw '/' and '+' like real AWS secrets
		Region:    "us-east-1",
		Domain:    MinIODomain,
		TLS:       secure,
	}
	args := []string{"server", "--quiet", "--address", s.Endpoint, "--console-address", "127.0.0.1:" + itoa(cport)}
	scheme := "http"
	if secure {
		certs := filepath.Join(dir, "certs")
		if s.CACertPEM, err = selfSigned(certs, "byob test MinIO", []string{"localhost", MinIODomain, "*." + MinIODomain}, "public.crt", "private.key"); err != nil {
			return nil, err
		}
		args = append(args, "--certs-dir", certs)
		scheme = "https"
	}
	s.URL = scheme + "://" + s.Endpoint
	args = append(args, filepath.Join(dir, "data"))
	env := []string{
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
		"MINIO_ROOT_USER=" + s.AccessKey,
		"MINIO_ROOT_PASSWORD=" + s.SecretKey,
		"MINIO_DOMAIN=" + s.Domain,
		"MINIO_REGION=" + s.Region,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CALLHOME_ENABLE=off",
		"MINIO_SCANNER_SPEED=slowest",
	}
	p, err := startProcess("minio", dir, env, bin, args...)
	if err != nil {
		return nil, err
	}
	s.proc = p
	if err := waitHTTP(context.Background(), p, s.HTTPClient(), s.URL+"/minio/health/live", 60*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return s, nil
}

// HTTPClient is a client that trusts the server's certificate (when TLS) and
// sends every *.MinIODomain name to 127.0.0.1.
func (s *S3Server) HTTPClient() *http.Client {
	tr := &http.Transport{DialContext: LoopbackDialer(), MaxIdleConnsPerHost: 64}
	if s.TLS {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(s.CACertPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}
}

// LoopbackDialer dials 127.0.0.1 for any host name ending in MinIODomain,
// "localhost" or an IP of 127.0.0.0/8, and refuses every other address, so a
// test can never send a packet off the machine through it.
func LoopbackDialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		switch {
		case host == MinIODomain || strings.HasSuffix(host, "."+MinIODomain) || host == "localhost":
			host = "127.0.0.1"
		default:
			ip := net.ParseIP(host)
			if ip == nil || !ip.IsLoopback() {
				return nil, fmt.Errorf("testenv: refusing to dial %q: tests stay on loopback", host)
			}
		}
		return d.DialContext(ctx, network, net.JoinHostPort(host, port))
	}
}

// Client returns a minio-go admin client for setting up fixtures.
func (s *S3Server) Client() (*minio.Client, error) {
	return minio.New(s.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Secure:    s.TLS,
		Region:    s.Region,
		Transport: s.HTTPClient().Transport,
	})
}

// NewBucket creates a bucket with a unique name for one test.
func (s *S3Server) NewBucket(t testing.TB) string {
	t.Helper()
	n := s.buckets.Add(1)
	name := fmt.Sprintf("t%d-%d", os.Getpid(), n)
	c, err := s.Client()
	if err != nil {
		t.Fatalf("minio client: %v", err)
	}
	if err := c.MakeBucket(context.Background(), name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("make bucket %s: %v", name, err)
	}
	return name
}

// Address returns an s3:// address for bucket on this server, with the
// secret URL-encoded.
func (s *S3Server) Address(bucket string, extra ...string) string {
	q := "region=" + s.Region
	if !s.TLS {
		q += "&tls=false"
	}
	for _, e := range extra {
		q += "&" + e
	}
	return fmt.Sprintf("s3://%s:%s@%s/%s?%s", s.AccessKey, strings.NewReplacer("/", "%2F", "+", "%2B").Replace(s.SecretKey), s.Endpoint, bucket, q)
}
