package transfer

import (
	"time"

	"github.com/byobfs/byob/providers"
)

// The resume journal's records: the uploader writes them while an upload
// runs, a Journal (the cache's index) stores them.

// SourceFingerprint identifies the bytes an upload reads, so a resumed
// upload can tell the source did not change since the journal was written.
type SourceFingerprint struct {
	Path    string    `json:"path,omitempty"` // local file, when the source is one
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	Inode   uint64    `json:"inode,omitempty"`
	// Version is the source object's Version for bucket-to-bucket copies.
	Version string `json:"version,omitempty"`
}

// JournalPart is one finished part.
type JournalPart struct {
	Number   int                `json:"n"`
	Offset   int64              `json:"off"`
	Size     int64              `json:"size"`
	ETag     string             `json:"etag,omitempty"`
	Checksum providers.Checksum `json:"checksum"`
}

// UploadJournal is what a killed upload needs to continue where it stopped.
type UploadJournal struct {
	Store    string            `json:"store"` // the store's ID (providers.Address.StoreID)
	Key      string            `json:"key"`
	UploadID string            `json:"upload_id"`
	PartSize int64             `json:"part_size"`
	Source   SourceFingerprint `json:"source"`
	Parts    []JournalPart     `json:"parts"`
	Started  time.Time         `json:"started"`
	Updated  time.Time         `json:"updated"`
}
