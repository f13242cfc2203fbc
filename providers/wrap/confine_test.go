package wrap

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/mem"
	"github.com/byobfs/byob/providers/storetest"
)

func TestConfineConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) providers.Store {
		st, err := Confine(mem.New(mem.DefaultOptions()), "team/runs")
		require.NoError(t, err)
		return st
	})
}

func TestConfineRootRules(t *testing.T) {
	inner := mem.New(mem.DefaultOptions())
	st, err := Confine(inner, "")
	require.NoError(t, err)
	require.Same(t, inner, st.(*mem.Store), "root \"\" returns the store itself")
	for _, bad := range []string{"/team", "team/", "team//runs", "team/./runs", "team/..", "..", ".", "a\x00b", "bad\xff", strings.Repeat("x", 1024)} {
		_, err := Confine(inner, bad)
		require.ErrorIs(t, err, ErrInvalidRoot, "root %q", bad)
	}
	st, err = Confine(inner, "team/runs")
	require.NoError(t, err)
	require.Equal(t, 1024-len("team/runs/"), st.Capabilities().MaxKeyLength)
	_, isMP := st.(providers.Multiparter)
	require.True(t, isMP, "Multiparter forwarded")
	_, isPS := st.(providers.Presigner)
	require.False(t, isPS, "mem is not a Presigner, so neither is its confinement")
	require.Same(t, inner, st.(interface{ Unwrap() providers.Store }).Unwrap().(*mem.Store))
}

// innerKeys lists every key of the inner store.
func innerKeys(t *testing.T, s providers.Store) []string {
	t.Helper()
	var keys []string
	require.NoError(t, s.List(t.Context(), providers.ListOptions{}, func(e providers.Entry) error {
		keys = append(keys, e.Key)
		return nil
	}))
	return keys
}

// randomKey builds a key from hostile pieces.
func randomKey(r *rand.Rand) string {
	pieces := []string{"..", ".", "", "/", "//", "a", "b", "team", "runs", "other", "%2F", "%2E%2E", "\u2215", "\uFF0E\uFF0E", "x y", "\\..\\"}
	var b strings.Builder
	for range 1 + r.IntN(6) {
		b.WriteString(pieces[r.IntN(len(pieces))])
		if r.IntN(2) == 0 {
			b.WriteByte('/')
		}
	}
	return b.String()
}

