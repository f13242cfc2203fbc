package sync

import (
	gosync "sync"
	"time"
)

// maxKeptErrors caps the item errors a Report keeps (the count is exact).
const maxKeptErrors = 100

// Report is what a run did (or, with DryRun, would do).
type Report struct {
	Copied  int64 `json:"copied"`  // new files (Copy)
	Updated int64 `json:"updated"` // replaced files (Update)
	Skipped int64 `json:"skipped"` // found up to date (Skip)
	Deleted int64 `json:"deleted"` // removed from the destination
	Mkdirs  int64 `json:"mkdirs"`  // directories / markers made
	// Failed counts items that failed (transfers, deletes, compares).
	Failed int64 `json:"failed"`
	// Bytes is the bytes moved by finished transfers (planned, in a dry run).
	Bytes int64 `json:"bytes"`
	// SymlinksSkipped counts local symlinks not followed.
	SymlinksSkipped int64 `json:"symlinks_skipped"`
	// Excluded counts entries left out by filters (both sides).
	Excluded int64 `json:"excluded"`
	// PendingDeletes is the deletes the plan asked for.
	PendingDeletes int64 `json:"pending_deletes"`
	// DeletesSkipped is set when the deletes were not run, with the reason.
	DeletesSkipped string        `json:"deletes_skipped,omitempty"`
	DryRun         bool          `json:"dry_run"`
	Duration       time.Duration `json:"duration_ns"`
	// Errors holds the first item errors as text.
	Errors []string `json:"errors,omitempty"`
}

// Event is one action, planned or finished, for progress and `--json`
// event lines.
type Event struct {
	Time   time.Time `json:"time"`
	Op     Op        `json:"op"`
	Key    string    `json:"key"`
	Reason string    `json:"reason,omitempty"`
	Size   int64     `json:"size"`
	// Planned is set on the event that announces an action; Done on the one
	// that reports it finished (Err set when it failed).
	Planned bool   `json:"planned,omitempty"`
	Done    bool   `json:"done,omitempty"`
	Err     string `json:"error,omitempty"`
}

// recorder accumulates a Report and delivers events serially.
type recorder struct {
	onEvent func(Event)

	mu gosync.Mutex
	// r is the report. GUARDED_BY(mu).
	r Report
	// first holds the kept item errors. GUARDED_BY(mu).
	first []error
}

func (rc *recorder) event(e Event) {
	if rc.onEvent == nil {
		return
	}
	e.Time = time.Now()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.onEvent(e)
}

func (rc *recorder) update(f func(r *Report)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	f(&rc.r)
}

// done records a finished action: counts it and sends its Done event.
func (rc *recorder) done(a Action, bytes int64, err error) {
	e := Event{Op: a.Op, Key: a.Key, Reason: a.Reason, Size: a.Size, Done: true}
	rc.mu.Lock()
	if err != nil {
		rc.failLocked(&ItemError{Op: a.Op, Key: a.Key, Err: err})
		e.Err = err.Error()
	} else {
		rc.r.Bytes += bytes
		switch a.Op {
		case OpCopy:
			rc.r.Copied++
		case OpUpdate:
			rc.r.Updated++
		case OpDelete:
			rc.r.Deleted++
		case OpMkdir:
			rc.r.Mkdirs++
		case OpSkip:
			rc.r.Skipped++
		}
	}
	rc.mu.Unlock()
	if a.Op != OpSkip {
		rc.event(e)
	}
}

func (rc *recorder) fail(err error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.failLocked(err)
}

func (rc *recorder) failLocked(err error) {
	rc.r.Failed++
	if len(rc.first) < maxKeptErrors {
		rc.first = append(rc.first, err)
		rc.r.Errors = append(rc.r.Errors, err.Error())
	}
}

func (rc *recorder) failed() int64 {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.r.Failed
}

func (rc *recorder) report() Report {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	r := rc.r
	r.Errors = append([]string(nil), rc.r.Errors...)
	return r
}
