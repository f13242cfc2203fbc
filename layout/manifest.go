package layout

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Manifest is an artifact's wandb_manifest.json: logical paths -> entries.
type Manifest struct {
	Version       int                      `json:"version"`
	StoragePolicy string                   `json:"storagePolicy"`
	Contents      map[string]ManifestEntry `json:"contents"`
}

// ManifestEntry is one file of an artifact.
type ManifestEntry struct {
	Digest          string `json:"digest"` // base64 MD5
	Size            int64  `json:"size"`
	BirthArtifactID string `json:"birthArtifactID,omitempty"`
	Ref             string `json:"ref,omitempty"`
}

// ParseManifest decodes a manifest.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("artifact manifest: %w", err)
	}
	if m.Contents == nil {
		return nil, fmt.Errorf("artifact manifest: no contents")
	}
	return &m, nil
}

// Paths lists the logical paths, sorted.
func (m *Manifest) Paths() []string {
	out := make([]string, 0, len(m.Contents))
	for p := range m.Contents {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// IsHistoryExport reports whether the artifact is a parquet history export
// (every file ends in .parquet).
func (m *Manifest) IsHistoryExport() bool {
	if len(m.Contents) == 0 {
		return false
	}
	for p := range m.Contents {
		if !strings.HasSuffix(p, ".parquet") {
			return false
		}
	}
	return true
}
