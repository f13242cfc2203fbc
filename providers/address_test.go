package providers

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const rawSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

func TestParseAddressForms(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want Address
	}{
		{"docs form, endpoint then bucket", "s3://AKIAEXAMPLE:" + rawSecret + "@s3.us-west-2.amazonaws.com/wandb-bucket/team/path?region=us-west-2&tls=true",
			Address{Scheme: "s3", User: "AKIAEXAMPLE", Secret: rawSecret, Host: "s3.us-west-2.amazonaws.com", Bucket: "wandb-bucket", Path: "team/path", Region: "us-west-2", TLS: true}},
		{"helm form, bucket then path", "s3://AKIAEXAMPLE:" + rawSecret + "@wandb-bucket/wandb",
			Address{Scheme: "s3", User: "AKIAEXAMPLE", Secret: rawSecret, Bucket: "wandb-bucket", Path: "wandb", TLS: true}},
		{"no credentials", "s3://wandb-bucket/runs",
			Address{Scheme: "s3", Bucket: "wandb-bucket", Path: "runs", TLS: true}},
		{"url-encoded secret", "s3://AKIAEXAMPLE:wJalrXUtnFEMI%2FK7MDENG%2BbPxRfiCYEXAMPLEKEY@127.0.0.1:9000/bk1?tls=false",
			Address{Scheme: "s3", User: "AKIAEXAMPLE", Secret: rawSecret, Host: "127.0.0.1:9000", Bucket: "bk1", TLS: false}},
		{"host with port is endpoint", "s3://K:S@minio.internal:9000/scratch?tls=false",
			Address{Scheme: "s3", User: "K", Secret: "S", Host: "minio.internal:9000", Bucket: "scratch", TLS: false}},
		{"dotted host without path is the bucket", "s3://my.dotted.bucket",
			Address{Scheme: "s3", Bucket: "my.dotted.bucket", TLS: true}},
		{"endpoint param forces bucket reading", "s3://K:S@my.bucket/sub?endpoint=http%3A%2F%2F127.0.0.1%3A9000",
			Address{Scheme: "s3", User: "K", Secret: "S", Bucket: "my.bucket", Path: "sub", Endpoint: "http://127.0.0.1:9000", TLS: true}},
		{"sdk and kms", "s3://bucket?sdk=minio&kms=arn:aws:kms:us-east-1:1:key/abc",
			Address{Scheme: "s3", Bucket: "bucket", SDK: "minio", KMSKeyID: "arn:aws:kms:us-east-1:1:key/abc", TLS: true}},
		{"coreweave", "cw://CWKEY:" + rawSecret + "@cwobject.com/my-bucket?tls=true",
			Address{Scheme: "cw", User: "CWKEY", Secret: rawSecret, Host: "cwobject.com", Bucket: "my-bucket", TLS: true}},
		{"coreweave bucket only gets default endpoint", "cw://CWKEY:SECRET@my-bucket/runs",
			Address{Scheme: "cw", User: "CWKEY", Secret: "SECRET", Host: "cwobject.com", Bucket: "my-bucket", Path: "runs", TLS: true}},
		{"coreweave LOTA plain http", "cw://CWKEY:SECRET@cwlota.com/my-bucket?tls=false",
			Address{Scheme: "cw", User: "CWKEY", Secret: "SECRET", Host: "cwlota.com", Bucket: "my-bucket", TLS: false}},
		{"gcs service account", "gs://sa@proj.iam.gserviceaccount.com:-----BEGIN%20PRIVATE%20KEY-----%0AMIIE%2Bab%2Fcd%3D%0A-----END%20PRIVATE%20KEY-----%0A@wandb-gcs/team",
			Address{Scheme: "gs", User: "sa@proj.iam.gserviceaccount.com", Secret: "-----BEGIN PRIVATE KEY-----\nMIIE+ab/cd=\n-----END PRIVATE KEY-----\n", Bucket: "wandb-gcs", Path: "team", TLS: true}},
		{"gcs adc", "gs://wandb-gcs", Address{Scheme: "gs", Bucket: "wandb-gcs", TLS: true}},
		{"azure shared key", "az://:a2V5%2Bkey%2F%3D%3D@omegaacct/omega/runs",
			Address{Scheme: "az", Secret: "a2V5+key/==", Host: "omegaacct", Bucket: "omega", Path: "runs", TLS: true}},
		{"azure sas + tenant", "az://omegaacct/omega?sas=sv%3D2024%26sig%3Dabc&tenant=t1&client_id=c1",
			Address{Scheme: "az", Host: "omegaacct", Bucket: "omega", SAS: "sv=2024&sig=abc", Tenant: "t1", ClientID: "c1", TLS: true}},
		{"azurite endpoint", "az://:KEY@devstoreaccount1/cn1?endpoint=http://127.0.0.1:10000/devstoreaccount1",
			Address{Scheme: "az", Secret: "KEY", Host: "devstoreaccount1", Bucket: "cn1", Endpoint: "http://127.0.0.1:10000/devstoreaccount1", TLS: true}},
		{"file", "file:///tmp/bucket", Address{Scheme: "file", Bucket: "/tmp/bucket"}},
		{"file trailing slash", "file:///tmp/bucket/", Address{Scheme: "file", Bucket: "/tmp/bucket/"}},
		{"path with odd segments kept", "s3://bucket/a//b/../c/", Address{Scheme: "s3", Bucket: "bucket", Path: "a//b/../c/", TLS: true}},
		{"ipv6 endpoint", "s3://K:S@[::1]:9000/bk1", Address{Scheme: "s3", User: "K", Secret: "S", Host: "[::1]:9000", Bucket: "bk1", TLS: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseAddress(c.in)
			require.NoError(t, err)
			got.Reading = ""
			require.Equal(t, c.want.Redacted(), got.Redacted())
			require.Equal(t, c.want.User, got.User)
			require.Equal(t, c.want.Secret, got.Secret)
			require.Equal(t, c.want.SAS, got.SAS)
			require.Equal(t, c.want.Host, got.Host)
			require.Equal(t, c.want.Bucket, got.Bucket)
			require.Equal(t, c.want.Path, got.Path)
			require.Equal(t, c.want.TLS, got.TLS)
			require.Equal(t, c.want.Endpoint, got.Endpoint)
		})
	}
}

