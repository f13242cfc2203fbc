package faulty

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Dialect is the storage API a proxy stands in front of. It decides how
// requests are classified and how made-up errors look.
type Dialect uint8

const (
	// S3 is the S3 REST API (AWS, MinIO, CoreWeave): XML errors.
	S3 Dialect = iota
	// GCS is the Cloud Storage JSON API (fake-gcs-server): JSON errors on
	// /storage/ and /upload/ paths, XML errors on XML-API paths.
	GCS
	// Azure is the Blob REST API (Azurite): XML errors plus x-ms-error-code.
	Azure
)

func (d Dialect) String() string {
	switch d {
	case S3:
		return "s3"
	case GCS:
		return "gcs"
	case Azure:
		return "azure"
	}
	return fmt.Sprintf("Dialect(%d)", uint8(d))
}

// throttleError returns the code and message the dialect's servers send
// when they throttle with status (503, or 429 where the service uses it).
func (d Dialect) throttleError(status int) (code, message string) {
	switch d {
	case GCS:
		if status == http.StatusTooManyRequests {
			return "rateLimitExceeded", "The rate of change requests to the object exceeds the rate limit. Please reduce the rate of create, update, and delete requests."
		}
		return "backendError", "We encountered an internal error. Please try again."
	case Azure:
		return "ServerBusy", "The server is currently unable to receive requests. Please retry your request."
	}
	return "SlowDown", "Please reduce your request rate."
}

// internalError returns the code and message of the dialect's 500.
func (d Dialect) internalError() (code, message string) {
	switch d {
	case GCS:
		return "backendError", "Internal Error"
	case Azure:
		return "InternalError", "The server encountered an internal error. Please retry the request."
	}
	return "InternalError", "We encountered an internal error. Please try again."
}

// errorResponse renders the error the dialect's servers send for status,
// code and message, with the headers that go with it. requestID is put
// where the service puts its own.
func (d Dialect) errorResponse(r *http.Request, status int, code, message, requestID string) (http.Header, []byte) {
	h := http.Header{}
	switch {
	case d == GCS && isGCSJSONPath(r.URL.Path):
		type item struct {
			Message string `json:"message"`
			Domain  string `json:"domain"`
			Reason  string `json:"reason"`
		}
		type body struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Errors  []item `json:"errors"`
			} `json:"error"`
		}
		var b body
		b.Error.Code = status
		b.Error.Message = message
		domain := "global"
		if status == http.StatusTooManyRequests {
			domain = "usageLimits"
		}
		b.Error.Errors = []item{{Message: message, Domain: domain, Reason: code}}
		out, _ := json.Marshal(b)
		h.Set("Content-Type", "application/json; charset=UTF-8")
		h.Set("X-Guploader-Uploadid", requestID)
		return h, out
	case d == Azure:
		now := time.Now().UTC()
		var sb strings.Builder
		sb.WriteString(`<?xml version="1.0" encoding="utf-8"?><Error><Code>`)
		xmlEscape(&sb, code)
		sb.WriteString(`</Code><Message>`)
		xmlEscape(&sb, fmt.Sprintf("%s\nRequestId:%s\nTime:%s", message, requestID, now.Format("2006-01-02T15:04:05.0000000Z")))
		sb.WriteString(`</Message></Error>`)
		h.Set("Content-Type", "application/xml")
		h.Set("X-Ms-Error-Code", code)
		h.Set("X-Ms-Request-Id", requestID)
		h.Set("X-Ms-Version", "2025-01-05")
		h.Set("Date", now.Format(http.TimeFormat))
		return h, []byte(sb.String())
	}
	// S3, and GCS's XML API.
	var sb strings.Builder
	sb.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>")
	xmlEscape(&sb, code)
	sb.WriteString("</Code><Message>")
	xmlEscape(&sb, message)
	sb.WriteString("</Message><Resource>")
	xmlEscape(&sb, r.URL.Path)
	sb.WriteString("</Resource><RequestId>")
	xmlEscape(&sb, requestID)
	sb.WriteString("</RequestId></Error>")
	h.Set("Content-Type", "application/xml")
	h.Set("X-Amz-Request-Id", requestID)
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	return h, []byte(sb.String())
}

func xmlEscape(sb *strings.Builder, s string) {
	_ = xml.EscapeText(sb, []byte(s))
}

func requestID(n int64) string { return "faulty-" + strconv.FormatInt(n, 10) }
