package providers

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Address is a parsed BYOB address. Secret fields (Secret, SAS) never leave
// the process in text: String, GoString, MarshalJSON and LogValue all print
// the redacted form.
//
// Forms (see README "Addresses"):
//
//	s3://KEY:SECRET@ENDPOINT/BUCKET[/PATH]?region=R&tls=true   AWS S3 or S3-compatible
//	s3://KEY:SECRET@BUCKET[/PATH]                               the platform's Helm-chart form
//	s3://BUCKET[/PATH]                                          credentials from the AWS chain
//	cw://KEY:SECRET@cwobject.com/BUCKET[/PATH]                  CoreWeave (virtual-hosted style)
//	gs://EMAIL:URLENCODEDKEY@BUCKET[/PATH]                      GCS service account
//	az://:URLENCODEDKEY@ACCOUNT/CONTAINER[/PATH]                Azure shared key
//	file:///ABS/DIR                                             a local directory as a bucket
type Address struct {
	Scheme string // "s3", "cw", "gs", "az", "file"
	// User is the access key ID (s3, cw) or the service-account email (gs).
	User string
	// Secret is the secret key (s3, cw), the PEM private key (gs) or the
	// account key (az). Never printed.
	Secret string
	// Host is the endpoint host[:port] for s3 and cw (empty when the address
	// names only a bucket), the storage account for az.
	Host string
	// Bucket is the bucket (s3, cw, gs), the container (az) or the directory (file).
	Bucket string
	// Path is the key prefix inside the bucket, without a leading "/".
	Path string
	// Query parameters.
	Region   string // region=
	TLS      bool   // tls= (default true)
	Endpoint string // endpoint=URL forces the endpoint (Azurite, fake-gcs-server, MinIO)
	SDK      string // sdk=aws|minio (s3 only)
	SAS      string // sas= Azure SAS token (secret)
	Tenant   string // tenant= Azure AD tenant ID
	ClientID string // client_id= Azure managed-identity client ID
	KMSKeyID string // kms= SSE-KMS key for uploads (s3)
	// CredentialsFile, when set, is the KEY=VALUE file (see
	// providers/credfile) the secrets came from: backends that support it
	// re-read it when it changes, so a long-running mount follows a key
	// rotation. Not a URL part; set by the configuration.
	CredentialsFile string
	// Reading says how the host was read (endpoint or bucket), for `stat -v`.
	Reading string
}

var knownParams = map[string]bool{
	"region": true, "tls": true, "endpoint": true, "sdk": true, "sas": true,
	"tenant": true, "client_id": true, "kms": true,
}

// grammar is the address grammar of one scheme beyond what every scheme
// shares (credentials, host, path, query): how host and path become
// endpoint, bucket and key prefix, and which scheme-only parameters apply.
type grammar struct {
	finish func(a *Address, host, path string, hasCreds bool) error
	params []string // parameters only this scheme takes
}

// grammars holds one row per scheme (file:// has its own parser).
var grammars = map[string]grammar{
	"s3": {finish: func(a *Address, h, p string, _ bool) error { return a.finishS3(h, p) }, params: []string{"sdk"}},
	"cw": {finish: func(a *Address, h, p string, _ bool) error { return a.finishS3(h, p) }},
	"gs": {finish: func(a *Address, h, p string, _ bool) error { return a.finishGS(h, p) }},
	"az": {finish: (*Address).finishAz, params: []string{"sas", "tenant", "client_id"}},
}

// onlyFor names the schemes that alone take parameter k (none: every one).
func onlyFor(k string) []string {
	var out []string
	for scheme, g := range grammars {
		if slices.Contains(g.params, k) {
			out = append(out, scheme)
		}
	}
	sort.Strings(out)
	return out
}

var (
	schemeRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]{0,15}$`)
	// hostRE accepts DNS names, bucket names used as hosts and IPv4, with an
	// optional port; bracketed IPv6 is handled apart.
	hostRE    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)
	ipv6RE    = regexp.MustCompile(`^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)
	hostPort  = regexp.MustCompile(`^[^:/]+:[0-9]+(/|$)`)
	s3Bucket  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$`)
	dnsBucket = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	gsBucket  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$`)
	azAccount = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	azCont    = regexp.MustCompile(`^(\$root|[a-z0-9](-?[a-z0-9]){2,62})$`)
	ipv4RE    = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
)

func addrErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidAddress, fmt.Sprintf(format, args...))
}

// ParseAddress parses a BYOB address. Its errors never contain the input:
// they name the part that is wrong and what to do.
func ParseAddress(s string) (Address, error) {
	var a Address
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !schemeRE.MatchString(scheme) {
		return a, addrErr("an address starts with a scheme: s3://, cw://, gs://, az:// or file://")
	}
	a.Scheme = strings.ToLower(scheme)
	g, known := grammars[a.Scheme]
	if !known && a.Scheme != "file" {
		return a, addrErr("unknown scheme %q: use s3://, cw://, gs://, az:// or file://", a.Scheme)
	}
	if a.Scheme == "file" {
		return parseFile(rest)
	}
	userinfo, hostpart, hasCreds, err := splitUserinfo(rest)
	if err != nil {
		return a, err
	}
	if hasCreds {
		user, secret, _ := strings.Cut(userinfo, ":")
		if a.User, err = url.PathUnescape(user); err != nil {
			return a, addrErr("bad %%-escape in the user part (before ':'); write %% as %%25")
		}
		if a.Secret, err = url.PathUnescape(secret); err != nil {
			return a, addrErr("bad %%-escape in the secret (after ':'); URL-encode the secret or write %% as %%25")
		}
	}
	hostpath, rawQuery, _ := strings.Cut(hostpart, "?")
	host, rawPath, _ := strings.Cut(hostpath, "/")
	if host == "" {
		return a, addrErr("missing host or bucket after %s://", a.Scheme)
	}
	if !hostRE.MatchString(host) && !ipv6RE.MatchString(host) {
		return a, addrErr("the host or bucket part is not a valid name (letters, digits, '.', '-', '_', optional :port)")
	}
	p, err := url.PathUnescape(rawPath)
	if err != nil {
		return a, addrErr("bad %%-escape in the path after the bucket")
	}
	a.TLS = true
	if err := a.parseQuery(rawQuery); err != nil {
		return a, err
	}
	return a, g.finish(&a, host, p, hasCreds)
}

// splitUserinfo finds where the credentials end: at the last '@' that is
// followed by a valid host and preceded by "user:secret" with no '/' in the
// user. Secrets may hold raw '/' and '+'. Several such '@' with a '/' between
// them, or credentials that read as host:port/path, are ambiguous.
func splitUserinfo(rest string) (userinfo, hostpart string, ok bool, err error) {
	var cands []int
	for i := 0; i < len(rest); i++ {
		if rest[i] != '@' {
			continue
		}
		ui := rest[:i]
		user, _, hasColon := strings.Cut(ui, ":")
		if !hasColon || strings.Contains(user, "/") {
			continue
		}
		h := rest[i+1:]
		if j := strings.IndexAny(h, "/?"); j >= 0 {
			h = h[:j]
		}
		if hostRE.MatchString(h) || ipv6RE.MatchString(h) {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		before := rest
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			before = rest[:j]
		}
		if strings.Contains(before, "@") || (strings.Contains(rest, "@") && strings.Contains(rest, ":") && !strings.Contains(before, ":")) {
			// An '@' that ends no credentials: either the host after it is
			// missing or invalid, or there is no "user:secret" before it.
			if strings.Contains(before, "@") {
				return "", "", false, addrErr("credentials must be USER:SECRET@HOST (for Azure :KEY@ACCOUNT), followed by a valid host or bucket")
			}
		}
		return "", rest, false, nil
	}
	last := cands[len(cands)-1]
	for _, c := range cands[:len(cands)-1] {
		if strings.Contains(rest[c+1:last], "/") {
			return "", "", false, addrErr("ambiguous address: several '@' could end the credentials; URL-encode the secret (or write '@' in the path as %%40)")
		}
	}
	ui := rest[:last]
	if hostPort.MatchString(ui) {
		return "", "", false, addrErr("ambiguous address: the part before '@' reads as HOST:PORT/PATH; URL-encode the secret (or write '@' in the path as %%40)")
	}
	return ui, rest[last+1:], true, nil
}