func TestParseAddressReading(t *testing.T) {
	for in, want := range map[string]string{
		"s3://K:S@s3.amazonaws.com/bk1":              "is the endpoint: a dotted domain",
		"s3://K:S@bucket1/x":                         "is the bucket",
		"s3://K:S@10.0.0.1/bk1":                      "it is an IP address",
		"s3://K:S@host:9000/bk1":                     "it has a port",
		"s3://K:S@b.c/x?endpoint=http://127.0.0.1:1": "endpoint= given",
	} {
		a, err := ParseAddress(in)
		require.NoError(t, err, in)
		require.Contains(t, a.Reading, want, in)
	}
}

func TestParseAddressErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "starts with a scheme"},
		{"bucket/path", "starts with a scheme"},
		{"ftp://x/y", `unknown scheme "ftp"`},
		{"s3://", "missing host or bucket"},
		{"s3://K:" + rawSecret + "@s3.amazonaws.com:443", "missing bucket"},
		{"s3://K:%zz" + rawSecret + "@bucket1", "bad %-escape in the secret"},
		{"s3://bucket1?colour=red", `unknown parameter "colour"`},
		{"s3://bucket1?tls=maybe", "tls must be true or false"},
		{"s3://bucket1?region=a&region=b", "given 2 times"},
		{"s3://b", "bucket name must be"},
		{"s3://K:S@host/bucket/a@b", "ambiguous"},
		{"s3://127.0.0.1:9000/bucket/x:y@z", "ambiguous"},
		{"cw://K:S@cwobject.com/my_bucket", "cannot contain '_'"},
		{"cw://K:S@cwobject.com/cw-bucket", "reserved"},
		{"cw://K:S@cwobject.com/vip-bucket", "reserved"},
		{"cw://K:S@cwobject.com/MyBucket", "DNS-compatible"},
		{"gs://notanemail:KEY@bucket1", "SERVICE_ACCOUNT_EMAIL"},
		{"az://user:KEY@acct1/cn1", "empty user"},
		{"az://:KEY@acct1", "missing container"},
		{"az://:KEY@Bad_Account/cn1", "storage account names"},
		{"az://:KEY@badaccount!/cn1", "credentials must be"},
		{"file://relative/dir", "absolute path"},
		{"file:///x?y=1", "path only"},
		{"s3://bucket1?endpoint=ftp://x", "endpoint must be"},
		{"s3://bucket1?sas=x", "az:// only"},
		{"gs://bucket1?sdk=aws", "s3:// only"},
		{"s3://K:S@/bucket", "credentials must be"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			_, err := ParseAddress(c.in)
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrInvalidAddress))
			require.Contains(t, err.Error(), c.want)
			for _, secret := range []string{rawSecret, "%zz" + rawSecret} {
				require.NotContains(t, err.Error(), secret)
			}
		})
	}
}

