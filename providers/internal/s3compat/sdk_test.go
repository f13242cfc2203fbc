package s3compat

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

func TestSDKChoice(t *testing.T) {
	for in, want := range map[string]string{
		"s3://bucket1/x": "aws",
		"s3://K:S@s3.us-west-2.amazonaws.com/bucket1":              "aws",
		"s3://K:S@minio.internal:9000/bucket1":                     "minio",
		"s3://K:S@10.0.0.5/bucket1":                                "minio",
		"s3://K:S@minio.internal:9000/bucket1?sdk=aws":             "aws",
		"s3://bucket1?sdk=minio":                                   "minio",
		"s3://bucket1?endpoint=http://127.0.0.1:9000":              "minio",
		"s3://bucket1?endpoint=https://s3.eu-west-1.amazonaws.com": "aws",
		"cw://K:S@cwobject.com/bucket1":                            "aws",
	} {
		a, err := providers.ParseAddress(in)
		require.NoError(t, err, in)
		require.Equal(t, want, SDK(a), in)
	}
}
