package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// testCase is one named conformance case.
type testCase struct {
	name string
	fn   func(t *testing.T, s providers.Store)
}

// cases lists every conformance case in the order Run runs them.
func cases() []testCase {
	return []testCase{
		{"Capabilities", testCapabilities},
		{"NotExist", testNotExist},
		{"RangeReads", testRangeReads},
		{"ZeroLength", testZeroLength},
		{"Overwrite", testOverwrite},
		{"PutSizeMismatch", testPutSizeMismatch},
		{"Keys", testKeys},
		{"OddKeys", testOddKeys},
		{"InvalidKeys", testInvalidKeys},
		{"ObjectPrefixCoexist", testObjectPrefixCoexist},
		{"DelimiterListing", testDelimiterListing},
		{"StartAfter", testStartAfter},
		{"ListStop", testListStop},
		{"Pagination", testPagination},
		{"MetadataRoundTrip", testMetadataRoundTrip},
		{"VersionChanges", testVersionChanges},
		{"ConditionalPut", testConditionalPut},
		{"GetIfMatch", testGetIfMatch},
		{"DeleteIdempotent", testDeleteIdempotent},
		{"Copy", testCopy},
		{"Checksums", testChecksums},
		{"Multipart", testMultipart},
		{"ContextCancellation", testContextCancellation},
		{"LargeObject", testLargeObject},
	}
}

// Run runs every conformance case as a named subtest. newStore returns a
// fresh, EMPTY store for each subtest (for servers: a new bucket); it should
// register its own cleanup with t.Cleanup. Subtests run sequentially.
func Run(t *testing.T, newStore func(t *testing.T) providers.Store) {
	t.Helper()
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			require.NotNil(t, s, "newStore returned nil")
			c.fn(t, s)
		})
	}
}

// notApplicable logs that a case (or part of one) does not apply, so no
// case is ever skipped silently.
func notApplicable(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("storetest: not applicable: "+format, args...)
}

// payload returns n deterministic pseudo-random bytes for seed.
func payload(n int, seed uint64) []byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// put stores data as key and checks the returned info.
func put(t *testing.T, s providers.Store, key string, data []byte, opts providers.PutOptions) providers.ObjectInfo {
	t.Helper()
	info, err := s.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)), opts)
	require.NoError(t, err, "Put %q", key)
	require.Equal(t, key, info.Key, "Put %q: returned Key", key)
	require.Equal(t, int64(len(data)), info.Size, "Put %q: returned Size", key)
	require.NotEmpty(t, info.Version, "Put %q: returned Version", key)
	return info
}

// get reads a range of key and returns the bytes, the info and the error.
// On error it checks that no body leaked.
func get(t *testing.T, s providers.Store, key string, off, length int64, opts providers.GetOptions) ([]byte, providers.ObjectInfo, error) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key, off, length, opts)
	if err != nil {
		if rc != nil {
			_ = rc.Close()
		}
		return nil, info, err
	}
	require.NotNil(t, rc, "Get %q: nil body without error", key)
	b, rerr := io.ReadAll(rc)
	cerr := rc.Close()
	require.NoError(t, rerr, "Get %q: reading the body", key)
	require.NoError(t, cerr, "Get %q: closing the body", key)
	return b, info, nil
}

// mustGet reads the whole of key and fails the test on error.
func mustGet(t *testing.T, s providers.Store, key string) ([]byte, providers.ObjectInfo) {
	t.Helper()
	b, info, err := get(t, s, key, 0, -1, providers.GetOptions{})
	require.NoError(t, err, "Get %q", key)
	return b, info
}

// requireContent checks key holds exactly want (Stat size and Get bytes).
func requireContent(t *testing.T, s providers.Store, key string, want []byte) providers.ObjectInfo {
	t.Helper()
	st, err := s.Stat(t.Context(), key)
	require.NoError(t, err, "Stat %q", key)
	require.Equal(t, key, st.Key, "Stat %q: Key", key)
	require.Equal(t, int64(len(want)), st.Size, "Stat %q: Size", key)
	got, info := mustGet(t, s, key)
	require.True(t, bytes.Equal(want, got), "Get %q: content differs (got %d bytes, want %d)", key, len(got), len(want))
	require.Equal(t, st.Version, info.Version, "Get %q: Version differs from Stat's", key)
	return st
}