func (a *Address) parseQuery(raw string) error {
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return addrErr("bad query string after '?': use key=value pairs joined by '&', URL-encoded")
	}
	for k, vs := range q {
		if !knownParams[k] {
			name := k
			if len(name) > 32 || !regexp.MustCompile(`^[A-Za-z0-9_-]*$`).MatchString(name) {
				name = "(unprintable)"
			}
			return addrErr("unknown parameter %q: known are region, tls, endpoint, sdk, sas, tenant, client_id, kms", name)
		}
		if len(vs) != 1 {
			return addrErr("parameter %q given %d times", k, len(vs))
		}
	}
	a.Region = q.Get("region")
	if v, ok := q["tls"]; ok {
		b, err := strconv.ParseBool(v[0])
		if err != nil {
			return addrErr("tls must be true or false")
		}
		a.TLS = b
	}
	if e := q.Get("endpoint"); e != "" {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return addrErr("endpoint must be an http:// or https:// URL with a host, no credentials and no query")
		}
		a.Endpoint = strings.TrimRight(e, "/")
	}
	a.SDK = q.Get("sdk")
	if a.SDK != "" && a.SDK != "aws" && a.SDK != "minio" {
		return addrErr("sdk must be aws or minio")
	}
	a.SAS = strings.TrimPrefix(q.Get("sas"), "?")
	a.Tenant = q.Get("tenant")
	a.ClientID = q.Get("client_id")
	a.KMSKeyID = q.Get("kms")
	for k := range q {
		if only := onlyFor(k); len(only) > 0 && !slices.Contains(only, a.Scheme) {
			return addrErr("%s= applies to %s:// only", k, strings.Join(only, "://, "))
		}
	}
	return nil
}

// isEndpointHost reports whether the host of an s3/cw address names an
// endpoint: it has a port, is an IP, or is a dotted name followed by a bucket.
func isEndpointHost(host, p string) (bool, string) {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		return true, fmt.Sprintf("host %q is the endpoint: it has a port", host)
	} else if strings.HasPrefix(h, "[") {
		return true, fmt.Sprintf("host %q is the endpoint: it is an IP address", hh)
	}
	if net.ParseIP(h) != nil || ipv4RE.MatchString(h) {
		return true, fmt.Sprintf("host %q is the endpoint: it is an IP address", host)
	}
	first, _, _ := strings.Cut(p, "/")
	if strings.Contains(h, ".") && first != "" {
		return true, fmt.Sprintf("host %q is the endpoint: a dotted domain followed by bucket %q", host, first)
	}
	return false, fmt.Sprintf("host %q is the bucket: no port, not an IP, and not a dotted domain followed by a bucket", host)
}

func (a *Address) finishS3(host, p string) error {
	var endpoint bool
	if a.Endpoint != "" {
		a.Reading = fmt.Sprintf("endpoint= given, so host %q is the bucket", host)
	} else {
		endpoint, a.Reading = isEndpointHost(host, p)
	}
	if endpoint {
		a.Host = host
		a.Bucket, a.Path, _ = strings.Cut(p, "/")
		if a.Bucket == "" {
			return addrErr("missing bucket: write %s://[KEY:SECRET@]%s/BUCKET[/PATH]", a.Scheme, host)
		}
	} else {
		a.Bucket, a.Path = host, p
	}
	if a.Scheme == "cw" {
		if !endpoint && a.Endpoint == "" {
			a.Host = "cwobject.com"
			a.Reading += "; endpoint defaults to cwobject.com"
		}
		return checkCWBucket(a.Bucket)
	}
	if !s3Bucket.MatchString(a.Bucket) || strings.Contains(a.Bucket, "..") {
		return addrErr("bucket name must be 3-63 letters, digits, '.', '-' or '_', starting and ending with a letter or digit")
	}
	return nil
}

func checkCWBucket(b string) error {
	switch {
	case strings.Contains(b, "_"):
		return addrErr("CoreWeave bucket names cannot contain '_' (they must be DNS-compatible)")
	case strings.HasPrefix(b, "cw-") || strings.HasPrefix(b, "vip-"):
		return addrErr("CoreWeave bucket names cannot start with \"cw-\" or \"vip-\" (reserved)")
	case !dnsBucket.MatchString(b) || strings.Contains(b, "..") || ipv4RE.MatchString(b):
		return addrErr("CoreWeave bucket names must be 3-63 lower-case letters, digits, '-' or '.', DNS-compatible, starting and ending with a letter or digit")
	}
	return nil
}

