package cache

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

const helperEnv = "BYOB_CACHE_TEST_HOLD"

// TestMain lets the test binary act as a second process holding a cache.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(holdCache(dir))
	}
	os.Exit(m.Run())
}

// holdCache opens the cache in dir, says "ready", and holds it until
// stdin closes.
func holdCache(dir string) int {
	opts := DefaultOptions(dir)
	opts.NoSync = true
	c, err := Open(opts)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	if err := c.Close(); err != nil {
		return 1
	}
	return 0
}

func TestOpenLockedByAnotherProcess(t *testing.T) {
	opts := testOptions(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+opts.Dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)

	start := time.Now()
	_, err = Open(opts)
	elapsed := time.Since(start)
	require.ErrorIs(t, err, ErrLocked)
	require.Contains(t, err.Error(), "pid "+strconv.Itoa(cmd.Process.Pid))
	t.Logf("second Open failed after %v: %v", elapsed, err)

	// Once the holder closes, the cache opens (cleanly).
	stdin.Close()
	require.NoError(t, cmd.Wait())
	c := openTest(t, opts)
	require.False(t, c.Unclean())
}

func TestSchemaVersionAndMigration(t *testing.T) {
	ctx := context.Background()
	t.Run("new index has the current version", func(t *testing.T) {
		opts := testOptions(t)
		c := openTest(t, opts)
		require.NoError(t, c.db.View(func(tx *bolt.Tx) error {
			require.Equal(t, uint32(SchemaVersion), binary.BigEndian.Uint32(tx.Bucket(bktMeta).Get(metaSchema)))
			return nil
		}))
		st, err := c.Stats(ctx)
		require.NoError(t, err)
		require.Equal(t, SchemaVersion, st.SchemaVersion)
	})
	t.Run("version 1 is migrated", func(t *testing.T) {
		opts := testOptions(t)
		require.NoError(t, os.MkdirAll(opts.Dir, 0o700))
		mod := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
		db, err := bolt.Open(filepath.Join(opts.Dir, indexFile), 0o600, nil)
		require.NoError(t, err)
		require.NoError(t, db.Update(func(tx *bolt.Tx) error {
			meta, _ := tx.CreateBucket(bktMeta)
			require.NoError(t, putSchema(meta, 1))
			b, _ := tx.CreateBucket(bktAttrV1)
			for i := range 100 {
				v, _ := json.Marshal(attrV1{Size: int64(i), Version: "v" + strconv.Itoa(i), ModTime: mod})
				require.NoError(t, b.Put([]byte(fmt.Sprintf("s3://b\x00dir/k%03d", i)), v))
			}
			return nil
		}))
		require.NoError(t, db.Close())

		c := openTest(t, opts)
		a, ok, err := c.GetAttr(ctx, "s3://b", "dir/k042")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, Attr{Size: 42, Version: "v42", ModTime: mod}, a)
		require.NoError(t, c.db.View(func(tx *bolt.Tx) error {
			require.Nil(t, tx.Bucket(bktAttrV1), "old bucket dropped")
			require.Equal(t, 100, tx.Bucket(bktAttrs).Stats().KeyN)
			require.Equal(t, uint32(SchemaVersion), binary.BigEndian.Uint32(tx.Bucket(bktMeta).Get(metaSchema)))
			return nil
		}))
	})
	t.Run("newer version is refused untouched", func(t *testing.T) {
		opts := testOptions(t)
		c, err := Open(opts)
		require.NoError(t, err)
		require.NoError(t, c.db.Update(func(tx *bolt.Tx) error { return putSchema(tx.Bucket(bktMeta), SchemaVersion+1) }))
		require.NoError(t, c.Close())
		_, err = Open(opts)
		require.ErrorIs(t, err, ErrSchema)
		db, err := bolt.Open(filepath.Join(opts.Dir, indexFile), 0o600, nil)
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, db.View(func(tx *bolt.Tx) error {
			require.Equal(t, uint32(SchemaVersion+1), binary.BigEndian.Uint32(tx.Bucket(bktMeta).Get(metaSchema)))
			return nil
		}))
	})
}

