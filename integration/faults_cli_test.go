package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/integration/testenv"
	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/faulty"
)

// Every command goes through the one store stack (wrap.Stack), so every
// command retries: ls, stat, cat, du, cp both ways, sync and mount, through
// a proxy that answers 10% of requests with 503 SlowDown or a reset, finish
// with exit 0 and the right bytes, with both S3 SDKs.
func TestEveryCommandRetries(t *testing.T) {
	s := testenv.MinIO(t)
	for _, sdk := range []string{"minio", "aws"} {
		t.Run(sdk, func(t *testing.T) {
			bucket := s.NewBucket(t)
			direct, _ := openMinIO(t, s, bucket, "")
			ctx := context.Background()
			objects := map[string][]byte{}
			for i := range 12 {
				k := fmt.Sprintf("runs/r%02d/file-%d.bin", i%3, i)
				objects[k] = randBytes(1000+i*777, int64(i))
			}
			objects["runs/big.bin"] = randBytes(3<<20+5, 99)
			var total int64
			for k, b := range objects {
				_, err := direct.Put(ctx, k, bytes.NewReader(b), int64(len(b)), providers.PutOptions{})
				require.NoError(t, err)
				total += int64(len(b))
			}
			base, proxy := proxied(t, s, bucket,
				faulty.Rule{Rate: 0.05, Action: faulty.Throttle},
				faulty.Rule{Rate: 0.05, Action: faulty.Reset},
			)
			at := func(path string) string {
				a := strings.Replace(base, "?", "/"+path+"?", 1)
				return a + "&sdk=" + sdk
			}
			env := []string{"BYOB_CACHE_DIR=" + t.TempDir()}
			run := func(args ...string) result {
				t.Helper()
				r := byob(t, env, args...)
				require.Equal(t, 0, r.code, "byob %s: %v", args[0], r)
				return r
			}

			var keys []string
			for k := range objects {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for range 3 {
				r := run("ls", "-R", "--json", at("runs/"))
				var got []string
				for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
					var e struct{ Key string }
					require.NoError(t, json.Unmarshal([]byte(l), &e))
					got = append(got, e.Key)
				}
				sort.Strings(got)
				require.Equal(t, keys, got)
			}
			for k, b := range objects {
				r := run("stat", "--json", at(k))
				var st struct{ Size int64 }
				require.NoError(t, json.Unmarshal([]byte(r.stdout), &st))
				require.EqualValues(t, len(b), st.Size, k)
				r = run("cat", at(k))
				require.True(t, bytes.Equal(b, []byte(r.stdout)), k)
			}
			r := run("du", "--json", at("runs"))
			require.Contains(t, r.stdout, strconv.FormatInt(total, 10))

			dir := t.TempDir()
			up := filepath.Join(dir, "up.bin")
			upData := randBytes(5<<20+3, 7)
			require.NoError(t, os.WriteFile(up, upData, 0o644))
			run("cp", up, at("cp/up.bin"))
			run("cp", at("cp/up.bin"), filepath.Join(dir, "down.bin"))
			got, err := os.ReadFile(filepath.Join(dir, "down.bin"))
			require.NoError(t, err)
			require.True(t, bytes.Equal(upData, got))

			tree := filepath.Join(dir, "tree")
			want := makeTree(t, tree, 40, 3)
			run("sync", tree, at("synced"))
			back := filepath.Join(dir, "back")
			run("sync", at("synced"), back)
			require.Equal(t, want, readTree(t, back))

			mnt := t.TempDir()
			m := startMount(t, nil, at("runs"), mnt, t.TempDir())
			for k, b := range objects {
				got, err := os.ReadFile(filepath.Join(mnt, strings.TrimPrefix(k, "runs/")))
				require.NoError(t, err, k)
				require.True(t, bytes.Equal(b, got), k)
			}
			require.NoError(t, os.WriteFile(filepath.Join(mnt, "written.bin"), upData, 0o644))
			run("unmount", mnt)
			waitGone(t, m.pid)
			got, err = storeBytes(t, direct, "runs/written.bin")
			require.NoError(t, err)
			require.True(t, bytes.Equal(upData, got))
			require.Greater(t, proxy.Injected(), 5, "faults were injected")
		})
	}
}
