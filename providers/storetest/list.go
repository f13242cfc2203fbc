package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/byobfs/byob/providers"
)

// listKeys is the tree the listing cases use. "a-b" < "a/b" < "a0" in
// bytes ('-' 0x2D, '/' 0x2F, '0' 0x30), so the common prefix "a/" must come
// back between "a-b" and "a0". No key is a prefix-directory of another, so
// backends without ObjectPrefixCoexist hold it too.
func listKeys() []string {
	return []string{"a-b", "a/b", "a/c/d", "a/c/e", "a/d", "a0", "b", "bb/x", "bb/y/z", "e/f/g"}
}

// putMany stores each key with its own name as content, with up to
// concurrency Puts in flight.
func putMany(t *testing.T, s providers.Store, keys []string, concurrency int) {
	t.Helper()
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(concurrency)
	for _, k := range keys {
		g.Go(func() error {
			_, err := s.Put(ctx, k, bytes.NewReader([]byte(k)), int64(len(k)), providers.PutOptions{})
			if err != nil {
				return fmt.Errorf("put %q: %w", k, err)
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
}

// testDelimiterListing checks flat and delimited listings, with and without
// prefixes, against the contract's model, and pins the model with explicit
// expectations.
func testDelimiterListing(t *testing.T, s providers.Store) {
	keys := listKeys()
	putAll(t, s, keys)
	got := listed(list(t, s, providers.ListOptions{Delimiter: "/"}))
	require.Equal(t, []string{"a-b", "a/ (prefix)", "a0", "b", "bb/ (prefix)", "e/ (prefix)"}, got, "common prefixes in sorted position")
	got = listed(list(t, s, providers.ListOptions{Prefix: "a/", Delimiter: "/"}))
	require.Equal(t, []string{"a/b", "a/c/ (prefix)", "a/d"}, got)
	got = listed(list(t, s, providers.ListOptions{}))
	require.Equal(t, []string{"a-b", "a/b", "a/c/d", "a/c/e", "a/d", "a0", "b", "bb/x", "bb/y/z", "e/f/g"}, got, "flat listing")

	for _, o := range []providers.ListOptions{
		{Prefix: "a", Delimiter: "/"},
		{Prefix: "a/c", Delimiter: "/"},
		{Prefix: "a/c/", Delimiter: "/"},
		{Prefix: "a/b", Delimiter: "/"},
		{Prefix: "bb/", Delimiter: "/"},
		{Prefix: "bb/y/", Delimiter: "/"},
		{Prefix: "e/", Delimiter: "/"},
		{Prefix: "zz", Delimiter: "/"},
		{Prefix: "a/"},
		{Prefix: "b"},
		{Prefix: "a/b/"},
		{Prefix: "zz"},
	} {
		require.Equal(t, model(t, keys, o), listed(list(t, s, o)), "listing %+v", o)
	}
	// Sizes in listings are the object sizes.
	for _, e := range list(t, s, providers.ListOptions{}) {
		require.Equal(t, int64(len(e.Key)), e.Size, "List Size of %q", e.Key)
	}
}

// testStartAfter checks StartAfter, flat and delimited, including
// StartAfter equal to a common prefix (which excludes that prefix) and
// StartAfter outside Prefix.
func testStartAfter(t *testing.T, s providers.Store) {
	keys := listKeys()
	putAll(t, s, keys)
	got := listed(list(t, s, providers.ListOptions{Delimiter: "/", StartAfter: "a/"}))
	require.Equal(t, []string{"a0", "b", "bb/ (prefix)", "e/ (prefix)"}, got, "StartAfter equal to a common prefix excludes it")
	got = listed(list(t, s, providers.ListOptions{StartAfter: "a/"}))
	require.Equal(t, []string{"a/b", "a/c/d", "a/c/e", "a/d", "a0", "b", "bb/x", "bb/y/z", "e/f/g"}, got, "flat StartAfter \"a/\"")

	for _, o := range []providers.ListOptions{
		{StartAfter: "0"},
		{StartAfter: "a"},
		{StartAfter: "a-b"},
		{StartAfter: "a/b"},
		{StartAfter: "a/bz"},
		{StartAfter: "a/c/"},
		{StartAfter: "a/c/d"},
		{StartAfter: "a0"},
		{StartAfter: "e/f/g"},
		{StartAfter: "zzz"},
		{Prefix: "a/", StartAfter: "0"},
		{Prefix: "a/", StartAfter: "a/"},
		{Prefix: "a/", StartAfter: "a/c/d"},
		{Prefix: "a/", StartAfter: "b"},
		{Delimiter: "/", StartAfter: "0"},
		{Delimiter: "/", StartAfter: "a"},
		{Delimiter: "/", StartAfter: "a-b"},
		{Delimiter: "/", StartAfter: "a0"},
		{Delimiter: "/", StartAfter: "b"},
		{Delimiter: "/", StartAfter: "bb/"},
		{Delimiter: "/", StartAfter: "e/"},
		{Delimiter: "/", StartAfter: "zzz"},
		{Prefix: "a/", Delimiter: "/", StartAfter: "a/"},
		{Prefix: "a/", Delimiter: "/", StartAfter: "a/b"},
		{Prefix: "a/", Delimiter: "/", StartAfter: "a/c/"},
		{Prefix: "a/", Delimiter: "/", StartAfter: "0"},
		{Prefix: "a/", Delimiter: "/", StartAfter: "b"},
	} {
		require.Equal(t, model(t, keys, o), listed(list(t, s, o)), "listing %+v", o)
	}
}

// testListStop checks an error from fn stops the listing at once and is
// returned unchanged (not wrapped), flat and delimited.
func testListStop(t *testing.T, s providers.Store) {
	putAll(t, s, listKeys())
	for _, c := range []struct {
		opts  providers.ListOptions
		after int
	}{
		{providers.ListOptions{}, 1},
		{providers.ListOptions{}, 3},
		{providers.ListOptions{Delimiter: "/"}, 2}, // stops on the prefix "a/"
	} {
		calls := 0
		err := s.List(t.Context(), c.opts, func(providers.Entry) error {
			calls++
			if calls == c.after {
				return errStop
			}
			return nil
		})
		require.True(t, err == errStop, "List %+v returned %v, want fn's error unchanged", c.opts, err)
		require.Equal(t, c.after, calls, "List %+v called fn after it returned an error", c.opts)
	}
}

// testPagination lists 1100 objects and 1100 delimited entries (past S3's
// 1000-entry pages), with StartAfter across the page boundary, and stops a
// listing on the second page.
func testPagination(t *testing.T, s providers.Store) {
	const n = 1100
	keys := make([]string, 0, n)
	for i := range n {
		if i%2 == 0 {
			keys = append(keys, fmt.Sprintf("pg/%04d", i))
		} else {
			keys = append(keys, fmt.Sprintf("pg/%04d/x", i))
		}
	}
	putMany(t, s, keys, 16)

	flat := list(t, s, providers.ListOptions{Prefix: "pg/"})
	require.Len(t, flat, n, "flat listing past 1000 entries")
	require.Equal(t, model(t, keys, providers.ListOptions{}), listed(flat))
	all := list(t, s, providers.ListOptions{})
	require.Len(t, all, n, "flat listing without prefix")

	o := providers.ListOptions{Prefix: "pg/", Delimiter: "/"}
	delim := list(t, s, o)
	require.Len(t, delim, n, "delimited listing past 1000 entries")
	require.Equal(t, model(t, keys, o), listed(delim))
	prefixes := 0
	for _, e := range delim {
		if e.IsPrefix {
			prefixes++
		}
	}
	require.Equal(t, n/2, prefixes, "common prefixes in the delimited listing")

	require.Equal(t, []string{"pg/ (prefix)"}, listed(list(t, s, providers.ListOptions{Delimiter: "/"})))

	for _, o := range []providers.ListOptions{
		{Prefix: "pg/", StartAfter: "pg/0098"},
		{Prefix: "pg/", StartAfter: "pg/0999/x"},
		{Prefix: "pg/", Delimiter: "/", StartAfter: "pg/0099/"},
		{Prefix: "pg/", Delimiter: "/", StartAfter: "pg/0998"},
		{Prefix: "pg/", Delimiter: "/", StartAfter: "pg/1099/"},
	} {
		require.Equal(t, model(t, keys, o), listed(list(t, s, o)), "listing %+v", o)
	}

	calls := 0
	err := s.List(t.Context(), providers.ListOptions{Prefix: "pg/"}, func(providers.Entry) error {
		calls++
		if calls == 1050 {
			return errStop
		}
		return nil
	})
	require.True(t, err == errStop, "List returned %v, want fn's error unchanged", err)
	require.Equal(t, 1050, calls)
}