func TestAttrsAndRemoteMeta(t *testing.T) {
	ctx := context.Background()
	c := openTest(t, testOptions(t))
	info := providers.ObjectInfo{Key: "a/b", Size: 1234, Version: `"etag-1"`, ModTime: time.Unix(1700000000, 5).UTC(),
		Metadata:  map[string]string{providers.MetaMtime: "1690000000.25"},
		Checksums: []providers.Checksum{providers.CRC32C(0xdeadbeef), {Algorithm: providers.ChecksumMD5, Sum: make([]byte, 16)}}}
	fetched := time.Unix(1700000100, 0).UTC()
	want := AttrFromInfo(info, fetched)
	require.True(t, want.HasCRC32C)
	require.Equal(t, time.Unix(1690000000, 250000000).UTC(), want.Mtime.UTC())
	require.NoError(t, c.PutAttr(ctx, "s", "a/b", want))
	got, ok, err := c.GetAttr(ctx, "s", "a/b")
	require.NoError(t, err)
	require.True(t, ok)
	want.Mtime = want.Mtime.UTC()
	require.Equal(t, want, got)
	// Odd keys and stores with NUL bytes do not collide.
	require.NoError(t, c.PutAttr(ctx, "s\x00a", "b", Attr{Missing: true}))
	got, ok, err = c.GetAttr(ctx, "s", "a/b")
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, got.Missing)
	got, ok, err = c.GetAttr(ctx, "s\x00a", "b")
	require.NoError(t, err)
	require.True(t, ok && got.Missing)
	require.NoError(t, c.DeleteAttr(ctx, "s", "a/b"))
	_, ok, err = c.GetAttr(ctx, "s", "a/b")
	require.NoError(t, err)
	require.False(t, ok)

	rm := RemoteMeta{Mtime: time.Unix(1, 2).UTC(), MD5: []byte("0123456789abcdef"), Updated: fetched}
	require.NoError(t, c.PutRemoteMeta(ctx, "s", "k", "v1", rm))
	got2, ok, err := c.GetRemoteMeta(ctx, "s", "k", "v1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, rm, got2)
	require.NoError(t, c.PutRemoteMeta(ctx, "s", "k", "v2", rm))
	_, ok, err = c.GetRemoteMeta(ctx, "s", "k", "v1")
	require.NoError(t, err)
	require.False(t, ok, "a new version replaces the old one's record")
}

// journalStore is providers/transfer's journal interface, restated here
// (cache does not import transfer): the method set must match.
type journalStore interface {
	LoadUpload(ctx context.Context, store, key string) (*transfer.UploadJournal, error)
	SaveUpload(ctx context.Context, j *transfer.UploadJournal) error
	DeleteUpload(ctx context.Context, store, key string) error
	ListUploads(ctx context.Context, fn func(transfer.UploadJournal) error) error
}

var _ journalStore = (*Cache)(nil)

func TestUploadJournalRoundTripDurable(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	opts.NoSync = false // SaveUpload's durability is part of the contract
	c, err := Open(opts)
	require.NoError(t, err)
	j, err := c.LoadUpload(ctx, "s3://b", "big.bin")
	require.NoError(t, err)
	require.Nil(t, j)

	now := time.Unix(1700000000, 0).UTC()
	want := &transfer.UploadJournal{Store: "s3://b", Key: "big.bin", UploadID: "up-1", PartSize: 8 << 20,
		Source:  transfer.SourceFingerprint{Path: "/data/big.bin", Size: 3 << 23, ModTime: now, Inode: 77},
		Started: now, Updated: now}
	for n := 1; n <= 3; n++ {
		want.Parts = append(want.Parts, transfer.JournalPart{Number: n, Offset: int64(n-1) << 23, Size: 8 << 20,
			ETag: fmt.Sprintf(`"e%d"`, n), Checksum: providers.CRC32C(uint32(n))})
		require.NoError(t, c.SaveUpload(ctx, want))
	}
	other := &transfer.UploadJournal{Store: "s3://b", Key: "a.bin", UploadID: "up-2", Started: now, Updated: now}
	require.NoError(t, c.SaveUpload(ctx, other))
	// A crash right after SaveUpload keeps the journal.
	crash(t, c)

	c = openTest(t, opts)
	require.True(t, c.Unclean())
	got, err := c.LoadUpload(ctx, "s3://b", "big.bin")
	require.NoError(t, err)
	require.Equal(t, want, got)

	want.Parts = want.Parts[:2] // parts can be forgotten too (a part redone)
	require.NoError(t, c.SaveUpload(ctx, want))
	got, err = c.LoadUpload(ctx, "s3://b", "big.bin")
	require.NoError(t, err)
	require.Equal(t, want, got)

	var keys []string
	require.NoError(t, c.ListUploads(ctx, func(j transfer.UploadJournal) error {
		keys = append(keys, j.Key)
		return c.DeleteUpload(ctx, j.Store, j.Key) // allowed from fn
	}))
	require.Equal(t, []string{"a.bin", "big.bin"}, keys)
	got, err = c.LoadUpload(ctx, "s3://b", "big.bin")
	require.NoError(t, err)
	require.Nil(t, got)
}

func TestFingerprintRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := openTest(t, testOptions(t))
	mt := time.Unix(1700000000, 999).UTC()
	fp := Fingerprint{Path: "/data/x.bin", Size: 10, ModTime: mt, Inode: 5, MD5: []byte("0123456789abcdef"),
		CRC32C: 7, HasCRC32C: true, Hashed: mt}
	require.NoError(t, c.PutFingerprint(ctx, fp))
	got, ok, err := c.GetFingerprint(ctx, fp.Path, 10, mt, 5)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, fp, got)
	for _, tc := range []struct {
		name  string
		size  int64
		mtime time.Time
		inode uint64
	}{
		{"size", 11, mt, 5}, {"mtime", 10, mt.Add(time.Nanosecond), 5}, {"inode", 10, mt, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ok, err := c.GetFingerprint(ctx, fp.Path, tc.size, tc.mtime, tc.inode)
			require.NoError(t, err)
			require.False(t, ok, "a changed file is hashed again")
		})
	}
}

