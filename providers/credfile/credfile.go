// Package credfile reads byob's credentials files and follows them while a
// store is open, so a mount that runs for days keeps working when the keys
// are rotated and the file rewritten.
//
// A credentials file holds KEY=VALUE lines; blank lines and lines starting
// with "#" are skipped, keys are case-insensitive and values may be quoted:
//
//	access_key_id     = AKIA...        # s3, cw
//	secret_access_key = ...            # s3, cw
//	account_key       = ...            # az (or sas_token)
//	sas_token         = sv=...         # az
//	service_account   = x@p.iam.gserviceaccount.com   # gs
//	private_key       = -----BEGIN PRIVATE KEY-----\n...   # gs, "\n" for newlines
//
// A Source re-reads the file when its modification time, size or inode
// changed (an in-place rewrite, or a rename over it as Kubernetes secret
// volumes and most tools do), stat'ing it at most once per interval; a
// backend calls Reload after an authentication error to look at once. A
// file caught half-written (a missing value or a bad line) keeps the last
// good credentials. Errors name the file and a line number, never a value.
package credfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/byobfs/byob/providers"
)

// DefaultInterval is how often a Source stats its file at most.
const DefaultInterval = 2 * time.Second

// Creds are one scheme's secrets, with the meaning of the Address fields
// of the same names.
type Creds struct {
	User   string // access key ID (s3, cw), service-account email (gs)
	Secret string // secret access key (s3, cw), PEM private key (gs), account key (az)
	SAS    string // SAS token (az)
}

// String never prints a secret.
func (c Creds) String() string { return "credfile.Creds{user: " + c.User + ", secret: [redacted]}" }

// GoString never prints a secret.
func (c Creds) GoString() string { return c.String() }

// Apply sets a's User, Secret and SAS from c; the User of an az address is
// kept (it has none).
func (c Creds) Apply(a *providers.Address) {
	switch a.Scheme {
	case "az":
		a.Secret, a.SAS = c.Secret, c.SAS
	default:
		a.User, a.Secret, a.SAS = c.User, c.Secret, c.SAS
	}
}

// Read parses the KEY=VALUE lines of the file at path. Errors name the file
// and the line, never a value.
func Read(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, unwrapPathErr(err))
	}
	return parse(path, data)
}

func parse(path string, data []byte) (map[string]string, error) {
	vals := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("credentials file %s line %d: expected KEY=VALUE", path, line)
		}
		vals[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("credentials file %s line %d: %w", path, line+1, err)
	}
	return vals, nil
}

// FromValues picks scheme's credentials out of the values read from path.
// The error names what is missing.
func FromValues(scheme, path string, vals map[string]string) (Creds, error) {
	var c Creds
	switch scheme {
	case "s3", "cw":
		c.User, c.Secret = vals["access_key_id"], vals["secret_access_key"]
		if c.User == "" || c.Secret == "" {
			return Creds{}, fmt.Errorf("credentials file %s needs access_key_id and secret_access_key", path)
		}
	case "az":
		c.Secret, c.SAS = vals["account_key"], vals["sas_token"]
		if c.Secret == "" && c.SAS == "" {
			return Creds{}, fmt.Errorf("credentials file %s needs account_key or sas_token", path)
		}
	case "gs":
		c.User, c.Secret = vals["service_account"], strings.ReplaceAll(vals["private_key"], `\n`, "\n")
		if c.User == "" || c.Secret == "" {
			return Creds{}, fmt.Errorf("credentials file %s needs service_account and private_key", path)
		}
	default:
		return Creds{}, fmt.Errorf("credentials file %s: %s:// addresses take no credentials", path, scheme)
	}
	return c, nil
}

// Load reads scheme's credentials from the file at path.
func Load(scheme, path string) (Creds, error) {
	vals, err := Read(path)
	if err != nil {
		return Creds{}, err
	}
	return FromValues(scheme, path, vals)
}

// UseFile takes a's credentials from the file at path (Load, then Apply)
// and records path in a.CredentialsFile, so that the backends that can
// follow the file while a store is open do.
func UseFile(a *providers.Address, path string) error {
	c, err := Load(a.Scheme, path)
	if err != nil {
		return err
	}
	c.Apply(a)
	a.CredentialsFile = path
	return nil
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// stamp identifies one version of the file.
type stamp struct {
	mtime time.Time
	size  int64
	ino   uint64
	dev   uint64
}

func statFile(path string) (stamp, error) {
	fi, err := os.Stat(path) // follows symlinks: a swapped ..data link changes the inode
	if err != nil {
		return stamp{}, err
	}
	st := stamp{mtime: fi.ModTime(), size: fi.Size()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino, st.dev = uint64(sys.Ino), uint64(sys.Dev)
	}
	return st, nil
}

// Source follows one credentials file for one scheme. It is safe for
// concurrent use.
type Source struct {
	scheme, path string
	interval     time.Duration
	now          func() time.Time

	mu         sync.Mutex
	cur        Creds
	gen        uint64 // bumped whenever cur changes
	seen       stamp  // of the file cur was last read from
	checked    time.Time
	reloaded   time.Time
	lastReadOK bool
}

// NewSource reads the file now; its error is Load's. interval <= 0 means
// DefaultInterval.
func NewSource(scheme, path string, interval time.Duration) (*Source, error) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	s := &Source{scheme: scheme, path: path, interval: interval, now: time.Now}
	st, _ := statFile(path)
	c, err := Load(scheme, path)
	if err != nil {
		return nil, err
	}
	s.cur, s.seen, s.checked, s.lastReadOK = c, st, s.now(), true
	return s, nil
}

// Path is the file followed.
func (s *Source) Path() string { return s.path }

// Current returns the credentials and their generation, first re-reading
// the file when the interval has passed since the last look and the file
// changed.
func (s *Source) Current() (Creds, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := s.now(); now.Sub(s.checked) >= s.interval {
		s.checked = now
		s.refresh(false)
	}
	return s.cur, s.gen
}

// Gen is the generation of the credentials Current returns, without
// looking at the file: it changes whenever they do.
func (s *Source) Gen() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// Check is Current's look at the file, returning only the generation.
func (s *Source) Check() uint64 {
	_, g := s.Current()
	return g
}

// Reload looks at the file now (one stat) and re-reads it when its stat
// changed, or whatever its stat says (a rewrite may keep size and mtime) at
// most once per interval: requests refused for other reasons (a bucket
// policy's AccessDenied) cost a stat each, not a read. It returns the
// generation. A caller
// whose request failed on credentials of generation g retries when the
// result differs from g.
func (s *Source) Reload() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	force := now.Sub(s.reloaded) >= s.interval
	if force {
		s.reloaded = now
	}
	s.checked = now
	s.refresh(force)
	return s.gen
}

// refresh re-reads the file when forced or when its stamp changed; on
// failure the last good credentials stay. Called with mu held.
func (s *Source) refresh(force bool) {
	st, err := statFile(s.path)
	if err != nil {
		return
	}
	if !force && st == s.seen && s.lastReadOK {
		return
	}
	c, err := Load(s.scheme, s.path)
	if err != nil {
		// Half-written, or being replaced: look again next time.
		s.lastReadOK = false
		return
	}
	s.seen, s.lastReadOK = st, true
	if c != s.cur {
		s.cur = c
		s.gen++
	}
}
