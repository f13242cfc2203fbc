package s3

import (
	"errors"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/byobfs/byob/providers/internal/s3compat"
)

// mapErr turns an SDK error into an *providers.OpError carrying the
// sentinel (s3compat.Kind), the HTTP status, the service error code and
// the redacted cause. A cancelled or expired ctx keeps no sentinel.
func mapErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var code string
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	return s3compat.MapError(op, key, err, status(err), code)
}

// uploadErr maps an error of a call naming an upload ID: a 404 there means
// the upload, not the object, is unknown.
func uploadErr(op, key string, err error) error {
	return s3compat.UploadError(mapErr(op, key, err))
}

// status returns the HTTP status of an SDK error, 0 when none.
func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