func TestWriteBackDurableAndClear(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	c, err := Open(opts)
	require.NoError(t, err)
	wb := &WriteBack{Store: "s", Key: "k", StagingPath: "/tmp/x", Size: 3, State: WriteBackStaged,
		Mtime: time.Unix(5, 0).UTC(), Created: time.Unix(6, 0).UTC()}
	require.NoError(t, c.PutWriteBack(ctx, wb))
	require.NotEmpty(t, wb.ID)
	crash(t, c)

	c = openTest(t, opts)
	got, ok, err := c.GetWriteBack(ctx, wb.ID)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, *wb, got)

	_, err = c.Clear(ctx, ClearOptions{})
	require.ErrorIs(t, err, ErrDirty, "write-back entries block Clear")
	n := 0
	require.NoError(t, c.ListWriteBack(ctx, func(w WriteBack) error { n++; return c.DeleteWriteBack(ctx, w.ID) }))
	require.Equal(t, 1, n)

	id := BlockID{Store: "s", Key: "k", Version: "local-1"}
	require.NoError(t, c.WriteBlock(ctx, id, []byte("dirty")))
	_, err = c.Clear(ctx, ClearOptions{})
	require.ErrorIs(t, err, ErrDirty)
	require.NoError(t, c.PutAttr(ctx, "s", "k", Attr{Size: 1}))
	rep, err := c.Clear(ctx, ClearOptions{Force: true})
	require.NoError(t, err)
	require.Equal(t, ClearReport{Blocks: 1, Bytes: 5, Attrs: 1, Forced: true}, rep)
	st, err := c.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Bytes)
	require.Zero(t, st.Buckets["attrs"])
	_, err = json.Marshal(st)
	require.NoError(t, err)
}

func TestClosedCache(t *testing.T) {
	c, err := Open(testOptions(t))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.ErrorIs(t, c.Close(), ErrClosed)
	_, _, err = c.GetAttr(context.Background(), "s", "k")
	require.True(t, errors.Is(err, ErrClosed))
	require.True(t, strings.HasSuffix(c.Dir(), "cache"))
}

// AdoptStore moves write-back entries (logged and indexed) and upload
// journals from one store ID to another, durably; other stores' entries
// and a journal the new ID already has for that key stay.
func TestAdoptStore(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	c, err := Open(opts)
	require.NoError(t, err)
	indexed := &WriteBack{Store: "old", Key: "a", StagingPath: "/tmp/a", Size: 1, State: WriteBackStaged}
	require.NoError(t, c.PutWriteBack(ctx, indexed))
	logged := &WriteBack{Store: "old", Key: "b", StagingPath: "/tmp/b", Size: 2, State: WriteBackStaged}
	require.NoError(t, c.AppendWriteBack(ctx, logged))
	other := &WriteBack{Store: "other", Key: "c", StagingPath: "/tmp/c", Size: 3, State: WriteBackStaged}
	require.NoError(t, c.PutWriteBack(ctx, other))
	for _, j := range []transfer.UploadJournal{
		{Store: "old", Key: "big", UploadID: "u1", Parts: []transfer.JournalPart{{Number: 1, Size: 5}}},
		{Store: "old", Key: "both", UploadID: "u2"},
		{Store: "new", Key: "both", UploadID: "u3"},
	} {
		require.NoError(t, c.SaveUpload(ctx, &j))
	}
	n, err := c.AdoptStore(ctx, "old", "new")
	require.NoError(t, err)
	require.Equal(t, 3, n)
	crash(t, c)

	c = openTest(t, opts)
	stores := map[string]string{}
	require.NoError(t, c.ListWriteBack(ctx, func(wb WriteBack) error { stores[wb.Key] = wb.Store; return nil }))
	require.Equal(t, map[string]string{"a": "new", "b": "new", "c": "other"}, stores)
	j, err := c.LoadUpload(ctx, "new", "big")
	require.NoError(t, err)
	require.NotNil(t, j)
	require.Equal(t, "u1", j.UploadID)
	require.Len(t, j.Parts, 1)
	j, err = c.LoadUpload(ctx, "new", "both")
	require.NoError(t, err)
	require.Equal(t, "u3", j.UploadID, "a journal the new ID has is kept")
	j, err = c.LoadUpload(ctx, "old", "both")
	require.NoError(t, err)
	require.NotNil(t, j, "the one it could not move stays under the old ID")
	j, err = c.LoadUpload(ctx, "old", "big")
	require.NoError(t, err)
	require.Nil(t, j)
}
