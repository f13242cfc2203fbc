package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/byobfs/byob/transfer"
)

// WriteBackState is where a mount write-back entry stands.
type WriteBackState string

// Write-back states.
const (
	// WriteBackStaged: the data is complete in StagingPath, not uploaded.
	WriteBackStaged WriteBackState = "staged"
	// WriteBackUploading: an upload is running (its journal may exist).
	WriteBackUploading WriteBackState = "uploading"
	// WriteBackFailed: the upload failed permanently; kept for the user.
	WriteBackFailed WriteBackState = "failed"
)

// WriteBack is one file the mount acknowledged to an application but has
// not finished uploading. Entries survive crashes: after a restart the
// mount resumes or reports each one.
type WriteBack struct {
	ID          string         `json:"id"`
	Store       string         `json:"store"`
	Key         string         `json:"key"`
	StagingPath string         `json:"staging_path"`
	Size        int64          `json:"size"`
	Mtime       time.Time      `json:"mtime"`
	State       WriteBackState `json:"state"`
	Created     time.Time      `json:"created"`
}

// PutWriteBack records wb, durably (synced commit) before it returns.
// An empty ID is assigned (unique in this cache) and stored in wb.
func (c *Cache) PutWriteBack(ctx context.Context, wb *WriteBack) error {
	if wb == nil {
		return fmt.Errorf("%w: nil write-back entry", ErrInvalid)
	}
	if wb.ID == "" {
		c.wbMu.Lock()
		wb.ID = c.newWriteBackID()
		c.wbMu.Unlock()
	}
	c.updatePending(wb)
	return c.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktWriteBack)
		v, err := json.Marshal(wb)
		if err != nil {
			return err
		}
		return b.Put([]byte(wb.ID), v)
	})
}

// GetWriteBack returns the entry id; ok is false when there is none.
func (c *Cache) GetWriteBack(ctx context.Context, id string) (wb WriteBack, ok bool, err error) {
	if wb, ok := c.pendingWriteBack(id); ok {
		return wb, true, ctx.Err()
	}
	err = c.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bktWriteBack).Get([]byte(id))
		if v == nil {
			return nil
		}
		ok = true
		if err := json.Unmarshal(v, &wb); err != nil {
			return fmt.Errorf("%w: write-back %q: %v", ErrCorrupt, id, err)
		}
		return nil
	})
	return wb, ok, err
}

// DeleteWriteBack forgets entry id (durably).
// Concurrent deletes share one commit.
func (c *Cache) DeleteWriteBack(ctx context.Context, id string) error {
	c.forgetPending(id)
	return c.batch(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bktWriteBack).Delete([]byte(id)) })
}

// ListWriteBack calls fn for each entry in ID order, outside any
// transaction (fn may update or delete entries).
func (c *Cache) ListWriteBack(ctx context.Context, fn func(WriteBack) error) error {
	var all []WriteBack
	pending := c.pendingWriteBacks()
	err := c.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bktWriteBack).ForEach(func(k, v []byte) error {
			if _, ok := pending[string(k)]; ok {
				return nil // being merged: the log's copy is listed
			}
			var wb WriteBack
			if err := json.Unmarshal(v, &wb); err != nil {
				return fmt.Errorf("%w: write-back %q: %v", ErrCorrupt, k, err)
			}
			all = append(all, wb)
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, wb := range pending {
		all = append(all, wb)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	for _, wb := range all {
		if err := fn(wb); err != nil {
			return err
		}
	}
	return nil
}

// AdoptStore moves the write-back entries and upload journals recorded
// under the store ID from to the store ID to, durably, and returns how many
// it moved: what a store's ID names changed, and what was acknowledged or
// half uploaded under the old ID must be uploaded under the new one. A
// journal whose key already has one under to is left where it is.
func (c *Cache) AdoptStore(ctx context.Context, from, to string) (int, error) {
	if from == to {
		return 0, nil
	}
	var wbs []WriteBack
	err := c.ListWriteBack(ctx, func(wb WriteBack) error {
		if wb.Store == from {
			wbs = append(wbs, wb)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, wb := range wbs {
		wb.Store = to
		if err := c.PutWriteBack(ctx, &wb); err != nil {
			return n, err
		}
		n++
	}
	var js []transfer.UploadJournal
	err = c.ListUploads(ctx, func(j transfer.UploadJournal) error {
		if j.Store == from {
			js = append(js, j)
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	for _, j := range js {
		if cur, err := c.LoadUpload(ctx, to, j.Key); err != nil || cur != nil {
			if err != nil {
				return n, err
			}
			continue
		}
		j.Store = to
		if err := c.SaveUpload(ctx, &j); err != nil {
			return n, err
		}
		if err := c.DeleteUpload(ctx, from, j.Key); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
