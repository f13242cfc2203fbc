package transfer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/byobfs/byob/providers"
)

// DefaultStaleAge is the age past which AbortStale's callers should treat a
// journaled upload as abandoned: 7 days, as long as Azure keeps uncommitted
// blocks and the usual S3 AbortIncompleteMultipartUpload rule.
const DefaultStaleAge = 7 * 24 * time.Hour

// Journal stores the resume records of multipart uploads, one per (store,
// key). The cache package implements it in its index; MemJournal is an
// in-memory one for tests.
type Journal interface {
	LoadUpload(ctx context.Context, store, key string) (*providers.UploadJournal, error) // nil, nil when none
	SaveUpload(ctx context.Context, j *providers.UploadJournal) error                    // durable before it returns
	DeleteUpload(ctx context.Context, store, key string) error
	ListUploads(ctx context.Context, fn func(providers.UploadJournal) error) error
}

// MemJournal is a Journal in memory, safe for concurrent use. It stores
// copies, so callers may change a record after saving it.
type MemJournal struct {
	mu sync.Mutex
	// m maps store + "\x00" + key to a record. GUARDED_BY(mu).
	m map[string]providers.UploadJournal
	// saves counts SaveUpload calls. GUARDED_BY(mu).
	saves int
}

var _ Journal = (*MemJournal)(nil)

// NewMemJournal returns an empty MemJournal.
func NewMemJournal() *MemJournal { return &MemJournal{m: map[string]providers.UploadJournal{}} }

func journalKey(store, key string) string { return store + "\x00" + key }

func cloneJournal(j providers.UploadJournal) providers.UploadJournal {
	j.Parts = slices.Clone(j.Parts)
	for i := range j.Parts {
		j.Parts[i].Checksum.Sum = slices.Clone(j.Parts[i].Checksum.Sum)
	}
	return j
}

// LoadUpload implements Journal.
func (m *MemJournal) LoadUpload(ctx context.Context, store, key string) (*providers.UploadJournal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.m[journalKey(store, key)]
	if !ok {
		return nil, nil
	}
	c := cloneJournal(j)
	return &c, nil
}

// SaveUpload implements Journal.
func (m *MemJournal) SaveUpload(ctx context.Context, j *providers.UploadJournal) error {
	if j == nil || j.Key == "" || j.UploadID == "" {
		return fmt.Errorf("transfer: journal record needs a key and an upload ID: %w", providers.ErrInvalidArgument)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[journalKey(j.Store, j.Key)] = cloneJournal(*j)
	m.saves++
	return nil
}

// DeleteUpload implements Journal; deleting a missing record is not an error.
func (m *MemJournal) DeleteUpload(ctx context.Context, store, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, journalKey(store, key))
	return nil
}

// ListUploads implements Journal, in (store, key) order, on a snapshot: fn
// may call the journal.
func (m *MemJournal) ListUploads(ctx context.Context, fn func(providers.UploadJournal) error) error {
	m.mu.Lock()
	keys := make([]string, 0, len(m.m))
	for k := range m.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	recs := make([]providers.UploadJournal, len(keys))
	for i, k := range keys {
		recs[i] = cloneJournal(m.m[k])
	}
	m.mu.Unlock()
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Len returns the number of records.
func (m *MemJournal) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// Saves returns how many times SaveUpload was called.
func (m *MemJournal) Saves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}

// AbortStale aborts every upload journaled for store whose record was last
// updated more than maxAge ago (DefaultStaleAge is the documented default),
// and removes its record. An upload the server no longer knows is just
// forgotten. It returns the records it removed; errors on some records do
// not stop the others and are joined in the result.
func AbortStale(ctx context.Context, st providers.Store, j Journal, store string, maxAge time.Duration) ([]providers.UploadJournal, error) {
	cutoff := time.Now().Add(-maxAge)
	var stale []providers.UploadJournal
	err := j.ListUploads(ctx, func(r providers.UploadJournal) error {
		last := r.Updated
		if last.IsZero() {
			last = r.Started
		}
		if r.Store == store && last.Before(cutoff) {
			stale = append(stale, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	mp, _ := st.(providers.Multiparter)
	var (
		done []providers.UploadJournal
		errs []error
	)
	for _, r := range stale {
		if mp != nil && r.UploadID != "" {
			if err := abortByID(ctx, mp, r.Key, r.UploadID); err != nil {
				errs = append(errs, fmt.Errorf("aborting the upload of %q: %w", r.Key, err))
				continue
			}
		}
		if err := j.DeleteUpload(ctx, r.Store, r.Key); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, r)
	}
	return done, errors.Join(errs...)
}

// abortByID aborts an upload known only by its ID; an unknown upload is
// already gone.
func abortByID(ctx context.Context, mp providers.Multiparter, key, id string) error {
	u, err := mp.ResumeMultipart(ctx, key, id)
	if errors.Is(err, providers.ErrUploadNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return u.Abort(ctx)
}
