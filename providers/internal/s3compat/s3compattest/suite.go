// Package s3compattest is the behaviour suite both S3 backends run against
// a real MinIO (integration/testenv): what storetest checks of every store,
// plus what is S3's own (ranges, conditions, checksums, multipart and
// multipart copy, presigned URLs, virtual-hosted and TLS endpoints,
// AWS_CA_BUNDLE, error mapping without secrets, no SDK retries, IMDS
// probing, MinIO's object/prefix conflicts). A backend's test file calls
// Run with its Open; its TestMain must be testenv.Main.
package s3compattest

import (
	"context"
	"testing"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/internal/s3compat"
	"github.com/byobfs/byob/providers/storetest"
)

// Store is what the suite needs of a backend's store.
type Store interface {
	providers.Store
	providers.Multiparter
	providers.Presigner
	providers.Closer
	Bucket() string
}

// Backend is one S3 backend under test.
type Backend struct {
	// Open opens the store of a's bucket with opts, without contacting the
	// server.
	Open func(ctx context.Context, a providers.Address, opts s3compat.Options) (Store, error)
	// PathStyle reports whether st addresses its bucket by path.
	PathStyle func(st Store) bool
}

// Run runs storetest's conformance suite, on a path-style and on a
// virtual-hosted store, and the S3 behaviour tests, each as a subtest, on
// the stores open (a backend's Open) returns; pathStyle reports whether
// one addresses its bucket by path.
func Run[S Store](t *testing.T, open func(context.Context, providers.Address, s3compat.Options) (S, error), pathStyle func(S) bool) {
	run(t, Backend{
		Open: func(ctx context.Context, a providers.Address, opts s3compat.Options) (Store, error) {
			st, err := open(ctx, a, opts)
			if err != nil {
				return nil, err
			}
			return st, nil
		},
		PathStyle: func(st Store) bool { return pathStyle(st.(S)) },
	})
}

func run(t *testing.T, b Backend) {
	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) providers.Store {
			st, _ := newTestStore(t, b)
			return st
		})
	})
	t.Run("ConformanceVirtualHosted", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) providers.Store { return newVirtualHostedStore(t, b) })
	})
	for _, tc := range []struct {
		name string
		test func(*testing.T, Backend)
	}{
		{"ReadWrite", testReadWrite},
		{"PutSizeMismatchStoresNothing", testPutSizeMismatchStoresNothing},
		{"ConditionalWrites", testConditionalWrites},
		{"Checksums", testChecksums},
		{"List", testList},
		{"ListPagesMergeInOrder", testListPagesMergeInOrder},
		{"Copy", testCopy},
		{"MultipartCopy", testMultipartCopy},
		{"Multipart", testMultipart},
		{"Presign", testPresign},
		{"VirtualHostedCoreWeaveAddress", testVirtualHostedCoreWeaveAddress},
		{"TLSWithCustomCAAndBundle", testTLSWithCustomCAAndBundle},
		{"WrongSecretIsPermissionWithoutSecret", testWrongSecretIsPermissionWithoutSecret},
		{"UnreachableIsUnavailableQuickly", testUnreachableIsUnavailableQuickly},
		{"MinIOHidesPrefixUnderObject", testMinIOHidesPrefixUnderObject},
		{"IMDSNotProbedWhenDisabled", testIMDSNotProbedWhenDisabled},
		{"CredentialsFileRotation", testCredentialsFileRotation},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, b) })
	}
}