// requireNotExist checks Stat and Get of key fail with ErrNotExist.
func requireNotExist(t *testing.T, s providers.Store, key string) {
	t.Helper()
	_, err := s.Stat(t.Context(), key)
	require.ErrorIs(t, err, providers.ErrNotExist, "Stat %q", key)
	_, _, err = get(t, s, key, 0, -1, providers.GetOptions{})
	require.ErrorIs(t, err, providers.ErrNotExist, "Get %q", key)
}

// list runs List and checks the invariants every listing has: entries in
// strictly increasing byte order, under Prefix, after StartAfter; prefixes
// only with a Delimiter and ending in it; objects carry Version and no
// metadata.
func list(t *testing.T, s providers.Store, opts providers.ListOptions) []providers.Entry {
	t.Helper()
	var out []providers.Entry
	err := s.List(t.Context(), opts, func(e providers.Entry) error {
		out = append(out, e)
		return nil
	})
	require.NoError(t, err, "List %+v", opts)
	for i, e := range out {
		require.True(t, strings.HasPrefix(e.Key, opts.Prefix), "List %+v: entry %q outside the prefix", opts, e.Key)
		if opts.StartAfter != "" {
			require.Greater(t, e.Key, opts.StartAfter, "List %+v: entry %q not after StartAfter", opts, e.Key)
		}
		if i > 0 {
			require.Less(t, out[i-1].Key, e.Key, "List %+v: entries out of byte order or repeated", opts)
		}
		if e.IsPrefix {
			require.NotEmpty(t, opts.Delimiter, "List %+v: common prefix %q in a flat listing", opts, e.Key)
			require.True(t, strings.HasSuffix(e.Key, opts.Delimiter), "List %+v: prefix %q does not end in the delimiter", opts, e.Key)
			rest := e.Key[len(opts.Prefix) : len(e.Key)-len(opts.Delimiter)]
			require.NotContains(t, rest, opts.Delimiter, "List %+v: prefix %q spans more than one level", opts, e.Key)
		} else {
			require.NotEmpty(t, e.Version, "List %+v: object %q has no Version", opts, e.Key)
			require.Nil(t, e.Metadata, "List %+v: object %q carries metadata (listings leave it nil)", opts, e.Key)
			if opts.Delimiter != "" {
				require.NotContains(t, e.Key[len(opts.Prefix):], opts.Delimiter, "List %+v: object %q should have rolled up into a prefix", opts, e.Key)
			}
		}
	}
	return out
}

// listed renders a listing as keys, with a "(prefix)" mark on prefixes.
func listed(es []providers.Entry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		if e.IsPrefix {
			out = append(out, e.Key+" (prefix)")
		} else {
			out = append(out, e.Key)
		}
	}
	return out
}

// model computes the listing the contract prescribes for a set of keys.
// It fails the test when the case is one where S3 and the contract
// disagree (StartAfter strictly inside a common prefix), so no such case is
// written by mistake.
func model(t *testing.T, keys []string, o providers.ListOptions) []string {
	t.Helper()
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	out := []string{}
	last := ""
	for _, k := range sorted {
		if !strings.HasPrefix(k, o.Prefix) {
			continue
		}
		item, isPrefix := k, false
		if o.Delimiter != "" {
			if i := strings.Index(k[len(o.Prefix):], o.Delimiter); i >= 0 {
				item, isPrefix = k[:len(o.Prefix)+i+len(o.Delimiter)], true
			}
		}
		if isPrefix && o.StartAfter != "" && item < o.StartAfter && strings.HasPrefix(o.StartAfter, item) && k > o.StartAfter {
			t.Fatalf("storetest bug: StartAfter %q lies inside prefix %q, where S3 and the contract differ", o.StartAfter, item)
		}
		if item <= o.StartAfter || item == last {
			continue
		}
		last = item
		if isPrefix {
			item += " (prefix)"
		}
		out = append(out, item)
	}
	return out
}

// putAll stores each key with its own name as content, concurrently when
// there are many.
func putAll(t *testing.T, s providers.Store, keys []string) {
	t.Helper()
	putMany(t, s, keys, 1)
}

// errStop is the sentinel a List callback returns in ListStop.
var errStop = errors.New("storetest: stop listing")

// ctxCanceled returns a context that is already cancelled.
func ctxCanceled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
