package transfer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/byobfs/byob/providers"
)

// DefaultStaleAge is the age past which AbortStale's callers should treat a
// journaled upload as abandoned: 7 days, as long as Azure keeps uncommitted
// blocks and the usual S3 AbortIncompleteMultipartUpload rule.
const DefaultStaleAge = 7 * 24 * time.Hour

// Journal stores the resume records of multipart uploads, one per (store,
// key). The cache package implements it in its index; transfertest has an
// in-memory one for tests.
type Journal interface {
	LoadUpload(ctx context.Context, store, key string) (*UploadJournal, error) // nil, nil when none
	SaveUpload(ctx context.Context, j *UploadJournal) error                    // durable before it returns
	DeleteUpload(ctx context.Context, store, key string) error
	ListUploads(ctx context.Context, fn func(UploadJournal) error) error
}

// AbortStale aborts every upload journaled for store whose record was last
// updated more than maxAge ago (DefaultStaleAge is the documented default),
// and removes its record. An upload the server no longer knows is just
// forgotten. It returns the records it removed; errors on some records do
// not stop the others and are joined in the result.
func AbortStale(ctx context.Context, st providers.Store, j Journal, store string, maxAge time.Duration) ([]UploadJournal, error) {
	cutoff := time.Now().Add(-maxAge)
	var stale []UploadJournal
	err := j.ListUploads(ctx, func(r UploadJournal) error {
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
		done []UploadJournal
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
