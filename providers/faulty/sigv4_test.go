package faulty

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/require"
)

// TestProxySigV4Verifies signs requests for the proxy's address with the
// AWS SDK's SigV4 signer and has the server behind the proxy verify them as
// MinIO does: re-sign what it received (its Host header, path, query and the
// signed headers) and compare.
func TestProxySigV4Verifies(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalr/XUtnFEMI+K7MDENG"}
	signer := v4.NewSigner()
	const payload = "UNSIGNED-PAYLOAD"
	verified := make(chan bool, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		_, signedPart, _ := strings.Cut(auth, "SignedHeaders=")
		signedList, _, _ := strings.Cut(signedPart, ",")
		when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil {
			verified <- false
			return
		}
		check, _ := http.NewRequest(r.Method, "http://"+r.Host+r.RequestURI, nil)
		check.Host = r.Host
		for _, h := range strings.Split(signedList, ";") {
			if h != "host" {
				check.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
			}
		}
		if err := signer.SignHTTP(context.Background(), creds, check, payload, "s3", "us-east-1", when); err != nil {
			verified <- false
			return
		}
		ok := check.Header.Get("Authorization") == auth
		verified <- ok
		if !ok {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	p, err := NewProxy(srv.URL, ProxyOptions{})
	require.NoError(t, err)
	defer p.Close()

	for _, path := range []string{"/bucket/plain", "/bucket/odd%20key/with%2Bplus~?list-type=2&prefix=a%2Fb"} {
		req, err := http.NewRequest(http.MethodGet, p.URL()+path, nil)
		require.NoError(t, err)
		req.Header.Set("X-Amz-Content-Sha256", payload)
		require.NoError(t, signer.SignHTTP(context.Background(), creds, req, payload, "s3", "us-east-1", time.Now()))
		resp, err := client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.True(t, <-verified, path)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
}
