package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/byobfs/byob/providers"
	"github.com/byobfs/byob/providers/credfile"
)

// Location is what a user-typed location resolves to: a local path, or a
// store address whose Path is the full key prefix (sub-path + given path).
type Location struct {
	// Local is set for a local filesystem path; Address is then unset.
	Local string
	// Address names the store; Address.Path is the key prefix.
	Address providers.Address
	// Root is the sub-path the location is confined to (a team's or
	// remote's path); Address.Path always starts with it.
	Root string
	// Source says where the address came from: "command line",
	// "BYOB_STORE", "BUCKET", "remote NAME", "team NAME", "instance".
	Source string
	// SecretOnCommandLine is true when the user typed a secret as an
	// argument, which `ps` shows to every user.
	SecretOnCommandLine bool
}

// IsLocal reports whether the location is a local path.
func (l Location) IsLocal() bool { return l.Local != "" }

// String is safe to print: local path or redacted address.
func (l Location) String() string {
	if l.IsLocal() {
		return l.Local
	}
	return l.Address.Redacted()
}

var remoteRef = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9_.-]*):(.*)$`)

// Resolver turns what users type into Locations.
type Resolver struct {
	// File is the config file (nil: none).
	File *File
	// FromEnv fills an address's credentials from the environment
	// (credentials = "env"): the backend registry's (providers.Registry).
	FromEnv func(*providers.Address) error
}

// Resolve turns what the user typed into a Location.
func (rv Resolver) Resolve(ref string) (Location, error) {
	f := rv.File
	if f == nil {
		f = &File{}
	}
	switch {
	case strings.Contains(ref, "://"):
		a, err := providers.ParseAddress(ref)
		if err != nil {
			return Location{}, err
		}
		return Location{Address: a, Source: "command line", SecretOnCommandLine: a.HasCredentials()}, nil
	case ref == "" || strings.HasPrefix(ref, ":"):
		return fromEnv(strings.TrimPrefix(ref, ":"))
	}
	if m := remoteRef.FindStringSubmatch(ref); m != nil {
		name, p := m[1], m[2]
		if name == "instance" && f.Instance != nil && f.Instance.Address != "" {
			return rv.named(*f.Instance, "", p, "instance")
		}
		if r, ok := f.Remotes[name]; ok {
			return rv.named(r, "", p, "remote "+name)
		}
		if t, ok := f.Teams[name]; ok {
			if t.Address == "" {
				// A team without a bucket of its own: the instance bucket under
				// instance.path, then the team's path.
				return rv.named(*f.Instance, t.Path, p, "team "+name)
			}
			return rv.named(t, "", p, "team "+name)
		}
		if _, err := os.Lstat(ref); err != nil && !strings.Contains(name, ".") {
			where := "no config file"
			if f.Path != "" {
				where = f.Path
			}
			known := strings.Join(f.Names(), ", ")
			if known == "" {
				known = "none"
			}
			return Location{}, fmt.Errorf("%w: no remote or team named %q in %s (known: %s); write ./%s for a local file", ErrConfig, name, where, known, ref)
		}
	}
	return Location{Local: ref}, nil
}

func (rv Resolver) named(r Remote, extraRoot, p, source string) (Location, error) {
	addr, err := Expand(r.Address)
	if err != nil {
		return Location{}, err
	}
	a, err := providers.ParseAddress(addr)
	if err != nil {
		return Location{}, fmt.Errorf("%s: %w", source, err)
	}
	if err := rv.applyCredentials(&a, r.Credentials); err != nil {
		return Location{}, fmt.Errorf("%s: %w", source, err)
	}
	root := a.Path
	sub, err := Expand(r.Path)
	if err != nil {
		return Location{}, err
	}
	root = providers.JoinKey(root, strings.Trim(sub, "/"))
	root = providers.JoinKey(root, strings.Trim(extraRoot, "/"))
	if hasDotDot(p) {
		return Location{}, fmt.Errorf("%w: %s: a path below a configured store may not contain \"..\" segments", ErrConfig, source)
	}
	if r.KMSKey != "" && a.KMSKeyID == "" {
		a.KMSKeyID = r.KMSKey
	}
	a.Path = joinBelow(root, p)
	return Location{Address: a, Root: root, Source: source}, nil
}

// joinBelow joins p under root, keeping a trailing "/" of p.
func joinBelow(root, p string) string {
	p = strings.TrimLeft(p, "/")
	if root == "" {
		return p
	}
	if p == "" {
		return root
	}
	return strings.TrimSuffix(root, "/") + "/" + p
}

func hasDotDot(p string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == ".." {
			return true
		}
	}
	return false
}

// fromEnv resolves BYOB_STORE, else the platform's BUCKET / GORILLA_FILE_STORE
// with BUCKET_PATH, AWS_REGION and AWS_S3_KMS_ID.
func fromEnv(p string) (Location, error) {
	if v := os.Getenv("BYOB_STORE"); v != "" {
		a, err := providers.ParseAddress(v)
		if err != nil {
			return Location{}, fmt.Errorf("BYOB_STORE: %w", err)
		}
		root := a.Path
		a.Path = joinBelow(root, p)
		return Location{Address: a, Root: root, Source: "BYOB_STORE"}, nil
	}
	for _, name := range []string{"BUCKET", "GORILLA_FILE_STORE"} {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		a, err := providers.ParseAddress(v)
		if err != nil {
			return Location{}, fmt.Errorf("%s: %w", name, err)
		}
		root := providers.JoinKey(a.Path, strings.Trim(os.Getenv("BUCKET_PATH"), "/"))
		if a.KMSKeyID == "" {
			a.KMSKeyID = os.Getenv("AWS_S3_KMS_ID")
		}
		a.Path = joinBelow(root, p)
		return Location{Address: a, Root: root, Source: name}, nil
	}
	return Location{}, fmt.Errorf("%w: no address given and neither BYOB_STORE nor BUCKET is set", ErrConfig)
}

// applyCredentials fills or clears the address's secrets by source.
func (rv Resolver) applyCredentials(a *providers.Address, source string) error {
	switch {
	case source == "" || source == "inline":
		return nil
	case source == "chain":
		a.User, a.Secret, a.SAS = "", "", ""
		return nil
	case source == "env":
		if rv.FromEnv == nil {
			return fmt.Errorf("%w: credentials = \"env\" is not available here", ErrConfig)
		}
		if err := rv.FromEnv(a); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
		return nil
	case strings.HasPrefix(source, "file:"):
		return CredentialsFromFile(a, strings.TrimPrefix(source, "file:"))
	}
	return fmt.Errorf("%w: unknown credentials source", ErrConfig)
}

// CredentialsFromFile reads KEY=VALUE lines (access_key_id,
// secret_access_key, account_key, sas_token, service_account, private_key)
// into the address and records the file (as an absolute path) in
// a.CredentialsFile, so the backends that can re-read it when it changes.
// Errors name the file and the line, never a value.
func CredentialsFromFile(a *providers.Address, path string) error {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	switch a.Scheme {
	case "s3", "cw", "az", "gs":
	default: // file:// takes no credentials
		if _, err := credfile.Read(path); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
		return nil
	}
	if err := credfile.UseFile(a, path); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}
