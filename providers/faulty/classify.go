package faulty

import (
	"net"
	"net/http"
	"strings"
)

// Request kinds, as Classify names them and Rule.Kind and Count take them.
// The same names serve every dialect; the mapping is in Classify.
const (
	KindHead        = "HEAD"          // object metadata (S3 HEAD object, GCS object get, Azure blob properties)
	KindGet         = "GET"           // object read
	KindList        = "LIST"          // object listing
	KindListParts   = "LIST-PARTS"    // parts of an upload (S3 ListParts, Azure Get Block List)
	KindListUploads = "LIST-UPLOADS"  // S3 ListMultipartUploads
	KindPut         = "PUT"           // whole-object write
	KindPutPart     = "PUT-PART"      // one part (S3 UploadPart, Azure Put Block, GCS resumable chunk)
	KindCopy        = "COPY"          // server-side copy
	KindCopyPart    = "COPY-PART"     // S3 UploadPartCopy, Azure Put Block From URL
	KindCreate      = "POST-CREATE"   // start a multipart upload (S3 ?uploads, GCS resumable session)
	KindComplete    = "POST-COMPLETE" // finish one (S3 ?uploadId, Azure Put Block List, GCS compose)
	KindAbort       = "ABORT"         // S3 DELETE ?uploadId, GCS cancel of a resumable session
	KindDelete      = "DELETE"        // object delete
	KindDeleteBatch = "POST-DELETE"   // S3 multi-object delete, Azure blob batch
	KindBucket      = "BUCKET"        // bucket- or account-level calls (location, create, HEAD bucket, ...)
	KindOther       = "OTHER"         // anything else (tags, ACLs, metadata updates, ...)
)

// Classify names the kind of a request in dialect d. It reads only the
// method, URL, Host and headers, never the body.
//
// S3 (path-style when the Host is an IP, "localhost" or a name without a
// dot; virtual-hosted otherwise): HEAD object is HEAD and HEAD bucket BUCKET;
// GET object is GET, with ?uploadId LIST-PARTS; GET bucket is LIST (list-type,
// prefix, delimiter, versions, or no query), with ?uploads LIST-UPLOADS, with
// a configuration sub-resource (?location, ?versioning, ...) BUCKET; PUT
// object is PUT, with x-amz-copy-source COPY, with ?partNumber&uploadId
// PUT-PART (COPY-PART when copying); POST ?uploads is POST-CREATE, POST
// ?uploadId POST-COMPLETE, POST bucket?delete POST-DELETE; DELETE ?uploadId
// is ABORT, DELETE object DELETE.
//
// GCS JSON API: GET /storage/v1/b/B/o is LIST; GET .../o/O is GET with
// alt=media and HEAD without; DELETE .../o/O DELETE; .../rewriteTo/... and
// .../copyTo/... COPY; .../compose POST-COMPLETE; /upload/... POST is PUT,
// with uploadType=resumable POST-CREATE; PUT ?upload_id is PUT-PART and
// DELETE ?upload_id ABORT; /download/... is GET; other paths (the XML API,
// /B/O) are classified as S3 path-style.
//
// Azure Blob (the account is the first path segment when the Host is an IP,
// "localhost" or has no dot, as with Azurite): GET container
// ?restype=container&comp=list is LIST; GET blob is GET, with comp=blocklist
// LIST-PARTS; HEAD blob HEAD; PUT blob PUT, with x-ms-copy-source COPY;
// PUT comp=block PUT-PART (COPY-PART with x-ms-copy-source); PUT
// comp=blocklist POST-COMPLETE; DELETE blob DELETE; comp=batch POST-DELETE;
// other container- and account-level calls BUCKET.
func Classify(d Dialect, r *http.Request) string {
	switch d {
	case GCS:
		return classifyGCS(r)
	case Azure:
		return classifyAzure(r)
	}
	return classifyS3(r)
}

// pathStyleHost reports whether host names a server rather than a bucket or
// account: an IP, "localhost", or a name without a dot.
func pathStyleHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	return net.ParseIP(host) != nil || host == "localhost" || !strings.Contains(host, ".")
}

