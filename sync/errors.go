package sync

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrInvalidOptions: Options or Sides are outside the contract.
	ErrInvalidOptions = errors.New("invalid sync options")
	// ErrOverlap: the destination lies inside the source or the reverse
	// (or the backup directory inside either).
	ErrOverlap = errors.New("source and destination overlap")
	// ErrListing: a side could not be listed completely; nothing was deleted.
	ErrListing = errors.New("listing failed")
	// ErrUnordered: a listing returned a key not strictly after the previous
	// one (it wraps ErrListing too).
	ErrUnordered = errors.New("listing out of key order")
	// ErrSourceChanged: a local source file changed while it was uploaded.
	ErrSourceChanged = errors.New("source changed during transfer")
	// ErrMaxDelete: more deletes were planned than Options.MaxDelete allows.
	ErrMaxDelete = errors.New("too many deletes")
	// ErrDeletesSkipped: deletes were not run because a listing or a
	// transfer failed.
	ErrDeletesSkipped = errors.New("deletes skipped after errors")
	// ErrNotFileName: a key cannot be a local file name under the Namer.
	ErrNotFileName = errors.New("key cannot be a local file name")
	// ErrConflict: a local path is a file where a directory is needed or
	// the reverse.
	ErrConflict = errors.New("file/directory conflict")
	// ErrNoSource: the source does not exist (a local directory that is
	// missing, a key prefix with no object and no marker under it);
	// nothing was changed.
	ErrNoSource = errors.New("the source does not exist")
	// ErrEmptySource: the source exists but lists nothing while Delete
	// would empty the destination; nothing was deleted (see
	// Options.AllowEmptySource).
	ErrEmptySource = errors.New("the source is empty")
)

// ItemError is one file's failure.
type ItemError struct {
	Op  Op     `json:"op"`
	Key string `json:"key"`
	Err error  `json:"-"`
}

func (e *ItemError) Error() string { return fmt.Sprintf("%s %q: %v", e.Op, e.Key, e.Err) }
func (e *ItemError) Unwrap() error { return e.Err }

// PartialError says the run finished but some items failed (exit code 3).
// The Report holds the details.
type PartialError struct {
	Failed int
	// First holds the first few item errors (at most maxKeptErrors).
	First []error
	// DeletesSkipped is set when pending deletes were dropped because of
	// the failures.
	DeletesSkipped bool
}

func (e *PartialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sync: %d item(s) failed", e.Failed)
	if e.DeletesSkipped {
		b.WriteString(", deletes skipped")
	}
	if len(e.First) > 0 {
		fmt.Fprintf(&b, "; first: %v", e.First[0])
	}
	return b.String()
}

// Unwrap returns the kept item errors (and ErrDeletesSkipped when set).
func (e *PartialError) Unwrap() []error {
	errs := append([]error(nil), e.First...)
	if e.DeletesSkipped {
		errs = append(errs, ErrDeletesSkipped)
	}
	return errs
}