func TestRedactionEverywhere(t *testing.T) {
	addrs := []string{
		"s3://AKIAEXAMPLE:" + rawSecret + "@s3.amazonaws.com/bk1/p",
		"cw://CW:" + rawSecret + "@cwobject.com/bk1",
		"gs://sa@p.iam.gserviceaccount.com:" + "PRIVATEKEYMATERIAL%2Babc" + "@bk1",
		"az://:" + "ACCOUNTKEYMATERIAL%3D%3D" + "@acct1/cn1",
		"az://acct1/cn1?sas=sv%3D2024%26sig%3DSASSIGNATURE123",
	}
	secrets := []string{rawSecret, "PRIVATEKEYMATERIAL", "ACCOUNTKEYMATERIAL", "SASSIGNATURE123", "AKIAEXAMPLE"}
	for _, in := range addrs {
		a, err := ParseAddress(in)
		require.NoError(t, err)
		js, err := json.Marshal(map[string]any{"a": a, "p": &a})
		require.NoError(t, err)
		var logBuf strings.Builder
		slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "addr", a)
		outs := []string{
			a.String(), a.Redacted(), fmt.Sprint(a), fmt.Sprintf("%v %+v %#v %s %q %d %x", a, a, a, a, a, a, a),
			fmt.Sprintf("%v %+v", &a, []Address{a}), string(js), logBuf.String(),
		}
		for _, o := range outs {
			for _, s := range secrets {
				require.NotContains(t, o, s, "leak in %q", o)
			}
		}
		require.Contains(t, a.Redacted(), "***")
		// The redacted form parses again to the same non-secret fields.
		b, err := ParseAddress(a.Redacted())
		require.NoError(t, err)
		require.Equal(t, a.Bucket, b.Bucket)
		require.Equal(t, a.Path, b.Path)
		require.Equal(t, a.Host, b.Host)
	}
}

func TestRedactText(t *testing.T) {
	in := `Get "https://b.s3.amazonaws.com/k?X-Amz-Signature=abcdef0123&X-Amz-Credential=AKIA%2F": dial tcp: refused; also s3://K:se/cr+et@host/b and sig=SASSIG123&se=2025`
	out := RedactText(in)
	for _, s := range []string{"abcdef0123", "se/cr+et", "SASSIG123", "AKIA%2F"} {
		require.NotContains(t, out, s)
	}
	require.Contains(t, out, "https://b.s3.amazonaws.com/k?***")
}

