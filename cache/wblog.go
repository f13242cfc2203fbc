package cache

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// The write-back log: group commit for the mount's write-back journal.
//
// AppendWriteBack writes a record to an append-only log file with write(2)
// and returns: the record is in the kernel, so it survives the death of the
// process (SIGKILL, a crash of byob), without waiting for the disk.
// SyncWriteBack, which the mount calls every sync interval (and on drain
// and unmount), makes every record appended before it durable and merges
// it into the index: it switches to a new log file, syncs the file system
// holding the cache (the staged files' data and the old log, one syncfs(2)
// for any number of files), commits the records to the index in one synced
// transaction and removes the old log. A crash of the whole machine thus
// loses at most the records of the last interval, as a local disk does.
//
// Log files are named wblog-<epoch>-<n>; a record is a 4-byte big-endian
// length, the CRC32C of the payload, and the JSON of a WriteBack. Open
// replays every log left by a previous session into the index (a torn or
// damaged tail ends a file; a record whose staged file is gone was uploaded
// and forgotten before the crash) and removes the logs.

const wbLogPrefix = "wblog-"

// wbLog is the state of the write-back log. Guarded by Cache.wbMu.
type wbLog struct {
	f        *os.File
	path     string
	n        uint64                // log files opened this session
	seq      uint64                // write-back IDs assigned this session
	pending  map[string]*WriteBack // appended, not yet in the index
	unsynced []string              // IDs appended to f
	// forgotten: IDs deleted while their merge was in progress.
	forgotten []string
}

// newWriteBackID returns a fresh entry ID that sorts after every ID of this
// and earlier sessions: journal order. Called with wbMu held.
func (c *Cache) newWriteBackID() string {
	c.wb.seq++
	return fmt.Sprintf("wb-%08s-%08s", strconv.FormatUint(c.epoch, 36), strconv.FormatUint(c.wb.seq, 36))
}

// openWBLogLocked starts a new log file.
func (c *Cache) openWBLogLocked() error {
	c.wb.n++
	path := filepath.Join(c.dir, fmt.Sprintf("%s%08s-%06d", wbLogPrefix, strconv.FormatUint(c.epoch, 36), c.wb.n))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, filePerm)
	if err != nil {
		return fmt.Errorf("cache: write-back log: %w", err)
	}
	c.wb.f, c.wb.path = f, path
	return nil
}

