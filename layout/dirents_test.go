package layout

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/mem"
)

// listLevel lists one level of s under prefix with Delimiter "/".
func listLevel(t *testing.T, s providers.Store, prefix string) []providers.Entry {
	t.Helper()
	var es []providers.Entry
	require.NoError(t, s.List(t.Context(), providers.ListOptions{Prefix: prefix, Delimiter: "/"}, func(e providers.Entry) error {
		es = append(es, e)
		return nil
	}))
	return es
}

func TestDirEntries(t *testing.T) {
	ctx := t.Context()
	s := mem.New(mem.DefaultOptions())
	long := strings.Repeat("L", 300)
	keys := []string{
		"d/",           // the directory's own marker: hidden
		"d/a", "d/a/b", // object and prefix: the directory wins
		"d/a%obj",         // a real key spelled like the shadow name
		"d/plain.txt",     // ordinary
		"d//x",            // empty segment: directory "%%"
		"d/./y", "d/../z", // dot segments
		"d/m/",              // a marker below: directory m
		"d/" + long,         // long object
		"d/" + long + "/in", // and a directory of the same long name
		"d/%%caf%E9",        // stands for a name that is not UTF-8
		"e/outside",         // not in d/
	}
	for _, k := range keys {
		_, err := s.Put(ctx, k, strings.NewReader("x"), 1, providers.PutOptions{})
		require.NoError(t, err, k)
	}
	des := DirEntries(listLevel(t, s, "d/"), "d/")
	type row struct {
		name, key           string
		dir, shadowed, long bool
	}
	var got []row
	names := map[string]bool{}
	for _, de := range des {
		require.LessOrEqual(t, len(de.Name), MaxNameLen)
		require.NoError(t, checkName(de.Name))
		require.False(t, names[de.Name], "duplicate name %q", de.Name)
		names[de.Name] = true
		got = append(got, row{de.Name, de.Key, de.IsDir, de.Shadowed, de.Long})
	}
	longName, _ := LongName(long)
	shadowLong := ShadowName(long)
	want := []row{
		{"%%", "d//", true, false, false},
		{"%%.", "d/./", true, false, false},
		{"%%..", "d/../", true, false, false},
		{"a", "d/a/", true, false, false},
		{"a%obj", "d/a%obj", false, false, false},
		{"a%obj%2", "d/a", false, true, true},
		{"caf\xe9", "d/%%caf%E9", false, false, false},
		{"m", "d/m/", true, false, false},
		{"plain.txt", "d/plain.txt", false, false, false},
	}
	extra := []row{
		{longName, "d/" + long + "/", true, false, true},
		{shadowLong, "d/" + long, false, true, true},
	}
	want = append(want, extra...)
	// sort want by name as DirEntries does
	for i := range want {
		for j := i + 1; j < len(want); j++ {
			if want[j].name < want[i].name {
				want[i], want[j] = want[j], want[i]
			}
		}
	}
	require.Equal(t, want, got)

	// Every non-shadowed, non-long name decodes to its key.
	for _, de := range des {
		if de.Shadowed || de.Long {
			continue
		}
		seg, err := DecodeName(de.Name)
		require.NoError(t, err)
		want := "d/" + seg
		if de.IsDir {
			want += "/"
		}
		require.Equal(t, want, de.Key)
	}

	// A plain shadow without a colliding real key.
	des = DirEntries([]providers.Entry{
		{ObjectInfo: providers.ObjectInfo{Key: "x"}},
		{ObjectInfo: providers.ObjectInfo{Key: "x/"}, IsPrefix: true},
	}, "")
	require.Equal(t, []string{"x", "x%obj"}, []string{des[0].Name, des[1].Name})
	require.True(t, des[0].IsDir)
	require.True(t, des[1].Shadowed)
	require.Equal(t, "x", des[1].Key)
}
