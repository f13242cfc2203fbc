package providers

import "time"

// The resume journal's records. transfer writes them while an upload runs;
// cache stores them in its index. Neither imports the other: both use these.

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
	Number   int      `json:"n"`
	Offset   int64    `json:"off"`
	Size     int64    `json:"size"`
	ETag     string   `json:"etag,omitempty"`
	Checksum Checksum `json:"checksum"`
}

// UploadJournal is what a killed upload needs to continue where it stopped.
type UploadJournal struct {
	Store    string            `json:"store"` // redacted address of the store
	Key      string            `json:"key"`
	UploadID string            `json:"upload_id"`
	PartSize int64             `json:"part_size"`
	Source   SourceFingerprint `json:"source"`
	Parts    []JournalPart     `json:"parts"`
	Started  time.Time         `json:"started"`
	Updated  time.Time         `json:"updated"`
}
