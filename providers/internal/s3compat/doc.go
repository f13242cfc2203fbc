// Package s3compat holds what the two S3 backends share and what does not
// depend on an SDK: providers/s3 (aws-sdk-go-v2) and providers/minio
// (minio-go) only map their SDK's calls and errors, and call in here for
// everything else, so sdk=aws and sdk=minio keep the same rules.
//
// It owns: the Options both backends take and the Capabilities they derive
// from them (options.go); endpoint, region and TLS transport resolution,
// with AWS_CA_BUNDLE (endpoint.go); connections that write a body held in
// memory in one write, and a section of a file with sendfile, instead of
// 32 KiB copies (conn.go, used by providers/minio); the S3 error-code table and the error
// classification (errors.go); the key and argument checks made before any
// request, and the prefix-conflict check (check.go); the exact-size upload
// body and the mapped download body (body.go); listing pages merged into
// byte order (list.go); and the SDK-independent halves of Get, Copy and
// multipart uploads (get.go, copy.go, multipart.go).
//
// Nothing here issues a request: where an algorithm needs the server it
// takes the backend's call as a function.
package s3compat
