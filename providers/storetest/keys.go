package storetest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
)

// ordinaryKeys must be stored faithfully by every backend: spaces,
// punctuation that needs escaping in URLs, both Unicode normal forms, and
// non-BMP characters. "\uFFFD" sorts before "\U0001F600" in bytes (UTF-8)
// but after it in UTF-16, so a backend sorting UTF-16 is caught.
func ordinaryKeys() []string {
	return []string{
		"plain", "with space", " leading-space", "trailing-space ", "two  spaces",
		"caf\u00e9", "cafe\u0301", "日本語/ファイル.txt", "emoji-😀.bin",
		"\uFFFD", "\U0001F600", "\uFFFD-x", "\U0001F600-x",
		"plus+sign", "percent%20encoded", "percent%zz", "question?mark", "hash#tag",
		"amp&and=eq", "semi;colon:colon", "at@sign", "tilde~bang!", "dollar$paren(x)",
		"comma,quote'", "double\"quote", "brackets[x]{y}", "caret^pipe|", "<angle>",
		"back`tick", "*star", "a-b", "a_b", "dir/with space/file name",
	}
}

// testKeys stores every ordinary key and checks Stat, Get and byte-ordered
// listings (flat and delimited) show them unchanged.
func testKeys(t *testing.T, s providers.Store) {
	keys := ordinaryKeys()
	for _, k := range keys {
		put(t, s, k, []byte(k), providers.PutOptions{})
	}
	for _, k := range keys {
		requireContent(t, s, k, []byte(k))
	}
	flat := listed(list(t, s, providers.ListOptions{}))
	require.Equal(t, model(t, keys, providers.ListOptions{}), flat, "flat listing in byte order")
	iFFFD, iEmoji := indexOf(flat, "\uFFFD"), indexOf(flat, "\U0001F600")
	require.True(t, iFFFD >= 0 && iEmoji >= 0 && iFFFD < iEmoji, "U+FFFD sorts before U+1F600 in byte order (not UTF-16 order)")
	o := providers.ListOptions{Delimiter: "/"}
	require.Equal(t, model(t, keys, o), listed(list(t, s, o)), "delimited listing")
	o = providers.ListOptions{Prefix: "dir/with space/", Delimiter: "/"}
	require.Equal(t, []string{"dir/with space/file name"}, listed(list(t, s, o)))
	o = providers.ListOptions{Prefix: "caf"}
	require.Equal(t, []string{"cafe\u0301", "caf\u00e9"}, listed(list(t, s, o)), "NFC and NFD forms are distinct keys, in byte order")
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// oddKeys have empty or dot segments, or a trailing "/". None is a prefix
// of another, so backends without ObjectPrefixCoexist can hold them all.
func oddKeys() []string {
	return []string{
		"odd//double", "odd/./dot", "odd/../dotdot", "odd/x/.", "odd/y/..",
		"/lead", "./dot-lead", "odd/trail/", "odd/dir-marker/",
	}
}

// testOddKeys stores the odd keys faithfully where Capabilities.OddKeys;
// elsewhere each must be refused with ErrInvalidKey or stored faithfully.
func testOddKeys(t *testing.T, s providers.Store) {
	ctx := t.Context()
	odd := s.Capabilities().OddKeys
	if !odd {
		notApplicable(t, "OddKeys is false: each odd key must be refused with ErrInvalidKey or stored faithfully")
	}
	var stored []string
	for _, k := range oddKeys() {
		data := []byte("content of " + k)
		if strings.HasSuffix(k, "-marker/") {
			data = nil
		}
		_, err := s.Put(ctx, k, bytes.NewReader(data), int64(len(data)), providers.PutOptions{})
		if err != nil {
			require.False(t, odd, "OddKeys is true but Put %q failed: %v", k, err)
			require.ErrorIs(t, err, providers.ErrInvalidKey, "Put %q refused with the wrong error", k)
			t.Logf("storetest: key %q refused: %v", k, err)
			_, err = s.Stat(ctx, k)
			require.Error(t, err, "Stat %q after a refused Put", k)
			continue
		}
		stored = append(stored, k)
		requireContent(t, s, k, data)
	}
	for _, o := range []providers.ListOptions{{}, {Prefix: "odd/"}, {Prefix: "odd/", Delimiter: "/"}, {Delimiter: "/"}} {
		require.Equal(t, model(t, stored, o), listed(list(t, s, o)), "listing %+v", o)
	}
	for _, k := range stored {
		require.NoError(t, s.Delete(ctx, k))
		requireNotExist(t, s, k)
	}
	require.Empty(t, list(t, s, providers.ListOptions{}), "all odd keys deleted")
}

// longKey returns a valid key of exactly n bytes made of 99-byte segments.
func longKey(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
		if i%100 == 99 && i != n-1 {
			b[i] = '/'
		}
	}
	return string(b)
}

