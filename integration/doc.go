// Package integration holds the end-to-end tests and benchmarks: the built
// byob binary against real servers (MinIO now; fake-gcs-server, Azurite and
// FUSE mounts later) started by integration/testenv on 127.0.0.1.
package integration
