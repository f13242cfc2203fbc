// Package azure is the Azure Blob Storage backend (azblob), for
// az://[:KEY@]ACCOUNT/CONTAINER[/PATH] addresses, and Azurite through
// ?endpoint=http://127.0.0.1:10000/devstoreaccount1.
//
// It only maps azblob calls and errors onto the providers contract. The
// SDK's retries are off (policy.RetryOptions{MaxRetries: -1}): transfer
// decides what to retry. Every error is a *providers.OpError whose cause
// prints only the HTTP status and the service error code (azcore's
// ResponseError text holds the request URL and the whole response body,
// which must not reach a log); errors.As still finds the ResponseError.
//
// Credentials: a shared key (the account key in the address), a SAS token
// (?sas= or AZURE_STORAGE_SAS_TOKEN), DefaultAzureCredential with
// ?tenant= / ?client_id=, or a caller's Options.Credential ("token").
// CredentialKind reports which. An account key or SAS that came from a
// credentials file (Address.CredentialsFile) is followed while the store
// is open (creds.go): a rotated key or renewed SAS written to the file is
// used from the next request, and a request refused with 401/403 looks
// at the file at once and is sent again when it changed.
//
// Presign: a service SAS for the one blob, signed with the account key, or
// a user-delegation SAS when the store uses an Azure AD token (Azurite
// 3.x cannot verify the SDK's newest user-delegation string-to-sign, so
// that case is tested for shape). A SAS store cannot sign (ErrUnsupported).
// An expired SAS or token is ErrExpired when the service says so
// (AuthenticationErrorDetail) or the SAS's se= has passed; HEAD answers
// carry no body, so there only se= tells.
//
// # Metadata
//
// Azure metadata names must be C# identifiers ([A-Za-z_][A-Za-z0-9_]*),
// case-insensitive. A lower-case key that is already one (mtime,
// md5chksum) is stored as is. Any other key ("x-storetest", "content.type")
// is stored reversibly as "byobx_" followed by the lower-case hex of its
// bytes, and decoded on Stat; so are keys that themselves start with
// "byobx_". Other tools see the encoded names. Values must be ASCII
// without control characters (they travel as HTTP headers).
//
// # Listings
//
// The contract wants byte-wise (UTF-8) order. Azure documents its listing
// order as lexicographic, and Azurite sorts by JavaScript string
// comparison, i.e. UTF-16 code units: there a name with a character above
// U+FFFF (a surrogate pair, D800-DFFF) sorts before one with U+E000-U+FFFF
// at the same position, the reverse of UTF-8. List therefore reorders
// through a small buffer (see reorder in list.go): an entry is emitted
// once no later entry of a UTF-16-ordered stream can sort before it in
// bytes, which is decided exactly from the last name received. Names
// without such characters pass straight through; the buffer only grows
// while the server walks names that share a prefix ending just before a
// supplementary character. With a server that sorts by bytes the rule
// holds too (it is then merely conservative). StartAfter is applied
// client-side (NativeStartAfter false): Azure's marker is opaque.
//
// # Multipart: staged blocks
//
// An upload stages blocks (Put Block) and commits a block list (Put Block
// List). There is no upload on the server: the upload ID is
// "azb1." + a random nonce (+ "." + base64url JSON of the content type and
// metadata given to CreateMultipart, which Azure cannot keep for an
// uncommitted blob), and block IDs are base64 of the nonce and the
// zero-padded part number, all of one length as Azure requires. ListParts
// reads the uncommitted block list and keeps the blocks of this nonce, so
// an upload can be resumed from its ID by another process for as long as
// the blocks live; an ID of another form is ErrUploadNotFound. Abort
// deletes nothing (Azure has no call for it) and returns nil; it only
// makes that handle refuse further calls (ErrUploadNotFound). Uncommitted
// blocks expire after 7 days, or at the blob's next commit.
//
// Put up to Options.SinglePutSize (32 MiB) buffers the body, checks its
// size exactly and sends one Put Blob (with Content-MD5 when the caller
// gives an MD5, which the service verifies); larger Puts stage blocks and
// commit them, checking the size before the commit.
//
// Concurrent writers: ANY commit of the blob (a Put, a Copy onto it, or
// another upload's Complete) discards every uncommitted block of that
// blob, including another writer's upload in progress, whose Complete
// then fails (ErrInvalidArgument, InvalidBlockList) or, if it restages,
// starts over. Two uploads of one key must not overlap; the layers above
// serialize writers per key.
package azure
