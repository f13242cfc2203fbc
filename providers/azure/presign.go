package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/byobfs/byob/providers"
)

// maxDelegationExpiry is the longest a user delegation key (and so a
// user-delegation SAS) may live.
const maxDelegationExpiry = 7 * 24 * time.Hour

// sasClockSkew back-dates a SAS's start, so a server whose clock is a
// little behind still accepts it.
const sasClockSkew = 5 * time.Minute

// Presign implements providers.Presigner with a service SAS for the one
// blob: signed with the account key when the address holds it, or a
// user-delegation SAS (Get User Delegation Key, then signed with that key)
// when the store authenticates with an Azure AD token (CredDefault,
// CredToken; at most 7 days). A store opened with a SAS cannot sign
// another: ErrUnsupported.
//
// GET and HEAD get read permission, PUT create and write, DELETE delete.
// A part of an upload (UploadID, PartNumber) is a Put Block URL
// (comp=block&blockid=...) for the upload's block ID. For a whole-blob
// PUT the returned headers must be sent: x-ms-blob-type, the content
// type, encoded metadata (x-ms-meta-*) and the conditions (If-Match,
// If-None-Match).
func (s *Store) Presign(ctx context.Context, req providers.PresignRequest) (string, http.Header, error) {
	const op = "presign"
	key := req.Key
	bad := func(kind error, format string, args ...any) (string, http.Header, error) {
		return "", nil, providers.NewOpError(op, key, kind, fmt.Errorf(format, args...))
	}
	if err := s.checkKey(op, key); err != nil {
		return "", nil, err
	}
	method := strings.ToUpper(req.Method)
	var perms sas.BlobPermissions
	switch method {
	case http.MethodGet, http.MethodHead:
		perms.Read = true
	case http.MethodPut:
		perms.Create, perms.Write = true, true
	case http.MethodDelete:
		perms.Delete = true
	default:
		return bad(providers.ErrInvalidArgument, "method %q cannot be pre-signed", req.Method)
	}
	if req.Expiry <= 0 {
		return bad(providers.ErrInvalidArgument, "expiry %v is not positive", req.Expiry)
	}
	var query string
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
		query = "comp=block&blockid=" + strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(blockID(u.(*upload).nonce, req.PartNumber))
	}
	now := time.Now().UTC()
	v := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPS,
		StartTime:     now.Add(-sasClockSkew),
		ExpiryTime:    now.Add(req.Expiry),
		Permissions:   perms.String(),
		ContainerName: s.container,
		BlobName:      key,
	}
	if strings.HasPrefix(s.svcURL, "http://") {
		v.Protocol = sas.ProtocolHTTPSandHTTP // an emulator on plain http
	}
	var (
		qp  sas.QueryParameters
		err error
	)
	switch {
	case s.sharedKey != nil:
		if s.creds != nil {
			s.creds.refresh() // sign with the file's key, even before any request
		}
		qp, err = v.SignWithSharedKey(s.sharedKey)
	case s.token != nil:
		if req.Expiry > maxDelegationExpiry {
			return bad(providers.ErrInvalidArgument, "a user-delegation SAS lives at most 7 days, not %v", req.Expiry)
		}
		svc, cerr := service.NewClient(s.svcURL+"/", s.token, &service.ClientOptions{ClientOptions: s.clientOpt})
		if cerr != nil {
			return "", nil, providers.NewOpError(op, key, providers.ErrInvalidAddress, cerr)
		}
		start, expiry := v.StartTime.Format(sas.TimeFormat), v.ExpiryTime.Format(sas.TimeFormat)
		udc, uerr := svc.GetUserDelegationCredential(ctx, service.KeyInfo{Start: &start, Expiry: &expiry}, nil)
		if uerr != nil {
			return "", nil, mapErr(op, key, uerr)
		}
		qp, err = v.SignWithUserDelegation(udc)
	default:
		return bad(providers.ErrUnsupported, "a store opened with a SAS cannot sign another (give the account key, or use Azure AD)")
	}
	if err != nil {
		return "", nil, providers.NewOpError(op, key, providers.ErrInvalidArgument, errors.New(providers.RedactText(err.Error())))
	}
	raw := s.cont.NewBlobClient(key).URL() + "?" + qp.Encode()
	if query != "" {
		raw += "&" + query
	}
	h := http.Header{}
	if method == http.MethodPut && req.UploadID == "" {
		p := req.Put
		if err := checkIfNoneMatch(op, key, p.IfNoneMatch); err != nil {
			return "", nil, err
		}
		h.Set("x-ms-blob-type", "BlockBlob")
		if p.ContentType != "" {
			h.Set("Content-Type", p.ContentType)
		}
		meta, err := encodeMeta(op, key, p.Metadata)
		if err != nil {
			return "", nil, err
		}
		names := make([]string, 0, len(meta))
		for k := range meta {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			h.Set("x-ms-meta-"+k, *meta[k])
		}
		if p.IfNoneMatch == "*" {
			h.Set("If-None-Match", "*")
		}
		if p.IfMatch != "" {
			h.Set("If-Match", p.IfMatch)
		}
	}
	return raw, h, nil
}