func TestConfineKeysStayUnderRoot(t *testing.T) {
	ctx := t.Context()
	inner := mem.New(mem.DefaultOptions())
	// Foreign keys outside the root, including look-alikes of it.
	foreign := []string{"team/run", "team/runs", "team/runsX/y", "team/runs-x", "team/other/a", "team", "a", "team/runs/", "tea/runs/a", "team/run/s"}
	for _, k := range foreign {
		_, err := inner.Put(ctx, k, strings.NewReader("foreign"), 7, providers.PutOptions{})
		require.NoError(t, err)
	}
	st, err := Confine(inner, "team/runs")
	require.NoError(t, err)

	r := rand.New(rand.NewPCG(1, 2))
	var mine []string
	for range 300 {
		k := randomKey(r)
		if k == "" {
			continue
		}
		info, err := st.Put(ctx, k, strings.NewReader(k), int64(len(k)), providers.PutOptions{})
		require.NoError(t, err, "Put %q", k)
		require.Equal(t, k, info.Key)
		mine = append(mine, k)
		got, _, err := st.Get(ctx, k, 0, -1, providers.GetOptions{})
		require.NoError(t, err)
		b, _ := io.ReadAll(got)
		require.NoError(t, got.Close())
		require.Equal(t, k, string(b))
	}
	// The inner store: the foreign keys unchanged, everything else under root.
	for _, k := range innerKeys(t, inner) {
		if strings.HasPrefix(k, "team/runs/") && k != "team/runs/" {
			continue
		}
		require.Contains(t, foreign, k, "inner key %q outside the root", k)
	}
	for _, k := range foreign {
		_, err := inner.Stat(ctx, k)
		require.NoError(t, err, "foreign key %q untouched", k)
		b, _, err := inner.Get(ctx, k, 0, -1, providers.GetOptions{})
		require.NoError(t, err)
		data, _ := io.ReadAll(b)
		require.NoError(t, b.Close())
		require.Equal(t, "foreign", string(data), "foreign key %q overwritten", k)
	}

	// Listings never show a foreign key, nor the root's marker.
	for _, o := range []providers.ListOptions{{}, {Delimiter: "/"}, {Prefix: "team"}, {Prefix: "../"}, {Prefix: "/"}, {StartAfter: ".."}, {Prefix: "", Delimiter: "/", StartAfter: "a"}} {
		require.NoError(t, st.List(ctx, o, func(e providers.Entry) error {
			require.NotEmpty(t, e.Key, "listing %+v: the root marker is hidden", o)
			if e.IsPrefix {
				return nil
			}
			_, err := inner.Stat(ctx, "team/runs/"+e.Key)
			require.NoError(t, err, "listing %+v: entry %q is under the root", o, e.Key)
			require.Contains(t, mine, e.Key, "listing %+v: entry %q was written through the confined store", o, e.Key)
			return nil
		}))
	}

	// Keys that climb out are literal keys inside; the empty key is refused.
	for _, k := range []string{"../other/a", "../../a", "/../team/other/a", "../runs-x"} {
		_, err := st.Stat(ctx, k)
		require.ErrorIs(t, err, providers.ErrNotExist, "Stat %q", k)
	}
	_, err = st.Stat(ctx, "")
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	require.ErrorIs(t, st.Delete(ctx, ""), providers.ErrInvalidKey)
	_, err = st.Copy(ctx, mine[0], "", providers.CopyOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	_, err = st.Copy(ctx, "", "x", providers.CopyOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)
	_, err = inner.Stat(ctx, "team/runs/")
	require.NoError(t, err, "the root marker survives")

	// Copy stays inside; multipart keys are stripped.
	info, err := st.Copy(ctx, mine[0], "../copied", providers.CopyOptions{})
	require.NoError(t, err)
	require.Equal(t, "../copied", info.Key)
	_, err = inner.Stat(ctx, "team/runs/../copied")
	require.NoError(t, err)
	mp := st.(providers.Multiparter)
	u, err := mp.CreateMultipart(ctx, "../mp", providers.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, "../mp", u.Key())
	p, err := u.UploadPart(ctx, 1, bytes.NewReader([]byte("abc")), 3, providers.PartOptions{})
	require.NoError(t, err)
	u2, err := mp.ResumeMultipart(ctx, "../mp", u.ID())
	require.NoError(t, err)
	require.Equal(t, "../mp", u2.Key())
	info, err = u2.Complete(ctx, []providers.Part{p}, providers.CompleteOptions{})
	require.NoError(t, err)
	require.Equal(t, "../mp", info.Key)
	_, err = inner.Stat(ctx, "team/runs/../mp")
	require.NoError(t, err)
	_, err = mp.CreateMultipart(ctx, "", providers.PutOptions{})
	require.ErrorIs(t, err, providers.ErrInvalidKey)

	for _, k := range innerKeys(t, inner) {
		require.True(t, strings.HasPrefix(k, "team/runs/") || contains(foreign, k), "inner key %q", k)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestConfineListingMapsOptions(t *testing.T) {
	ctx := t.Context()
	inner := mem.New(mem.DefaultOptions())
	for _, k := range []string{"r/a", "r/b/c", "r/b/d", "r/c", "r-x", "r0/a", "q/a"} {
		_, err := inner.Put(ctx, k, strings.NewReader("x"), 1, providers.PutOptions{})
		require.NoError(t, err)
	}
	st, err := Confine(inner, "r")
	require.NoError(t, err)
	list := func(o providers.ListOptions) []string {
		var out []string
		require.NoError(t, st.List(ctx, o, func(e providers.Entry) error {
			out = append(out, e.Key)
			return nil
		}))
		return out
	}
	require.Equal(t, []string{"a", "b/c", "b/d", "c"}, list(providers.ListOptions{}))
	require.Equal(t, []string{"a", "b/", "c"}, list(providers.ListOptions{Delimiter: "/"}))
	require.Equal(t, []string{"b/d", "c"}, list(providers.ListOptions{StartAfter: "b/c"}))
	require.Equal(t, []string{"b/c", "b/d"}, list(providers.ListOptions{Prefix: "b/"}))
	require.Equal(t, []string{"c"}, list(providers.ListOptions{Delimiter: "/", StartAfter: "b/"}))
}
