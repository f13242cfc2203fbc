package testenv

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFakeGCSStartsAndServes(t *testing.T) {
	s := FakeGCS(t)
	require.True(t, strings.HasPrefix(s.URL, "http://127.0.0.1:"))
	require.Same(t, s, FakeGCS(t), "one server per test binary")
	b := s.NewBucket(t)
	resp, err := s.HTTPClient().Get(s.URL + "/storage/v1/b/" + b)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.NotEqual(t, b, s.NewBucket(t), "bucket names are unique")
}
