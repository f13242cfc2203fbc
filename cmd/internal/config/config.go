package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// ErrConfig marks a problem with the configuration file or a location.
var ErrConfig = errors.New("config")

// File is the parsed configuration file.
type File struct {
	CacheDir  string            `toml:"cache_dir"`
	CacheSize string            `toml:"cache_size"`
	Remotes   map[string]Remote `toml:"remotes"`
	Instance  *Remote           `toml:"instance"`
	Teams     map[string]Remote `toml:"teams"`

	// Path is where the file was read from ("" when none was found).
	Path string `toml:"-"`
	// Warnings found while loading (a file holding secrets readable by others).
	Warnings []string `toml:"-"`
}

// Remote is a named store: a [remotes.NAME], the [instance] or a [teams.NAME].
type Remote struct {
	Address     string `toml:"address"`
	Path        string `toml:"path"`
	Credentials string `toml:"credentials"`
	KMSKey      string `toml:"kms_key"`
}

// DefaultPath is where the file is looked for when neither --config nor
// BYOB_CONFIG is given.
func DefaultPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "byob", "config.toml")
}

// Load reads the file at path; with path "" it tries BYOB_CONFIG, then
// DefaultPath, and a missing default file is an empty configuration. A path
// given explicitly must exist.
func Load(path string) (*File, error) {
	explicit := path != ""
	if path == "" {
		path = os.Getenv("BYOB_CONFIG")
		explicit = path != ""
	}
	if path == "" {
		path = DefaultPath()
	}
	f := &File{}
	if path == "" {
		return f, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !explicit {
			return f, nil
		}
		return nil, fmt.Errorf("%w: cannot read config file %s: %v", ErrConfig, path, unwrapPathErr(err))
	}
	md, err := toml.Decode(string(data), f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%w: %s line %d: %s", ErrConfig, path, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("%w: %s: unknown setting(s) %s", ErrConfig, path, strings.Join(keys, ", "))
	}
	f.Path = path
	if err := f.validate(); err != nil {
		return nil, err
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o044 != 0 && holdsSecrets(f) {
		f.Warnings = append(f.Warnings, fmt.Sprintf("config file %s holds secrets and is readable by other users: run chmod 600 %s", path, path))
	}
	return f, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (f *File) validate() error {
	seen := map[string]string{}
	check := func(kind string, names map[string]Remote) error {
		keys := make([]string, 0, len(names))
		for n := range names {
			keys = append(keys, n)
		}
		sort.Strings(keys)
		for _, n := range keys {
			if !nameRE.MatchString(n) {
				return fmt.Errorf("%w: %s: %s name %q: use letters, digits, '.', '-', '_'", ErrConfig, f.Path, kind, n)
			}
			if n == "instance" {
				return fmt.Errorf("%w: %s: %q is reserved for [instance]", ErrConfig, f.Path, n)
			}
			if other, dup := seen[n]; dup {
				return fmt.Errorf("%w: %s: %q is both a %s and a %s: names must be unique", ErrConfig, f.Path, n, other, kind)
			}
			seen[n] = kind
			r := names[n]
			if kind == "remote" && r.Address == "" {
				return fmt.Errorf("%w: %s: remote %q has no address", ErrConfig, f.Path, n)
			}
			if kind == "team" && r.Address == "" && (f.Instance == nil || f.Instance.Address == "") {
				return fmt.Errorf("%w: %s: team %q has no address and there is no [instance] address to share", ErrConfig, f.Path, n)
			}
			if err := checkCredentials(r.Credentials); err != nil {
				return fmt.Errorf("%w: %s: %s %q: %v", ErrConfig, f.Path, kind, n, err)
			}
		}
		return nil
	}
	if err := check("remote", f.Remotes); err != nil {
		return err
	}
	if err := check("team", f.Teams); err != nil {
		return err
	}
	if f.Instance != nil {
		if err := checkCredentials(f.Instance.Credentials); err != nil {
			return fmt.Errorf("%w: %s: instance: %v", ErrConfig, f.Path, err)
		}
	}
	return nil
}

func checkCredentials(c string) error {
	switch {
	case c == "", c == "inline", c == "env", c == "chain":
		return nil
	case strings.HasPrefix(c, "file:") && len(c) > len("file:"):
		return nil
	}
	return fmt.Errorf("credentials must be inline, env, chain or file:PATH")
}

var inlineSecret = regexp.MustCompile(`://[^@/?]*:([^@]+)@`)

// holdsSecrets reports whether any address carries a literal secret (not
// only ${VAR} references).
func holdsSecrets(f *File) bool {
	all := []Remote{}
	for _, r := range f.Remotes {
		all = append(all, r)
	}
	for _, r := range f.Teams {
		all = append(all, r)
	}
	if f.Instance != nil {
		all = append(all, *f.Instance)
	}
	for _, r := range all {
		for _, m := range inlineSecret.FindAllStringSubmatch(r.Address, -1) {
			if strings.TrimSpace(varRE.ReplaceAllString(m[1], "")) != "" {
				return true
			}
		}
		if strings.Contains(r.Address, "sas=") && !strings.Contains(r.Address, "sas=${") {
			return true
		}
	}
	return false
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Expand replaces ${VAR} from the environment; an unset variable is an error.
func Expand(s string) (string, error) {
	var missing []string
	out := varRE.ReplaceAllStringFunc(s, func(m string) string {
		name := varRE.FindStringSubmatch(m)[1]
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%w: environment variable(s) %s not set (used as ${...} in the config)", ErrConfig, strings.Join(missing, ", "))
	}
	return out, nil
}

// Names lists the remote and team names, sorted.
func (f *File) Names() []string {
	var out []string
	for n := range f.Remotes {
		out = append(out, n)
	}
	for n := range f.Teams {
		out = append(out, n)
	}
	if f.Instance != nil && f.Instance.Address != "" {
		out = append(out, "instance")
	}
	sort.Strings(out)
	return out
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
