package s3

import (
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// Backend serves cw:// and the s3:// addresses that go to aws-sdk-go-v2
// (AWS endpoints, or ?sdk=aws; see s3compat.SDK).
func Backend() providers.Backend {
	return providers.Backend{
		Name:    "s3 (aws-sdk-go-v2)",
		Schemes: []string{"s3", "cw"},
		Accepts: func(a providers.Address) bool { return s3compat.SDK(a) == "aws" },
		Describe: func(a providers.Address) string {
			if a.Scheme == "cw" {
				return "CoreWeave (aws-sdk-go-v2, virtual-hosted style)"
			}
			return "s3 (aws-sdk-go-v2)"
		},
		FromEnv: s3compat.FromEnv,
		Open:    Opener,
	}
}