func (a *Address) finishGS(host, p string) error {
	a.Bucket, a.Path = host, p
	a.Reading = fmt.Sprintf("host %q is the bucket", host)
	if !gsBucket.MatchString(a.Bucket) || strings.Contains(a.Bucket, "..") {
		return addrErr("GCS bucket names are 3-222 lower-case letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
	}
	if a.Secret != "" && !strings.Contains(a.User, "@") {
		return addrErr("gs:// credentials are SERVICE_ACCOUNT_EMAIL:URL_ENCODED_PRIVATE_KEY@BUCKET")
	}
	return nil
}

func (a *Address) finishAz(host, p string, hasCreds bool) error {
	if hasCreds && a.User != "" && a.User != host {
		return addrErr("az:// credentials are :ACCOUNT_KEY@ACCOUNT (empty user)")
	}
	a.User = ""
	a.Host = host
	a.Reading = fmt.Sprintf("host %q is the storage account", host)
	if !azAccount.MatchString(host) {
		return addrErr("Azure storage account names are 3-24 lower-case letters and digits")
	}
	a.Bucket, a.Path, _ = strings.Cut(p, "/")
	if a.Bucket == "" {
		return addrErr("missing container: write az://[:KEY@]ACCOUNT/CONTAINER[/PATH]")
	}
	if !azCont.MatchString(a.Bucket) {
		return addrErr("Azure container names are 3-63 lower-case letters, digits and single '-', starting with a letter or digit")
	}
	return nil
}

func parseFile(rest string) (Address, error) {
	a := Address{Scheme: "file", TLS: false}
	if strings.ContainsAny(rest, "?@") {
		return a, addrErr("file:// takes a path only: file:///ABSOLUTE/DIR (no credentials, no parameters)")
	}
	rest = strings.TrimPrefix(rest, "localhost")
	if !strings.HasPrefix(rest, "/") {
		return a, addrErr("file:// needs an absolute path: file:///ABSOLUTE/DIR")
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		return a, addrErr("bad %%-escape in the path")
	}
	a.Bucket = path.Clean(p)
	if strings.HasSuffix(p, "/") && a.Bucket != "/" {
		a.Bucket += "/" // a trailing "/" says "into this directory"
	}
	a.Reading = fmt.Sprintf("directory %q is the bucket", a.Bucket)
	return a, nil
}

// HasCredentials reports whether the address carries its own credentials.
func (a Address) HasCredentials() bool { return a.Secret != "" || a.SAS != "" }

// WithPath returns a copy whose key prefix is p joined under a.Path.
func (a Address) WithPath(p string) Address {
	a.Path = JoinKey(a.Path, p)
	return a
}

// JoinKey joins two key parts with one "/" unless either is empty or the
// first already ends in "/". It does not clean: keys are byte strings.
func JoinKey(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case strings.HasSuffix(a, "/"):
		return a + b
	}
	return a + "/" + b
}

// StoreID names the data the address selects: its scheme, endpoint,
// bucket (container, directory) and key prefix, with the prefix's leading
// and trailing "/" trimmed. It holds no credentials and none of the
// settings that leave the objects meant unchanged (region, tls, sdk, kms,
// sas, tenant, client_id), so a key rotation or a change of credential
// source keeps it. Two addresses with one StoreID show the same objects;
// two teams on one bucket under different sub-paths never share one. The
// cache keys everything it keeps for a store (listings, blocks, staging
// files, write-back entries, upload journals) by it.
func (a Address) StoreID() string {
	var b strings.Builder
	b.WriteString(a.Scheme)
	b.WriteString("://")
	if a.Scheme == "file" {
		p := path.Clean(a.Bucket)
		if sub := strings.Trim(a.Path, "/"); sub != "" {
			p = strings.TrimSuffix(p, "/") + "/" + sub
		}
		b.WriteString(escapePath(p))
		return b.String()
	}
	host := a.Host
	if a.Endpoint != "" {
		host = a.Endpoint
		for _, s := range []string{"https://", "http://"} {
			host = strings.TrimPrefix(host, s)
		}
		host = strings.TrimSuffix(host, "/")
	}
	b.WriteString(host)
	b.WriteString("/")
	b.WriteString(a.Bucket)
	if sub := strings.Trim(a.Path, "/"); sub != "" {
		b.WriteString("/")
		b.WriteString(escapePath(sub))
	}
	return b.String()
}