// segments splits the escaped path into its segments, so an escaped "/"
// (%2F) stays inside its segment. A trailing "/" yields an empty segment.
func segments(r *http.Request) []string {
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func has(r *http.Request, k string) bool {
	_, ok := r.URL.Query()[k]
	return ok
}

// s3BucketConfig lists the bucket sub-resources that are not listings.
var s3BucketConfig = []string{
	"location", "versioning", "policy", "policyStatus", "lifecycle", "cors", "tagging",
	"acl", "encryption", "object-lock", "notification", "replication", "logging",
	"website", "accelerate", "requestPayment", "ownershipControls", "publicAccessBlock",
	"intelligent-tiering", "metrics", "analytics", "inventory",
}

var s3ObjectConfig = []string{"tagging", "acl", "attributes", "retention", "legal-hold", "torrent", "restore", "select"}

func hasAny(r *http.Request, keys []string) bool {
	q := r.URL.Query()
	for _, k := range keys {
		if _, ok := q[k]; ok {
			return true
		}
	}
	return false
}

func classifyS3(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, "/")
	var bucket, key string
	if pathStyleHost(r.Host) {
		bucket, key, _ = strings.Cut(p, "/")
	} else {
		bucket, key = "virtual-host", p
	}
	bucketLevel := key == ""
	copySrc := r.Header.Get("X-Amz-Copy-Source") != ""
	switch r.Method {
	case http.MethodHead:
		if bucketLevel {
			return KindBucket
		}
		return KindHead
	case http.MethodGet:
		switch {
		case bucket == "":
			return KindBucket // ListBuckets
		case bucketLevel && has(r, "uploads"):
			return KindListUploads
		case bucketLevel && hasAny(r, s3BucketConfig):
			return KindBucket
		case bucketLevel:
			return KindList
		case has(r, "uploadId"):
			return KindListParts
		case hasAny(r, s3ObjectConfig):
			return KindOther
		}
		return KindGet
	case http.MethodPut:
		switch {
		case bucketLevel:
			return KindBucket
		case has(r, "partNumber") && has(r, "uploadId") && copySrc:
			return KindCopyPart
		case has(r, "partNumber") && has(r, "uploadId"):
			return KindPutPart
		case hasAny(r, s3ObjectConfig):
			return KindOther
		case copySrc:
			return KindCopy
		}
		return KindPut
	case http.MethodPost:
		switch {
		case bucketLevel && has(r, "delete"):
			return KindDeleteBatch
		case has(r, "uploads"):
			return KindCreate
		case has(r, "uploadId"):
			return KindComplete
		}
		return KindOther
	case http.MethodDelete:
		switch {
		case bucketLevel:
			return KindBucket
		case has(r, "uploadId"):
			return KindAbort
		case hasAny(r, s3ObjectConfig):
			return KindOther
		}
		return KindDelete
	}
	return KindOther
}

// isGCSJSONPath reports whether p is on the GCS JSON API (whose errors are
// JSON) rather than the XML API.
func isGCSJSONPath(p string) bool {
	for _, pre := range []string{"/storage/v1/", "/upload/storage/v1/", "/download/storage/v1/", "/batch/"} {
		if strings.HasPrefix(p, pre) || p+"/" == pre {
			return true
		}
	}
	return false
}

func classifyGCS(r *http.Request) string {
	seg := segments(r)
	switch {
	case len(seg) >= 3 && seg[0] == "upload" && seg[1] == "storage":
		switch {
		case r.Method == http.MethodPost && r.URL.Query().Get("uploadType") == "resumable":
			return KindCreate
		case r.Method == http.MethodPost:
			return KindPut
		case r.Method == http.MethodPut && has(r, "upload_id"):
			return KindPutPart
		case r.Method == http.MethodDelete && has(r, "upload_id"):
			return KindAbort
		}
		return KindOther
	case len(seg) >= 3 && seg[0] == "download" && seg[1] == "storage":
		return KindGet
	case len(seg) >= 1 && seg[0] == "batch":
		return KindOther
	case len(seg) >= 2 && seg[0] == "storage" && seg[1] == "v1":
		o := seg[2:] // "b", bucket, "o", object, ...
		switch {
		case len(o) < 3 || o[0] != "b" || o[2] != "o":
			if len(o) >= 1 && o[0] == "b" && len(o) <= 2 {
				return KindBucket
			}
			return KindOther
		case len(o) == 3 || (len(o) == 4 && o[3] == ""):
			if r.Method == http.MethodGet {
				return KindList
			}
			if r.Method == http.MethodPost {
				return KindPut
			}
			return KindOther
		case len(o) == 4:
			switch r.Method {
			case http.MethodGet:
				if r.URL.Query().Get("alt") == "media" {
					return KindGet
				}
				return KindHead
			case http.MethodDelete:
				return KindDelete
			}
			return KindOther
		default:
			switch o[4] {
			case "compose":
				return KindComplete
			case "rewriteTo", "copyTo":
				return KindCopy
			}
			return KindOther
		}
	}
	return classifyS3(r)
}

func classifyAzure(r *http.Request) string {
	seg := segments(r)
	if pathStyleHost(r.Host) && len(seg) > 0 {
		seg = seg[1:] // the account
	}
	var container, blob string
	if len(seg) > 0 {
		container = seg[0]
	}
	if len(seg) > 1 {
		blob = strings.Join(seg[1:], "/")
	}
	q := r.URL.Query()
	comp := q.Get("comp")
	copySrc := r.Header.Get("X-Ms-Copy-Source") != ""
	if comp == "batch" {
		return KindDeleteBatch
	}
	if container == "" {
		return KindBucket
	}
	if blob == "" {
		if r.Method == http.MethodGet && comp == "list" {
			return KindList
		}
		return KindBucket
	}
	switch r.Method {
	case http.MethodHead:
		return KindHead
	case http.MethodGet:
		switch comp {
		case "":
			return KindGet
		case "blocklist":
			return KindListParts
		case "metadata", "properties":
			return KindHead
		}
		return KindOther
	case http.MethodPut:
		switch comp {
		case "":
			if copySrc {
				return KindCopy
			}
			return KindPut
		case "block", "appendblock", "page":
			if copySrc {
				return KindCopyPart
			}
			return KindPutPart
		case "blocklist":
			return KindComplete
		}
		return KindOther
	case http.MethodDelete:
		return KindDelete
	}
	return KindOther
}
