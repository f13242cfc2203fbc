package transfer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/byobfs/byob/providers"
)

// sameSource reports whether two fingerprints describe the same bytes.
func sameSource(a, b SourceFingerprint) bool {
	return a.Path == b.Path && a.Size == b.Size && a.ModTime.Equal(b.ModTime) &&
		a.Inode == b.Inode && a.Version == b.Version
}

// startFile resumes the journaled upload of key when it matches, or
// creates a new one (journaled when a Journal is set and src identifies
// the source: a zero fingerprint could match any earlier upload of key).
func (u *Uploader) startFile(ctx context.Context, mp providers.Multiparter, key string, ps int64, src SourceFingerprint, put providers.PutOptions, alg providers.ChecksumAlgorithm) (*uploadState, error) {
	s := &uploadState{u: u, key: key, alg: alg, put: put, done: map[int]doneInfo{}}
	j := u.o.Journal
	if src == (SourceFingerprint{}) {
		j = nil
	}
	if j != nil {
		rec, err := j.LoadUpload(ctx, u.o.StoreID, key)
		if err != nil {
			return nil, fmt.Errorf("transfer: reading the journal of %q: %w", key, err)
		}
		if rec != nil {
			ok, err := u.resume(ctx, mp, s, rec, ps, src)
			if err != nil {
				return nil, err
			}
			if ok {
				return s, nil
			}
		}
	}
	up, err := mp.CreateMultipart(ctx, key, createOptions(put, alg))
	if err != nil {
		return nil, err
	}
	s.up = up
	if j != nil {
		now := time.Now()
		s.journal = &UploadJournal{Store: u.o.StoreID, Key: key, UploadID: up.ID(), PartSize: ps,
			Source: src, Started: now, Updated: now}
		if err := j.SaveUpload(ctx, s.journal); err != nil {
			return nil, errors.Join(fmt.Errorf("transfer: journaling the upload of %q: %w", key, err), s.abortQuietly(ctx))
		}
	}
	return s, nil
}

func (s *uploadState) abortQuietly(ctx context.Context) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return s.up.Abort(actx)
}

// resume reattaches s to the journaled upload rec when it is for the same
// source and part size and the server still has it, marking the parts the
// server confirms as done. It reports false (after aborting what it can of
// the old upload and forgetting rec) when rec cannot be used.
func (u *Uploader) resume(ctx context.Context, mp providers.Multiparter, s *uploadState, rec *UploadJournal, ps int64, src SourceFingerprint) (bool, error) {
	forget := func() (bool, error) {
		return false, u.o.Journal.DeleteUpload(ctx, rec.Store, rec.Key)
	}
	match := sameSource(rec.Source, src) && rec.PartSize == ps && rec.UploadID != ""
	if !match {
		if rec.UploadID != "" {
			_ = abortByID(ctx, mp, rec.Key, rec.UploadID) // best effort: AbortStale covers the rest
		}
		return forget()
	}
	up, err := mp.ResumeMultipart(ctx, s.key, rec.UploadID)
	if errors.Is(err, providers.ErrUploadNotFound) {
		return forget()
	}
	if err != nil {
		return false, err
	}
	server, err := up.ListParts(ctx)
	if errors.Is(err, providers.ErrUploadNotFound) {
		return forget()
	}
	if err != nil {
		return false, err
	}
	have := make(map[int]providers.Part, len(server))
	for _, p := range server {
		have[p.Number] = p
	}
	s.up = up
	s.journal = rec
	kept := rec.Parts[:0]
	for _, jp := range rec.Parts {
		p, ok := have[jp.Number]
		if !ok || !partMatches(p, jp) || jp.Offset != int64(jp.Number-1)*ps {
			continue // sent again
		}
		crc, ok := jp.Checksum.CRC32CValue()
		if !ok {
			continue
		}
		if p.ETag == "" {
			p.ETag = jp.ETag
		}
		s.done[jp.Number] = doneInfo{part: p, off: jp.Offset, crc: crc}
		kept = append(kept, jp)
	}
	rec.Parts = kept
	rec.Updated = time.Now()
	if err := u.o.Journal.SaveUpload(ctx, rec); err != nil {
		return false, fmt.Errorf("transfer: journaling the upload of %q: %w", s.key, err)
	}
	return true, nil
}

// partMatches reports whether the server's part p is the journaled jp:
// same size, and the same ETag (or, without ETags, the same checksum).
func partMatches(p providers.Part, jp JournalPart) bool {
	if p.Size != jp.Size {
		return false
	}
	if p.ETag != "" && jp.ETag != "" {
		return p.ETag == jp.ETag
	}
	return p.Checksum.Equal(jp.Checksum)
}