// FormerStoreID is the ID caches used for this address before StoreID:
// the redacted address, and for file:// only its directory (so two teams
// on one file:// bucket shared it). Only for adopting what a cache holds
// under it (cache.Cache.AdoptStore); its text is pinned by a test.
func (a Address) FormerStoreID() string {
	if a.Scheme == "file" {
		return "file://" + escapePath(a.Bucket)
	}
	return a.Redacted()
}

// Redacted is the address with every secret replaced by "***": the only
// form of an address that may be printed or logged.
func (a Address) Redacted() string {
	var b strings.Builder
	b.WriteString(a.Scheme)
	b.WriteString("://")
	if a.Scheme == "file" {
		b.WriteString(escapePath(a.Bucket))
		if a.Path != "" {
			if !strings.HasSuffix(a.Bucket, "/") {
				b.WriteString("/")
			}
			b.WriteString(escapePath(a.Path))
		}
		return b.String()
	}
	switch {
	case a.Scheme == "gs" && a.User != "":
		b.WriteString(url.PathEscape(a.User))
		b.WriteString(":***@")
	case a.Scheme == "az" && a.Secret != "":
		b.WriteString(":***@")
	case a.User != "" || a.Secret != "":
		b.WriteString("***:***@")
	}
	switch {
	case a.Scheme == "az":
		b.WriteString(a.Host)
		b.WriteString("/")
		b.WriteString(a.Bucket)
	case a.Host != "" && a.Endpoint == "" && !(a.Scheme == "cw" && strings.Contains(a.Reading, "defaults to")):
		b.WriteString(a.Host)
		b.WriteString("/")
		b.WriteString(a.Bucket)
	default:
		b.WriteString(a.Bucket)
	}
	if a.Path != "" {
		b.WriteString("/")
		b.WriteString(escapePath(a.Path))
	}
	var q []string
	if a.Region != "" {
		q = append(q, "region="+url.QueryEscape(a.Region))
	}
	if !a.TLS {
		q = append(q, "tls=false")
	}
	if a.Endpoint != "" {
		q = append(q, "endpoint="+url.QueryEscape(a.Endpoint))
	}
	if a.SDK != "" {
		q = append(q, "sdk="+a.SDK)
	}
	if a.SAS != "" {
		q = append(q, "sas=***")
	}
	if a.Tenant != "" {
		q = append(q, "tenant="+url.QueryEscape(a.Tenant))
	}
	if a.ClientID != "" {
		q = append(q, "client_id="+url.QueryEscape(a.ClientID))
	}
	if a.KMSKeyID != "" {
		q = append(q, "kms="+url.QueryEscape(a.KMSKeyID))
	}
	if len(q) > 0 {
		b.WriteString("?")
		b.WriteString(strings.Join(q, "&"))
	}
	return b.String()
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// String is Redacted: an Address never prints a secret.
func (a Address) String() string { return a.Redacted() }

// GoString keeps %#v redacted too.
func (a Address) GoString() string { return "providers.Address(" + strconv.Quote(a.Redacted()) + ")" }

// MarshalJSON writes the redacted form.
func (a Address) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(a.Redacted())), nil }

// MarshalText writes the redacted form (TOML, YAML, flag printing).
func (a Address) MarshalText() ([]byte, error) { return []byte(a.Redacted()), nil }

// LogValue keeps slog output redacted.
func (a Address) LogValue() slog.Value { return slog.StringValue(a.Redacted()) }

// Format makes every fmt verb (%v, %+v, %#v, %s, %d, ...) print the redacted
// form, so no verb can reach the struct's secret fields.
func (a Address) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, a.GoString())
		return
	}
	fmt.Fprint(f, a.Redacted())
}
