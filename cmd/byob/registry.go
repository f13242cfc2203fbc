package main

import (
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/azure"
	"github.com/byobfs/byob/providers/gcs"
	"github.com/byobfs/byob/providers/local"
	"github.com/byobfs/byob/providers/minio"
	"github.com/byobfs/byob/providers/s3"
)

// newRegistry builds the one backend table of this process: a line per
// backend.
func newRegistry() *providers.Registry {
	r := providers.NewRegistry()
	r.Register(local.Backend())
	r.Register(s3.Backend())
	r.Register(minio.Backend())
	r.Register(gcs.Backend())
	r.Register(azure.Backend())
	return r
}