func TestJoinKey(t *testing.T) {
	require.Equal(t, "a/b", JoinKey("a", "b"))
	require.Equal(t, "a/b", JoinKey("a/", "b"))
	require.Equal(t, "b", JoinKey("", "b"))
	require.Equal(t, "a", JoinKey("a", ""))
	require.Equal(t, "a//b", JoinKey("a/", "/b"))
}

// StoreID names what selects the data (scheme, endpoint, bucket, sub-path)
// and nothing else: credentials and settings do not change it, a sub-path
// does.
func TestStoreID(t *testing.T) {
	id := func(s string) string {
		t.Helper()
		a, err := ParseAddress(s)
		require.NoError(t, err)
		return a.StoreID()
	}
	same := [][]string{
		{"s3://K:S@minio.local:9000/bkt/runs?region=us-east-1&tls=false", "s3://minio.local:9000/bkt/runs/", "s3://K2:S2@minio.local:9000/bkt/runs?sdk=aws&kms=k"},
		{"az://:KEY@acct/cont/p?endpoint=http://127.0.0.1:10000/devstoreaccount1", "az://acct/cont/p?endpoint=http://127.0.0.1:10000/devstoreaccount1&sas=sv%3Dx"},
		{"gs://me%40x.iam:KEY@bkt/p", "gs://bkt/p"},
		{"file:///data/bucket/team/", "file:///data/bucket/team"},
	}
	for _, g := range same {
		for _, s := range g[1:] {
			require.Equal(t, id(g[0]), id(s), "%s vs %s", g[0], s)
		}
	}
	distinct := []string{
		"s3://minio.local:9000/bkt/runs", "s3://minio.local:9000/bkt/other", "s3://minio.local:9000/bkt",
		"s3://minio.local:9000/ckt/runs", "s3://other.local:9000/bkt/runs", "cw://K:S@cwobject.com/bkt/runs",
		"gs://bkt/p", "gs://bkt/q", "az://acct/cont/p", "az://acct2/cont/p", "file:///data/bucket/a", "file:///data/bucket/b",
	}
	seen := map[string]string{}
	for _, s := range distinct {
		i := id(s)
		require.NotContains(t, seen, i, "%s and %s share %s", s, seen[i], i)
		seen[i] = s
	}
	// A team's sub-path joined by configuration names the same data as
	// the address that spells it out.
	a, err := ParseAddress("file:///data/bucket")
	require.NoError(t, err)
	require.Equal(t, id("file:///data/bucket/team/x"), a.WithPath("team/x").StoreID())
	require.NotEqual(t, a.WithPath("a").StoreID(), a.WithPath("b").StoreID())
	require.NotContains(t, id("s3://AKIAXXXX:SECRETXXXX@minio.local:9000/bkt"), "SECRETXXXX")
	require.NotContains(t, id("s3://AKIAXXXX:SECRETXXXX@minio.local:9000/bkt"), "AKIAXXXX")
}

// FormerStoreID is what caches were keyed by before StoreID; entries are
// adopted from it, so its text must not drift.
func TestFormerStoreIDPinned(t *testing.T) {
	for in, want := range map[string]string{
		"file:///data/bucket":                         "file:///data/bucket",
		"s3://K:S@minio.local:9000/bkt/runs?region=r": "s3://***:***@minio.local:9000/bkt/runs?region=r",
		"gs://me%40x.iam:KEY@bkt/p":                   "gs://me@x.iam:***@bkt/p",
		"az://:KEY@acct/cont?sas=x":                   "az://:***@acct/cont?sas=***",
	} {
		a, err := ParseAddress(in)
		require.NoError(t, err)
		require.Equal(t, want, a.FormerStoreID(), in)
	}
	a, err := ParseAddress("file:///data/bucket")
	require.NoError(t, err)
	require.Equal(t, "file:///data/bucket", a.WithPath("team").FormerStoreID(), "file:// dropped the sub-path")
	require.Equal(t, "file:///data/bucket/team", a.WithPath("team").Redacted())
}
