package providers

import (
	"strings"
	"testing"
)

// FuzzParseAddress checks that no input panics the parser, that an error
// never repeats the secret the input carried, and that the redacted form of
// a parsed address never contains its secret.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []struct{ secret, tail string }{
		{rawSecret, "s3.amazonaws.com/bucket/path?region=us-east-1"},
		{"se/cr+et@x", "bucket1/p"},
		{"%zzSECRET", "bucket1"},
		{"-----BEGIN%20KEY-----", "bucket/x@y"},
		{"abc", "host:9000/b?tls=false&endpoint=http://127.0.0.1:1"},
	} {
		f.Add("s3", "AKIA", s.secret, s.tail)
		f.Add("gs", "sa@p.iam.gserviceaccount.com", s.secret, s.tail)
		f.Add("az", "", s.secret, s.tail)
	}
	f.Fuzz(func(t *testing.T, scheme, user, secret, tail string) {
		in := scheme + "://" + user + ":" + secret + "@" + tail
		a, err := ParseAddress(in)
		if err != nil {
			msg := err.Error()
			if len(secret) >= 12 && !strings.Contains(tail, secret) && !strings.Contains(user, secret) &&
				!strings.Contains(scheme, secret) && strings.ContainsAny(secret, "0123456789/+%=") &&
				strings.Contains(msg, secret) {
				t.Fatalf("error text contains the secret: %q", msg)
			}
			return
		}
		if s := a.Secret; len(s) >= 8 && strings.Contains(a.Redacted(), s) {
			public := strings.Join([]string{a.Host, a.Bucket, a.Path, a.User, a.Region, a.Endpoint, a.Tenant, a.ClientID, a.KMSKeyID, a.Scheme, "***"}, "\x00")
			if !strings.Contains(public, s) {
				t.Fatalf("redacted form %q contains the secret", a.Redacted())
			}
		}
		if s := a.SAS; len(s) >= 8 && strings.Contains(a.Redacted(), s) {
			t.Fatalf("redacted form %q contains the SAS", a.Redacted())
		}
		// Any plain string parses without panicking too.
		_, _ = ParseAddress(tail)
	})
}
