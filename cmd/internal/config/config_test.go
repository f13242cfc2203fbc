package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/s3"
)

const sample = `
cache_dir  = "/var/cache/byob"
cache_size = "50GiB"

[remotes.scratch]
address = "s3://minio.internal:9000/scratch?tls=false"
credentials = "env"

[remotes.inline]
address = "s3://AKIA:rawSecret/with+chars@minio.internal:9000/inl/base?tls=false"
path = "sub"

[instance]
address = "s3://wandb-prod-bucket?region=us-east-1"
path    = "wandb"
kms_key = "arn:aws:kms:us-east-1:1:key/k"

[teams.omega]
address = "az://:${OMEGA_KEY}@omegaacct/omega"
path    = "runs"

[teams.kappa]
`

func write(t *testing.T, text string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	require.NoError(t, os.WriteFile(p, []byte(text), mode))
	return p
}

func TestLoadAndResolve(t *testing.T) {
	p := write(t, sample, 0o600)
	f, err := Load(p)
	require.NoError(t, err)
	require.Empty(t, f.Warnings)
	require.Equal(t, []string{"inline", "instance", "kappa", "omega", "scratch"}, f.Names())

	t.Setenv("OMEGA_KEY", "b21lZ2E+key/==")
	l, err := testResolver(f).Resolve("omega:2024/run1")
	require.NoError(t, err)
	require.Equal(t, "az", l.Address.Scheme)
	require.Equal(t, "b21lZ2E+key/==", l.Address.Secret)
	require.Equal(t, "runs", l.Root)
	require.Equal(t, "runs/2024/run1", l.Address.Path)
	require.Equal(t, "team omega", l.Source)
	require.NotContains(t, l.String(), "b21lZ2E")

	l, err = testResolver(f).Resolve("kappa:ent/proj")
	require.NoError(t, err)
	require.Equal(t, "wandb-prod-bucket", l.Address.Bucket)
	require.Equal(t, "wandb", l.Root)
	require.Equal(t, "wandb/ent/proj", l.Address.Path)
	require.Equal(t, "arn:aws:kms:us-east-1:1:key/k", l.Address.KMSKeyID)

	l, err = testResolver(f).Resolve("inline:x/")
	require.NoError(t, err)
	require.Equal(t, "rawSecret/with+chars", l.Address.Secret)
	require.Equal(t, "base/sub/x/", l.Address.Path)

	t.Setenv("AWS_ACCESS_KEY_ID", "envkey")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
	l, err = testResolver(f).Resolve("scratch:")
	require.NoError(t, err)
	require.Equal(t, "envkey", l.Address.User)
	require.Equal(t, "", l.Address.Path)

	_, err = testResolver(f).Resolve("omega:../../other")
	require.ErrorIs(t, err, ErrConfig)
	require.Contains(t, err.Error(), `".."`)

	_, err = testResolver(f).Resolve("nosuch:x")
	require.ErrorIs(t, err, ErrConfig)
	require.Contains(t, err.Error(), `no remote or team named "nosuch"`)

	l, err = testResolver(f).Resolve("./local/file")
	require.NoError(t, err)
	require.True(t, l.IsLocal())
}

func TestMissingVariable(t *testing.T) {
	f, err := Load(write(t, sample, 0o600))
	require.NoError(t, err)
	os.Unsetenv("OMEGA_KEY")
	_, err = testResolver(f).Resolve("omega:x")
	require.ErrorIs(t, err, ErrConfig)
	require.Contains(t, err.Error(), "OMEGA_KEY not set")
}

func TestWorldReadableSecretsWarn(t *testing.T) {
	f, err := Load(write(t, sample, 0o644))
	require.NoError(t, err)
	require.Len(t, f.Warnings, 1)
	require.Contains(t, f.Warnings[0], "chmod 600")
	require.NotContains(t, f.Warnings[0], "rawSecret")

	// Only ${VAR} references: nothing secret in the file, no warning.
	f, err = Load(write(t, "[teams.omega]\naddress = \"az://:${OMEGA_KEY}@omegaacct/omega\"\n", 0o644))
	require.NoError(t, err)
	require.Empty(t, f.Warnings)
}

