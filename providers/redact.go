package providers

import (
	"regexp"
	"strings"
)

var (
	urlInText = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)
	// signed query parameters that may appear outside a full URL
	signedParam = regexp.MustCompile(`(?i)\b(x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|signature|sig|se|sv|sp|skoid|sktid|token|access_token)=[^&\s"']+`)
)

// RedactText removes secrets from free text: every URL loses its userinfo
// and query string, and signed query parameters anywhere are blanked.
func RedactText(s string) string {
	s = urlInText.ReplaceAllStringFunc(s, RedactURL)
	return signedParam.ReplaceAllString(s, "$1=***")
}

// RedactURL reduces a URL to scheme, host and path: userinfo (everything up
// to the last '@' before the query) becomes "***", and so does the query
// string (pre-signed signatures, SAS tokens). It does not parse: a secret
// with raw '/' or '+' would fool url.Parse into keeping part of it.
func RedactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	rest, _, hadQuery := strings.Cut(rest, "?")
	rest, _, _ = strings.Cut(rest, "#")
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = "***@" + rest[i+1:]
	}
	out := scheme + "://" + rest
	if hadQuery {
		out += "?***"
	}
	return out
}