// AppendWriteBack journals wb (assigning its ID when empty) in the
// write-back log and returns without waiting for the disk: the entry
// survives a crash of this process at once, and a crash of the machine
// from the next SyncWriteBack on. Until then it is listed like any other.
func (c *Cache) AppendWriteBack(ctx context.Context, wb *WriteBack) error {
	if wb == nil {
		return fmt.Errorf("%w: nil write-back entry", ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.wbMu.Lock()
	defer c.wbMu.Unlock()
	if c.isClosed() {
		return ErrClosed
	}
	if c.wb.f == nil {
		if err := c.openWBLogLocked(); err != nil {
			return err
		}
	}
	if wb.ID == "" {
		wb.ID = c.newWriteBackID()
	}
	payload, err := json.Marshal(wb)
	if err != nil {
		return err
	}
	rec := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint32(rec[0:4], uint32(len(payload)))
	binary.BigEndian.PutUint32(rec[4:8], crc32c(payload))
	copy(rec[8:], payload)
	if _, err := c.wb.f.Write(rec); err != nil {
		return fmt.Errorf("cache: write-back log: %w", err)
	}
	cp := *wb
	c.wb.pending[wb.ID] = &cp
	c.wb.unsynced = append(c.wb.unsynced, wb.ID)
	return nil
}

// SyncWriteBack makes every entry appended so far durable (see the
// write-back log above). With nothing appended since the last call it does
// nothing.
func (c *Cache) SyncWriteBack(ctx context.Context) error {
	return c.syncWriteBack(ctx, c.update)
}

// closeWriteBackLog syncs the log at Close (the index is still open, the
// cache already marked closed).
func (c *Cache) closeWriteBackLog() error {
	return c.syncWriteBack(context.Background(), func(_ context.Context, fn func(*bolt.Tx) error) error {
		return c.db.Update(fn)
	})
}

func (c *Cache) syncWriteBack(ctx context.Context, update func(context.Context, func(*bolt.Tx) error) error) error {
	c.wbSyncMu.Lock() // one sync at a time: logs are merged in order
	defer c.wbSyncMu.Unlock()
	c.wbMu.Lock()
	if len(c.wb.unsynced) == 0 || c.wb.f == nil {
		c.wbMu.Unlock()
		return nil
	}
	old, oldPath, ids := c.wb.f, c.wb.path, c.wb.unsynced
	c.wb.f, c.wb.path, c.wb.unsynced = nil, "", nil // the next append opens a new log
	c.wbMu.Unlock()

	err := old.Close()
	if !c.opts.NoSync {
		err = errors.Join(err, syncFS(c.dir))
	}
	if err != nil {
		return fmt.Errorf("cache: syncing write-back entries: %w", err)
	}
	c.wbMu.Lock()
	recs := make([]WriteBack, 0, len(ids))
	for _, id := range ids {
		if wb, ok := c.wb.pending[id]; ok {
			recs = append(recs, *wb)
		}
	}
	c.wbMu.Unlock()
	err = update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktWriteBack)
		for i := range recs {
			v, err := json.Marshal(&recs[i])
			if err != nil {
				return err
			}
			if err := b.Put([]byte(recs[i].ID), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache: merging write-back entries: %w", err)
	}
	c.wbMu.Lock()
	for _, r := range recs {
		// Forgotten meanwhile (uploaded): the merge brought it back.
		if _, ok := c.wb.pending[r.ID]; !ok {
			c.wb.forgotten = append(c.wb.forgotten, r.ID)
		}
		delete(c.wb.pending, r.ID)
	}
	forgotten := c.wb.forgotten
	c.wb.forgotten = nil
	c.wbMu.Unlock()
	if len(forgotten) > 0 {
		if err := update(ctx, func(tx *bolt.Tx) error {
			for _, id := range forgotten {
				if err := tx.Bucket(bktWriteBack).Delete([]byte(id)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("cache: merging write-back entries: %w", err)
		}
	}
	_ = os.Remove(oldPath) // a log left behind is replayed harmlessly
	return nil
}

// replayWriteBackLogs merges the logs a previous session left into the
// index and removes them (Open).
func (c *Cache) replayWriteBackLogs() error {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	var logs []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), wbLogPrefix) && e.Type().IsRegular() {
			logs = append(logs, filepath.Join(c.dir, e.Name()))
		}
	}
	if len(logs) == 0 {
		return nil
	}
	sort.Strings(logs)
	var recs []WriteBack
	for _, p := range logs {
		rs, err := readWBLog(p)
		if err != nil {
			return err
		}
		recs = append(recs, rs...)
	}
	err = c.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktWriteBack)
		for i := range recs {
			r := &recs[i]
			if b.Get([]byte(r.ID)) != nil {
				continue // merged before the crash
			}
			if _, err := os.Stat(r.StagingPath); err != nil {
				continue // uploaded and forgotten before the crash (or lost with the machine)
			}
			v, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(r.ID), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache: replaying write-back logs: %w", err)
	}
	for _, p := range logs {
		_ = os.Remove(p)
	}
	return nil
}

// readWBLog reads the records of one log file up to its end or its first
// torn or damaged record.
func readWBLog(path string) ([]WriteBack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cache: write-back log: %w", err)
	}
	var out []WriteBack
	for len(data) >= 8 {
		n := int(binary.BigEndian.Uint32(data[0:4]))
		sum := binary.BigEndian.Uint32(data[4:8])
		if n > len(data)-8 {
			break // torn tail
		}
		payload := data[8 : 8+n]
		if crc32c(payload) != sum {
			break
		}
		var wb WriteBack
		if err := json.Unmarshal(payload, &wb); err != nil || wb.ID == "" {
			break
		}
		out = append(out, wb)
		data = data[8+n:]
	}
	return out, nil
}

// pendingWriteBack returns the entry id while it is only in the log.
func (c *Cache) pendingWriteBack(id string) (WriteBack, bool) {
	c.wbMu.Lock()
	defer c.wbMu.Unlock()
	if wb, ok := c.wb.pending[id]; ok {
		return *wb, true
	}
	return WriteBack{}, false
}

// pendingWriteBacks returns the entries only in the log.
func (c *Cache) pendingWriteBacks() map[string]WriteBack {
	c.wbMu.Lock()
	defer c.wbMu.Unlock()
	out := make(map[string]WriteBack, len(c.wb.pending))
	for id, wb := range c.wb.pending {
		out[id] = *wb
	}
	return out
}

// updatePending replaces the log's copy of wb, if it has one, so that the
// merge keeps the newer state; forgetPending drops it.
func (c *Cache) updatePending(wb *WriteBack) {
	c.wbMu.Lock()
	defer c.wbMu.Unlock()
	if _, ok := c.wb.pending[wb.ID]; ok {
		cp := *wb
		c.wb.pending[wb.ID] = &cp
	}
}

func (c *Cache) forgetPending(id string) {
	c.wbMu.Lock()
	defer c.wbMu.Unlock()
	delete(c.wb.pending, id)
}
