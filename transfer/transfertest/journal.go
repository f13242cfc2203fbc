// Package transfertest holds test kits for the transfer engine.
package transfertest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/transfer"
)

// MemJournal is a Journal in memory, safe for concurrent use. It stores
// copies, so callers may change a record after saving it.
type MemJournal struct {
	mu sync.Mutex
	// m maps store + "\x00" + key to a record. GUARDED_BY(mu).
	m map[string]transfer.UploadJournal
	// saves counts SaveUpload calls. GUARDED_BY(mu).
	saves int
}

var _ transfer.Journal = (*MemJournal)(nil)

// NewMemJournal returns an empty MemJournal.
func NewMemJournal() *MemJournal { return &MemJournal{m: map[string]transfer.UploadJournal{}} }

func journalKey(store, key string) string { return store + "\x00" + key }

func cloneJournal(j transfer.UploadJournal) transfer.UploadJournal {
	j.Parts = slices.Clone(j.Parts)
	for i := range j.Parts {
		j.Parts[i].Checksum.Sum = slices.Clone(j.Parts[i].Checksum.Sum)
	}
	return j
}

// LoadUpload implements Journal.
func (m *MemJournal) LoadUpload(ctx context.Context, store, key string) (*transfer.UploadJournal, error) {
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
func (m *MemJournal) SaveUpload(ctx context.Context, j *transfer.UploadJournal) error {
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
func (m *MemJournal) ListUploads(ctx context.Context, fn func(transfer.UploadJournal) error) error {
	m.mu.Lock()
	keys := make([]string, 0, len(m.m))
	for k := range m.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	recs := make([]transfer.UploadJournal, len(keys))
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
