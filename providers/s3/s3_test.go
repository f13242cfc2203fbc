package s3

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers/internal/s3compat/s3compattest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestBackend runs storetest's conformance suite and the S3 behaviour
// tests shared with the other S3 backend.
func TestBackend(t *testing.T) {
	s3compattest.Run(t, Open, func(st *Store) bool { return st.ep.PathStyle })
}

func TestResolveEndpoint(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	for _, tc := range []struct {
		addr            string
		url, region     string
		path, aws, cw13 bool
	}{
		{"s3://K:S@minio.local:9000/bkt?tls=false", "http://minio.local:9000", "", true, false, false},
		{"s3://K:S@s3.eu-west-3.amazonaws.com/bkt", "https://s3.eu-west-3.amazonaws.com", "eu-west-3", false, true, false},
		{"s3://K:S@s3.amazonaws.com/bkt", "https://s3.amazonaws.com", "", false, true, false},
		{"s3://bucket/path", "", "", false, true, false},
		{"s3://bucket/path?region=ap-south-1", "", "ap-south-1", false, true, false},
		{"cw://K:S@cwobject.com/bucket", "https://cwobject.com", "", false, false, true},
		{"cw://K:S@bucket", "https://cwobject.com", "", false, false, true},
		{"cw://K:S@cwlota.com/bucket?tls=false", "http://cwlota.com", "", false, false, false},
		{"cw://K:S@bucket?endpoint=https://us-east-04a.cwobject.com", "https://us-east-04a.cwobject.com", "", false, false, true},
		{"s3://K:S@bucket?endpoint=http://127.0.0.1:9000", "http://127.0.0.1:9000", "", true, false, false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			a := s3compattest.Parse(t, tc.addr)
			ep, err := resolveEndpoint(a, Options{})
			require.NoError(t, err)
			require.Equal(t, tc.url, ep.URL)
			require.Equal(t, tc.region, ep.Region)
			require.Equal(t, tc.path, ep.PathStyle)
			require.Equal(t, tc.aws, ep.AWS)
			require.Equal(t, tc.cw13, ep.CoreWeave)
			tr, err := buildTransport(Options{}, ep)
			require.NoError(t, err)
			want := uint16(0x0303)
			if tc.cw13 {
				want = 0x0304
			}
			require.Equal(t, want, tr.TLSClientConfig.MinVersion)
			st, err := Open(context.Background(), a, Options{})
			require.NoError(t, err)
			require.Equal(t, tc.aws, st.Capabilities().OddKeys)
			if tc.region == "" {
				require.Equal(t, "us-east-1", st.client.Options().Region)
			}
		})
	}
	t.Setenv("AWS_REGION", "eu-north-1")
	ep, err := resolveEndpoint(s3compattest.Parse(t, "s3://K:S@s3.eu-west-3.amazonaws.com/bkt"), Options{})
	require.NoError(t, err)
	require.Equal(t, "eu-north-1", ep.Region)
}
