package testenv

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"golang.org/x/crypto/argon2"
)

// MinIOUser is a MinIO user made by AddUser.
type MinIOUser struct {
	AccessKey string
	SecretKey string
}

// AddUser creates a MinIO user with fresh random keys whose only policy
// allows everything on bucket, through the admin API (as `mc admin user
// add` and `mc admin policy attach` do), and returns its keys.
func (s *S3Server) AddUser(t testing.TB, bucket string) MinIOUser {
	t.Helper()
	u := MinIOUser{AccessKey: "byobuser" + randHex(t, 6), SecretKey: "s3cr/t+" + randHex(t, 16)}
	policyName := "byob-rw-" + bucket
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::%s","arn:aws:s3:::%s/*"]}]}`, bucket, bucket)
	s.admin(t, http.MethodPut, "add-canned-policy", url.Values{"name": {policyName}}, []byte(doc))
	body, err := json.Marshal(map[string]string{"secretKey": u.SecretKey, "status": "enabled"})
	if err != nil {
		t.Fatal(err)
	}
	s.admin(t, http.MethodPut, "add-user", url.Values{"accessKey": {u.AccessKey}}, encryptAdminData(t, s.SecretKey, body))
	s.admin(t, http.MethodPut, "set-user-or-group-policy", url.Values{
		"policyName": {policyName}, "userOrGroup": {u.AccessKey}, "isGroup": {"false"}}, nil)
	return u
}

// RemoveUser deletes a user made by AddUser: its keys stop working at once.
func (s *S3Server) RemoveUser(t testing.TB, accessKey string) {
	t.Helper()
	s.admin(t, http.MethodDelete, "remove-user", url.Values{"accessKey": {accessKey}}, nil)
}

// admin makes one signed request to MinIO's admin API (v3) as root and
// fails t unless it succeeds. Errors never hold the body sent.
func (s *S3Server) admin(t testing.TB, method, call string, q url.Values, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := s.URL + "/minio/admin/v3/" + call + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", payload)
	req.ContentLength = int64(len(body))
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, payload, "s3", s.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("minio admin %s: %v", call, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		t.Fatalf("minio admin %s: %s: %s", call, resp.Status, msg)
	}
}

// encryptAdminData is madmin.EncryptData (argon2id + AES-256-GCM, in
// sio-go's stream format), which MinIO's admin API wants for secrets:
// salt(32) || 0x00 || nonce(8) || the single final fragment sealed with
// nonce||seq (little-endian) and associated data 0x80||tag(empty header).
func encryptAdminData(t testing.TB, password string, data []byte) []byte {
	t.Helper()
	if len(data) > 1<<14 {
		t.Fatal("encryptAdminData: one fragment only")
	}
	salt := make([]byte, 32)
	nonce := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	key := argon2.IDKey([]byte(password), salt, 1, 64*1024, 4, 32)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	n := make([]byte, aead.NonceSize())
	copy(n, nonce)
	// The stream's header: the tag of an empty message under sequence 0.
	binary.LittleEndian.PutUint32(n[len(n)-4:], 0)
	ad := append([]byte{0x00}, aead.Seal(nil, n, nil, nil)...)
	// The final (and only) fragment under sequence 1.
	ad[0] = 0x80
	binary.LittleEndian.PutUint32(n[len(n)-4:], 1)
	out := append(append(append([]byte{}, salt...), 0x00), nonce...)
	return aead.Seal(out, n, data, ad)
}

func randHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
