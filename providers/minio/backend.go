package minio

import (
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
)

// Backend serves the s3:// addresses that go to minio-go (any endpoint but
// AWS's, unless ?sdk=aws; see s3compat.SDK).
func Backend() providers.Backend {
	return providers.Backend{
		Name:    "s3 (minio-go)",
		Schemes: []string{"s3"},
		Accepts: func(a providers.Address) bool { return s3compat.SDK(a) == "minio" },
		FromEnv: s3compat.FromEnv,
		Open:    Opener,
	}
}
