package integration

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Arguments logged by the tests never show a secret: a key after an "@" in
// the user part, a SAS signature in the query.
func TestRedactArgs(t *testing.T) {
	args := []string{
		"gs://sa@proj.iam.gserviceaccount.com:KEYSECRET@bucket/p",
		"az://acct/cont?sv=2024&sig=SIGSECRET",
		"s3://AKID:S3SECRET@127.0.0.1:9000/b?region=us-east-1",
		"--progress=false",
	}
	got := strings.Join(redactArgs(args), " ")
	for _, s := range []string{"KEYSECRET", "SIGSECRET", "S3SECRET"} {
		require.NotContains(t, got, s)
	}
	require.Contains(t, got, "--progress=false")
	require.Contains(t, got, "127.0.0.1:9000/b")
}