// testInvalidKeys checks the empty key and keys over MaxKeyLength are
// refused with ErrInvalidKey, a key of exactly MaxKeyLength is stored, and
// a key that is not UTF-8 is refused with ErrInvalidKey or stored faithfully.
func testInvalidKeys(t *testing.T, s providers.Store) {
	ctx := t.Context()
	_, err := s.Put(ctx, "", strings.NewReader("x"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey, "Put of the empty key")

	n := s.Capabilities().MaxKeyLength
	require.Positive(t, n, "MaxKeyLength")
	k := longKey(n)
	put(t, s, k, []byte("long"), providers.PutOptions{})
	requireContent(t, s, k, []byte("long"))
	k1 := longKey(n + 1)
	_, err = s.Put(ctx, k1, strings.NewReader("x"), 1, providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey, "Put of a key of MaxKeyLength+1 bytes")
	es := list(t, s, providers.ListOptions{})
	require.Equal(t, []string{k}, listed(es))

	bad := "bad-\xff\xfe-utf8"
	_, err = s.Put(ctx, bad, strings.NewReader("bad"), 3, providers.PutOptions{})
	if err != nil {
		require.ErrorIs(t, err, providers.ErrInvalidKey, "a key that is not UTF-8 is refused with ErrInvalidKey")
		t.Logf("storetest: key that is not UTF-8 refused: %v", err)
		return
	}
	requireContent(t, s, bad, []byte("bad"))
	require.Equal(t, model(t, []string{k, bad}, providers.ListOptions{}), listed(list(t, s, providers.ListOptions{})))
}

// testObjectPrefixCoexist checks "a" and "a/b" both exist where the backend
// says they can, and that the second Put is refused with ErrInvalidKey
// (leaving the first object intact) where it says they cannot.
func testObjectPrefixCoexist(t *testing.T, s providers.Store) {
	ctx := t.Context()
	caps := s.Capabilities()
	if !caps.ObjectPrefixCoexist && !caps.ConflictsRefused {
		notApplicable(t, "ObjectPrefixCoexist and ConflictsRefused are false: the server accepts both keys but may hide one in listings; asserting direct reads of both")
		put(t, s, "a", []byte("A"), providers.PutOptions{})
		put(t, s, "a/b", []byte("AB"), providers.PutOptions{})
		requireContent(t, s, "a", []byte("A"))
		requireContent(t, s, "a/b", []byte("AB"))
		return
	}
	if !caps.ObjectPrefixCoexist {
		notApplicable(t, "ObjectPrefixCoexist is false: asserting that the second Put fails with ErrInvalidKey")
		put(t, s, "a", []byte("A"), providers.PutOptions{})
		for _, k := range []string{"a/b", "a/b/c"} {
			_, err := s.Put(ctx, k, strings.NewReader("AB"), 2, providers.PutOptions{})
			require.ErrorIs(t, err, providers.ErrInvalidKey, "Put %q while object %q exists", k, "a")
			requireNotExist(t, s, k)
		}
		requireContent(t, s, "a", []byte("A"))
		put(t, s, "c/d", []byte("CD"), providers.PutOptions{})
		_, err := s.Put(ctx, "c", strings.NewReader("C"), 1, providers.PutOptions{})
		require.ErrorIs(t, err, providers.ErrInvalidKey, "Put %q while object %q exists", "c", "c/d")
		requireNotExist(t, s, "c")
		requireContent(t, s, "c/d", []byte("CD"))
		require.Equal(t, []string{"a", "c/d"}, listed(list(t, s, providers.ListOptions{})))
		return
	}
	put(t, s, "a", []byte("A"), providers.PutOptions{})
	put(t, s, "a/b", []byte("AB"), providers.PutOptions{})
	put(t, s, "c/d", []byte("CD"), providers.PutOptions{})
	put(t, s, "c", []byte("C"), providers.PutOptions{})
	keys := []string{"a", "a/b", "c", "c/d"}
	if caps.OddKeys {
		put(t, s, "m/", nil, providers.PutOptions{})
		put(t, s, "m/x", []byte("MX"), providers.PutOptions{})
		put(t, s, "m", []byte("M"), providers.PutOptions{})
		keys = append(keys, "m/", "m/x", "m")
	} else {
		notApplicable(t, "OddKeys is false: no directory marker %q beside %q", "m/", "m/x")
	}
	for _, o := range []providers.ListOptions{{}, {Delimiter: "/"}, {Prefix: "a", Delimiter: "/"}, {Prefix: "m/", Delimiter: "/"}} {
		require.Equal(t, model(t, keys, o), listed(list(t, s, o)), "listing %+v", o)
	}
	requireContent(t, s, "a", []byte("A"))
	requireContent(t, s, "a/b", []byte("AB"))
	requireContent(t, s, "c", []byte("C"))
	require.NoError(t, s.Delete(ctx, "a"))
	requireNotExist(t, s, "a")
	requireContent(t, s, "a/b", []byte("AB"))
	require.NoError(t, s.Delete(ctx, "c/d"))
	requireContent(t, s, "c", []byte("C"))
}

// errorsIsAny reports whether err wraps any of targets.
func errorsIsAny(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