func TestBadFiles(t *testing.T) {
	for text, want := range map[string]string{
		"[remotes.x]\npath = \"p\"\n":                       "has no address",
		"[remotes.x]\naddress = \"s3://bkt\"\ncolour = 1\n": "unknown setting",
		"[remotes.x\n":              "to end table name",
		"[teams.t]\npath = \"p\"\n": "no [instance] address",
		"[remotes.a]\naddress=\"s3://bkt\"\n[teams.a]\naddress=\"s3://bkt\"\n": "both a remote and a team",
		"[remotes.x]\naddress = \"s3://bkt\"\ncredentials = \"magic\"\n":       "credentials must be",
	} {
		_, err := Load(write(t, text, 0o600))
		require.ErrorIs(t, err, ErrConfig, text)
		require.Contains(t, err.Error(), want, text)
	}
	_, err := Load(filepath.Join(t.TempDir(), "missing.toml"))
	require.ErrorIs(t, err, ErrConfig)
	// A missing default file is an empty config.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("BYOB_CONFIG", "")
	f, err := Load("")
	require.NoError(t, err)
	require.Empty(t, f.Names())
}

func TestEnvSources(t *testing.T) {
	t.Setenv("BYOB_STORE", "s3://K:S@127.0.0.1:9000/bkt/base?tls=false")
	t.Setenv("BUCKET", "s3://other-bucket")
	l, err := testResolver(nil).Resolve(":x/y")
	require.NoError(t, err)
	require.Equal(t, "BYOB_STORE", l.Source)
	require.Equal(t, "base/x/y", l.Address.Path)
	require.False(t, l.SecretOnCommandLine)

	os.Unsetenv("BYOB_STORE")
	t.Setenv("BUCKET_PATH", "wandb")
	t.Setenv("AWS_S3_KMS_ID", "kms1")
	l, err = testResolver(nil).Resolve("")
	require.NoError(t, err)
	require.Equal(t, "BUCKET", l.Source)
	require.Equal(t, "other-bucket", l.Address.Bucket)
	require.Equal(t, "wandb", l.Address.Path)
	require.Equal(t, "kms1", l.Address.KMSKeyID)

	os.Unsetenv("BUCKET")
	_, err = testResolver(nil).Resolve("")
	require.True(t, errors.Is(err, ErrConfig))
}

func TestCommandLineSecretFlagged(t *testing.T) {
	l, err := testResolver(nil).Resolve("s3://K:S@127.0.0.1:9000/bkt")
	require.NoError(t, err)
	require.True(t, l.SecretOnCommandLine)
	_, err = testResolver(nil).Resolve("s3://K:S@127.0.0.1:9000")
	require.ErrorIs(t, err, providers.ErrInvalidAddress)
}

func TestCredentialsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "creds")
	require.NoError(t, os.WriteFile(p, []byte("# rotated daily\naccess_key_id = AK1\nsecret_access_key = \"se/cr+et\"\n"), 0o600))
	f, err := Load(write(t, "[remotes.r]\naddress = \"s3://127.0.0.1:9000/bkt?tls=false\"\ncredentials = \"file:"+p+"\"\n", 0o600))
	require.NoError(t, err)
	l, err := testResolver(f).Resolve("r:")
	require.NoError(t, err)
	require.Equal(t, "AK1", l.Address.User)
	require.Equal(t, "se/cr+et", l.Address.Secret)
	require.Equal(t, p, l.Address.CredentialsFile, "the backends follow the file")

	require.NoError(t, os.WriteFile(p, []byte("access_key_id AK1\n"), 0o600))
	_, err = testResolver(f).Resolve("r:")
	require.ErrorIs(t, err, ErrConfig)
	require.Contains(t, err.Error(), "line 1")
}

// testResolver resolves with f and the s3 backend's environment
// credentials (credentials = "env" for s3:// remotes).
func testResolver(f *File) Resolver { return Resolver{File: f, FromEnv: s3.Backend().FromEnv} }
