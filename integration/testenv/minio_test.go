package testenv

import (
	"context"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

func TestMinIOStartsAndServes(t *testing.T) {
	s := MinIO(t)
	require.True(t, strings.HasPrefix(s.Endpoint, "127.0.0.1:"))
	b := s.NewBucket(t)
	c, err := s.Client()
	require.NoError(t, err)
	ok, err := c.BucketExists(context.Background(), b)
	require.NoError(t, err)
	require.True(t, ok)
}

func TestMinIOTLSVirtualHosted(t *testing.T) {
	s := MinIOTLS(t)
	b := s.NewBucket(t)
	// Virtual-hosted style over TLS through the loopback dialer.
	resp, err := s.HTTPClient().Get("https://" + b + "." + MinIODomain + ":" + strings.Split(s.Endpoint, ":")[1] + "/")
	require.NoError(t, err)
	resp.Body.Close()
	// Anonymous: refused, but by MinIO for this bucket (403), proving TLS and routing work.
	require.Equal(t, 403, resp.StatusCode)
}

func TestLoopbackDialerRefusesOtherHosts(t *testing.T) {
	_, err := LoopbackDialer()(context.Background(), "tcp", "169.254.169.254:80")
	require.Error(t, err)
	require.Contains(t, err.Error(), "loopback")
}

func TestIsolateHidesCredentials(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
	cleanup := Isolate()
	defer cleanup()
	require.Empty(t, getenv("AWS_SECRET_ACCESS_KEY"))
	require.Equal(t, "true", getenv("AWS_EC2_METADATA_DISABLED"))
}

func TestMinIOAddAndRemoveUser(t *testing.T) {
	s := MinIO(t)
	b := s.NewBucket(t)
	other := s.NewBucket(t)
	u := s.AddUser(t, b)
	c, err := minio.New(s.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(u.AccessKey, u.SecretKey, ""),
		Region:    s.Region,
		Transport: s.HTTPClient().Transport,
	})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = c.PutObject(ctx, b, "k", strings.NewReader("v"), 1, minio.PutObjectOptions{})
	require.NoError(t, err)
	// The policy covers only its bucket.
	_, err = c.PutObject(ctx, other, "k", strings.NewReader("v"), 1, minio.PutObjectOptions{})
	require.Equal(t, "AccessDenied", minio.ToErrorResponse(err).Code)
	s.RemoveUser(t, u.AccessKey)
	_, err = c.StatObject(ctx, b, "k", minio.StatObjectOptions{})
	require.Error(t, err)
	require.Equal(t, 403, minio.ToErrorResponse(err).StatusCode)
}
