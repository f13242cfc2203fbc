package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
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
	return c.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktWriteBack)
		if wb.ID == "" {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			wb.ID = fmt.Sprintf("wb-%012s", strconv.FormatUint(seq, 36))
		}
		v, err := json.Marshal(wb)
		if err != nil {
			return err
		}
		return b.Put([]byte(wb.ID), v)
	})
}

// GetWriteBack returns the entry id; ok is false when there is none.
func (c *Cache) GetWriteBack(ctx context.Context, id string) (wb WriteBack, ok bool, err error) {
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
func (c *Cache) DeleteWriteBack(ctx context.Context, id string) error {
	return c.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bktWriteBack).Delete([]byte(id)) })
}

// ListWriteBack calls fn for each entry in ID order, outside any
// transaction (fn may update or delete entries).
func (c *Cache) ListWriteBack(ctx context.Context, fn func(WriteBack) error) error {
	var all []WriteBack
	err := c.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bktWriteBack).ForEach(func(k, v []byte) error {
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
	for _, wb := range all {
		if err := fn(wb); err != nil {
			return err
		}
	}
	return nil
}
