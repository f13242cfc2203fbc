package faulty

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/byobfs/byob/providers"
)

// fakeStore is a tiny in-memory providers.Store for the decorator's tests.
type fakeStore struct {
	mu      sync.Mutex
	objects map[string][]byte
	version int
}

func newFakeStore() *fakeStore { return &fakeStore{objects: map[string][]byte{}} }

var _ providers.Store = (*fakeStore)(nil)

func (f *fakeStore) info(key string) providers.ObjectInfo {
	return providers.ObjectInfo{Key: key, Size: int64(len(f.objects[key])), Version: strconv.Itoa(f.version)}
}

func (f *fakeStore) Stat(_ context.Context, key string) (providers.ObjectInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.objects[key]; !ok {
		return providers.ObjectInfo{}, providers.NewOpError(OpStat, key, providers.ErrNotExist, nil)
	}
	return f.info(key), nil
}

func (f *fakeStore) List(_ context.Context, opts providers.ListOptions, fn func(providers.Entry) error) error {
	f.mu.Lock()
	var keys []string
	for k := range f.objects {
		if strings.HasPrefix(k, opts.Prefix) && k > opts.StartAfter {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	entries := make([]providers.Entry, len(keys))
	for i, k := range keys {
		entries[i] = providers.Entry{ObjectInfo: f.info(k)}
	}
	f.mu.Unlock()
	for _, e := range entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeStore) Get(_ context.Context, key string, off, length int64, _ providers.GetOptions) (io.ReadCloser, providers.ObjectInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[key]
	if !ok {
		return nil, providers.ObjectInfo{}, providers.NewOpError(OpGet, key, providers.ErrNotExist, nil)
	}
	if off > int64(len(b)) {
		return nil, providers.ObjectInfo{}, providers.NewOpError(OpGet, key, providers.ErrInvalidRange, nil)
	}
	b = b[off:]
	if length >= 0 && length < int64(len(b)) {
		b = b[:length]
	}
	return io.NopCloser(bytes.NewReader(b)), f.info(key), nil
}

func (f *fakeStore) Put(_ context.Context, key string, r io.Reader, size int64, _ providers.PutOptions) (providers.ObjectInfo, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return providers.ObjectInfo{}, providers.NewOpError(OpPut, key, nil, err)
	}
	if int64(len(b)) != size {
		return providers.ObjectInfo{}, providers.NewOpError(OpPut, key, providers.ErrSizeMismatch, nil)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version++
	f.objects[key] = b
	return f.info(key), nil
}

func (f *fakeStore) Delete(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objects, key)
	return nil
}

func (f *fakeStore) Copy(_ context.Context, src, dst string, _ providers.CopyOptions) (providers.ObjectInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[src]
	if !ok {
		return providers.ObjectInfo{}, providers.NewOpError(OpCopy, src, providers.ErrNotExist, nil)
	}
	f.version++
	f.objects[dst] = append([]byte(nil), b...)
	return f.info(dst), nil
}

func (f *fakeStore) Capabilities() providers.Capabilities {
	return providers.Capabilities{Multipart: providers.MultipartNone}
}

// fakeMPStore adds multipart uploads held in memory.
type fakeMPStore struct {
	*fakeStore
	uploads map[string]*fakeUpload // GUARDED_BY(fakeStore.mu)
	next    int
}

var _ providers.Multiparter = (*fakeMPStore)(nil)

func newFakeMPStore() *fakeMPStore {
	return &fakeMPStore{fakeStore: newFakeStore(), uploads: map[string]*fakeUpload{}}
}

func (f *fakeMPStore) Capabilities() providers.Capabilities {
	return providers.Capabilities{Multipart: providers.MultipartMemory, MaxParts: 10000}
}

func (f *fakeMPStore) CreateMultipart(_ context.Context, key string, _ providers.PutOptions) (providers.Upload, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	u := &fakeUpload{s: f, id: fmt.Sprint("u", f.next), key: key, parts: map[int][]byte{}}
	f.uploads[u.id] = u
	return u, nil
}

func (f *fakeMPStore) ResumeMultipart(_ context.Context, key, id string) (providers.Upload, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.uploads[id]
	if !ok || u.key != key {
		return nil, providers.NewOpError(OpResumeMultipart, key, providers.ErrUploadNotFound, nil)
	}
	return u, nil
}

type fakeUpload struct {
	s     *fakeMPStore
	id    string
	key   string
	parts map[int][]byte // GUARDED_BY(s.mu)
}

func (u *fakeUpload) ID() string  { return u.id }
func (u *fakeUpload) Key() string { return u.key }

func (u *fakeUpload) UploadPart(_ context.Context, n int, r io.ReadSeeker, size int64, _ providers.PartOptions) (providers.Part, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return providers.Part{}, err
	}
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	u.parts[n] = b
	return providers.Part{Number: n, Size: size}, nil
}

func (u *fakeUpload) ListParts(context.Context) ([]providers.Part, error) {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	var out []providers.Part
	for n, b := range u.parts {
		out = append(out, providers.Part{Number: n, Size: int64(len(b))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

func (u *fakeUpload) Complete(_ context.Context, parts []providers.Part, _ providers.CompleteOptions) (providers.ObjectInfo, error) {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	var b []byte
	for _, p := range parts {
		b = append(b, u.parts[p.Number]...)
	}
	u.s.version++
	u.s.objects[u.key] = b
	delete(u.s.uploads, u.id)
	return u.s.info(u.key), nil
}

func (u *fakeUpload) Abort(context.Context) error {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	delete(u.s.uploads, u.id)
	return nil
}
