package layout

import (
	"regexp"
	"strings"
)

// Kind is what the platform stored at a key.
type Kind uint8

const (
	KindOther Kind = iota
	KindRunFile
	KindMedia
	KindArtifactManifest
	KindArtifactBlob
	KindReportImage
)

func (k Kind) String() string {
	return [...]string{"other", "run-file", "media", "artifact-manifest", "artifact-blob", "report-image"}[k]
}

// Class is the result of Classify.
type Class struct {
	Kind Kind
	// Entity, Project and Run are set for run files, media and manifests.
	Entity, Project, Run string
	// MediaKind is images, videos, audio, table, html, ... for media.
	MediaKind string
	// ArtifactID is the artifact (manifests) or birth artifact (blobs).
	ArtifactID string
	// MD5Hex is a blob's content MD5 (its file name).
	MD5Hex string
}

var (
	blobRE     = regexp.MustCompile(`(^|/)wandb_artifacts/([0-9]+)/([^/]+)/([0-9a-f]{32})$`)
	manifestRE = regexp.MustCompile(`([^/]+)/([^/]+)/([^/]+)/artifact/([^/]+)/wandb_manifest\.json$`)
	reportRE   = regexp.MustCompile(`(^|/)([^/]+)/images/projects/([^/]+)/[^/]+\.png$`)
	mediaRE    = regexp.MustCompile(`([^/]+)/([^/]+)/([^/]+)/media/([^/]+)/[^/]+$`)
)

// Classify says what kind of platform file key is. Keys may carry any
// sub-path in front; the templates are matched at the end of the key.
func Classify(key string) Class {
	if m := blobRE.FindStringSubmatch(key); m != nil {
		return Class{Kind: KindArtifactBlob, ArtifactID: m[3], MD5Hex: m[4]}
	}
	if m := manifestRE.FindStringSubmatch(key); m != nil {
		return Class{Kind: KindArtifactManifest, Entity: m[1], Project: m[2], Run: m[3], ArtifactID: m[4]}
	}
	if m := reportRE.FindStringSubmatch(key); m != nil {
		return Class{Kind: KindReportImage, Entity: m[2], Project: m[3]}
	}
	if m := mediaRE.FindStringSubmatch(key); m != nil {
		return Class{Kind: KindMedia, Entity: m[1], Project: m[2], Run: m[3], MediaKind: m[4]}
	}
	segs := strings.Split(key, "/")
	n := len(segs)
	switch {
	case runFileNames[segs[n-1]] && n >= 4:
		return Class{Kind: KindRunFile, Entity: segs[n-4], Project: segs[n-3], Run: segs[n-2]}
	case n >= 5 && segs[n-2] == "logs" && strings.HasPrefix(segs[n-1], "output_") && strings.HasSuffix(segs[n-1], ".log"):
		return Class{Kind: KindRunFile, Entity: segs[n-5], Project: segs[n-4], Run: segs[n-3]}
	}
	return Class{Kind: KindOther}
}

var runFileNames = map[string]bool{
	"config.yaml": true, "wandb-summary.json": true, "wandb-metadata.json": true,
	"requirements.txt": true, "output.log": true, "diff.patch": true, "conda-environment.yaml": true,
}
