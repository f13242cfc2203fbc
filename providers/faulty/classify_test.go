package faulty

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		dialect      Dialect
		method, url  string
		host         string // default 127.0.0.1:9000
		header, hval string
		want         string
	}{
		// S3, path-style.
		{S3, "GET", "/b/k", "", "", "", KindGet},
		{S3, "GET", "/b/dir/k?partNumber=1", "", "", "", KindGet},
		{S3, "GET", "/b/k?uploadId=x", "", "", "", KindListParts},
		{S3, "GET", "/b/k?tagging", "", "", "", KindOther},
		{S3, "GET", "/b?list-type=2&prefix=p", "", "", "", KindList},
		{S3, "GET", "/b?versions", "", "", "", KindList},
		{S3, "GET", "/b?uploads", "", "", "", KindListUploads},
		{S3, "GET", "/b?location", "", "", "", KindBucket},
		{S3, "GET", "/", "", "", "", KindBucket},
		{S3, "HEAD", "/b/k", "localhost:9000", "", "", KindHead},
		{S3, "HEAD", "/b", "", "", "", KindBucket},
		{S3, "PUT", "/b", "", "", "", KindBucket},
		{S3, "PUT", "/b/k", "", "", "", KindPut},
		{S3, "PUT", "/b/k", "", "X-Amz-Copy-Source", "/b/src", KindCopy},
		{S3, "PUT", "/b/k?partNumber=3&uploadId=x", "", "", "", KindPutPart},
		{S3, "PUT", "/b/k?partNumber=3&uploadId=x", "", "X-Amz-Copy-Source", "/b/src", KindCopyPart},
		{S3, "POST", "/b/k?uploads", "", "", "", KindCreate},
		{S3, "POST", "/b/k?uploadId=x", "", "", "", KindComplete},
		{S3, "POST", "/b?delete", "", "", "", KindDeleteBatch},
		{S3, "DELETE", "/b/k", "", "", "", KindDelete},
		{S3, "DELETE", "/b/k?uploadId=x", "", "", "", KindAbort},
		// S3, virtual-hosted: the path is the key.
		{S3, "GET", "/", "bucket.minio.test:9000", "", "", KindList},
		{S3, "GET", "/k", "bucket.minio.test:9000", "", "", KindGet},
		{S3, "HEAD", "/dir/k", "bucket.minio.test", "", "", KindHead},

		// GCS JSON API.
		{GCS, "GET", "/storage/v1/b/bkt/o?prefix=a%2F&delimiter=%2F", "", "", "", KindList},
		{GCS, "GET", "/storage/v1/b/bkt/o/a%2Fb?alt=media", "", "", "", KindGet},
		{GCS, "GET", "/storage/v1/b/bkt/o/a%2Fb", "", "", "", KindHead},
		{GCS, "DELETE", "/storage/v1/b/bkt/o/a%2Fb", "", "", "", KindDelete},
		{GCS, "PATCH", "/storage/v1/b/bkt/o/a%2Fb", "", "", "", KindOther},
		{GCS, "POST", "/storage/v1/b/bkt/o/src/rewriteTo/b/bkt/o/dst", "", "", "", KindCopy},
		{GCS, "POST", "/storage/v1/b/bkt/o/src/copyTo/b/bkt/o/dst", "", "", "", KindCopy},
		{GCS, "POST", "/storage/v1/b/bkt/o/dst/compose", "", "", "", KindComplete},
		{GCS, "POST", "/upload/storage/v1/b/bkt/o?uploadType=multipart&name=k", "", "", "", KindPut},
		{GCS, "POST", "/upload/storage/v1/b/bkt/o?uploadType=media&name=k", "", "", "", KindPut},
		{GCS, "POST", "/upload/storage/v1/b/bkt/o?uploadType=resumable&name=k", "", "", "", KindCreate},
		{GCS, "PUT", "/upload/storage/v1/b/bkt/o?uploadType=resumable&upload_id=u", "", "", "", KindPutPart},
		{GCS, "DELETE", "/upload/storage/v1/b/bkt/o?uploadType=resumable&upload_id=u", "", "", "", KindAbort},
		{GCS, "GET", "/download/storage/v1/b/bkt/o/k?alt=media", "", "", "", KindGet},
		{GCS, "GET", "/storage/v1/b/bkt", "", "", "", KindBucket},
		{GCS, "POST", "/storage/v1/b?project=p", "", "", "", KindBucket},
		{GCS, "GET", "/bkt/dir/k", "", "", "", KindGet}, // XML API read
		{GCS, "HEAD", "/bkt/k", "", "", "", KindHead},

		// Azure, Azurite path-style (account in the path).
		{Azure, "GET", "/devstoreaccount1/c?restype=container&comp=list&prefix=a", "", "", "", KindList},
		{Azure, "GET", "/devstoreaccount1/c/dir/blob", "", "", "", KindGet},
		{Azure, "HEAD", "/devstoreaccount1/c/blob", "", "", "", KindHead},
		{Azure, "GET", "/devstoreaccount1/c/blob?comp=metadata", "", "", "", KindHead},
		{Azure, "GET", "/devstoreaccount1/c/blob?comp=blocklist&blocklisttype=all", "", "", "", KindListParts},
		{Azure, "PUT", "/devstoreaccount1/c/blob", "", "", "", KindPut},
		{Azure, "PUT", "/devstoreaccount1/c/blob", "", "X-Ms-Copy-Source", "http://x/c/src", KindCopy},
		{Azure, "PUT", "/devstoreaccount1/c/blob?comp=block&blockid=AAA", "", "", "", KindPutPart},
		{Azure, "PUT", "/devstoreaccount1/c/blob?comp=block&blockid=AAA", "", "X-Ms-Copy-Source", "http://x/c/src", KindCopyPart},
		{Azure, "PUT", "/devstoreaccount1/c/blob?comp=blocklist", "", "", "", KindComplete},
		{Azure, "PUT", "/devstoreaccount1/c/blob?comp=metadata", "", "", "", KindOther},
		{Azure, "DELETE", "/devstoreaccount1/c/blob", "", "", "", KindDelete},
		{Azure, "PUT", "/devstoreaccount1/c?restype=container", "", "", "", KindBucket},
		{Azure, "GET", "/devstoreaccount1?comp=list", "", "", "", KindBucket},
		{Azure, "POST", "/devstoreaccount1/c?restype=container&comp=batch", "", "", "", KindDeleteBatch},
		// Azure, account in the host name.
		{Azure, "GET", "/c?restype=container&comp=list", "acct.blob.core.windows.net", "", "", KindList},
		{Azure, "GET", "/c/blob", "acct.blob.core.windows.net", "", "", KindGet},
	}
	for _, tt := range tests {
		t.Run(tt.dialect.String()+" "+tt.method+" "+tt.url, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.url, nil)
			r.Host = "127.0.0.1:9000"
			if tt.host != "" {
				r.Host = tt.host
			}
			if tt.header != "" {
				r.Header.Set(tt.header, tt.hval)
			}
			require.Equal(t, tt.want, Classify(tt.dialect, r))
		})
	}
}
