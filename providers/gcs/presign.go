package gcs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/storage"

	"github.com/byobfs/byob/providers"
)

// maxPresignExpiry is the longest a V4 signed URL may live.
const maxPresignExpiry = 7 * 24 * time.Hour

// Presign implements providers.Presigner with V4 signed URLs, signed
// locally with the address's service-account key; with Application Default
// Credentials the library signs with what ADC holds (a service-account key
// file, or the IAM signBlob API). Unauthenticated stores (emulators
// without a key) cannot sign: ErrUnsupported.
//
// With an ?endpoint= the URL names that host (http when the endpoint is
// http), path style. A part of a composed upload (UploadID, PartNumber) is
// a PUT of the part's temporary object. The returned headers are signed
// and must be sent: Content-Type, x-goog-meta-* and the create-only or
// generation condition (x-goog-if-generation-match).
func (s *Store) Presign(ctx context.Context, req providers.PresignRequest) (string, http.Header, error) {
	const op = "presign"
	key := req.Key
	bad := func(kind error, format string, args ...any) (string, http.Header, error) {
		return "", nil, providers.NewOpError(op, key, kind, fmt.Errorf(format, args...))
	}
	method := strings.ToUpper(req.Method)
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
	default:
		return bad(providers.ErrInvalidArgument, "method %q cannot be pre-signed", req.Method)
	}
	if req.Expiry <= 0 || req.Expiry > maxPresignExpiry {
		return bad(providers.ErrInvalidArgument, "expiry %v outside (0, 7 days]", req.Expiry)
	}
	name := key
	if req.UploadID != "" {
		if method != http.MethodPut {
			return bad(providers.ErrInvalidArgument, "a part is pre-signed for PUT only")
		}
		if req.PartNumber < 1 || req.PartNumber > maxParts {
			return bad(providers.ErrInvalidArgument, "part number %d outside 1..%d", req.PartNumber, maxParts)
		}
		u, err := s.ResumeMultipart(ctx, key, req.UploadID)
		if err != nil {
			return "", nil, err
		}
		name = u.(*upload).partName(req.PartNumber)
	} else if err := s.checkKey(op, key); err != nil {
		return "", nil, err
	}
	email, pemKey := s.signer()
	if s.credKind == CredentialNone && len(pemKey) == 0 {
		return bad(providers.ErrUnsupported, "pre-signed URLs need credentials: a service-account key in the address, or ADC")
	}
	o := &storage.SignedURLOptions{
		Scheme:  storage.SigningSchemeV4,
		Method:  method,
		Expires: time.Now().Add(padExpiry(req.Expiry)),
		Style:   storage.PathStyle(),
	}
	if len(pemKey) > 0 {
		o.GoogleAccessID, o.PrivateKey = email, pemKey
	}
	if s.endpoint != "" {
		eu, err := url.Parse(s.endpoint)
		if err != nil || eu.Host == "" {
			return bad(providers.ErrInvalidAddress, "the endpoint is not a URL")
		}
		o.Hostname, o.Insecure = eu.Host, eu.Scheme == "http"
	}
	h := http.Header{}
	if method == http.MethodPut && req.UploadID == "" {
		p := req.Put
		if p.IfNoneMatch != "" && p.IfNoneMatch != "*" {
			return bad(providers.ErrInvalidArgument, "%v", errIfNoneMatch)
		}
		if p.ContentType != "" {
			o.ContentType = p.ContentType
			h.Set("Content-Type", p.ContentType)
		}
		meta := writeMetadata(p.Metadata)
		keys := make([]string, 0, len(meta))
		for k := range meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := meta[k]
			if strings.ContainsAny(v, "\r\n") {
				return bad(providers.ErrInvalidArgument, "metadata %q holds a line break", k)
			}
			h.Set("x-goog-meta-"+k, v)
		}
		switch {
		case p.IfNoneMatch == "*":
			h.Set("x-goog-if-generation-match", "0")
		case p.IfMatch != "":
			g, err := parseGeneration(op, key, p.IfMatch)
			if err != nil {
				return "", nil, err
			}
			h.Set("x-goog-if-generation-match", strconv.FormatInt(g, 10))
		}
	}
	for k, vs := range h {
		if k == "Content-Type" {
			continue // signed through ContentType
		}
		o.Headers = append(o.Headers, strings.ToLower(k)+":"+vs[0])
	}
	sort.Strings(o.Headers)
	u, err := s.bucket.SignedURL(name, o)
	if err != nil {
		kind := providers.ErrPermission
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			kind = nil
		}
		return "", nil, providers.NewOpError(op, key, kind, errors.New(providers.RedactText(err.Error())))
	}
	return u, h, nil
}

// padExpiry adds half a second, so the whole seconds the library computes
// from its own clock (X-Goog-Expires) come out as asked.
func padExpiry(d time.Duration) time.Duration {
	if d+time.Second/2 > maxPresignExpiry {
		return d
	}
	return d + time.Second/2
}
