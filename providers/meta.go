package providers

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"
)

// FormatMtime renders t as rclone does: float seconds since the epoch with
// nanosecond precision.
func FormatMtime(t time.Time) string {
	sec := t.Unix()
	nsec := t.Nanosecond()
	s := strconv.FormatInt(sec, 10)
	if nsec != 0 {
		frac := strconv.FormatInt(int64(nsec)+1e9, 10)[1:] // zero-padded 9 digits
		s += "." + strings.TrimRight(frac, "0")
	}
	return s
}

// ParseMtime parses an rclone-style mtime (float seconds, or RFC 3339 as some
// tools write). It reports false for anything else.
func ParseMtime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if whole, frac, ok := strings.Cut(s, "."); ok || whole != "" {
		sec, err := strconv.ParseInt(whole, 10, 64)
		if err == nil {
			var nsec int64
			if ok {
				if len(frac) > 9 {
					frac = frac[:9]
				}
				if frac != "" {
					n, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
					if err != nil {
						return time.Time{}, false
					}
					nsec = n
				}
			}
			return time.Unix(sec, nsec), true
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		sec, fr := math.Modf(f)
		return time.Unix(int64(sec), int64(fr*1e9)), true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// Mtime returns the file modification time from the metadata, falling back
// to the server's ModTime.
func (o ObjectInfo) Mtime() time.Time {
	if t, ok := ParseMtime(o.Metadata[MetaMtime]); ok {
		return t
	}
	return o.ModTime
}

// MD5 returns the MD5 recorded in md5chksum metadata or in Checksums.
func (o ObjectInfo) MD5() ([]byte, bool) {
	for _, c := range o.Checksums {
		if c.Algorithm == ChecksumMD5 && len(c.Sum) == 16 {
			return c.Sum, true
		}
	}
	if v := o.Metadata[MetaMD5]; v != "" {
		if b, err := base64.StdEncoding.DecodeString(v); err == nil && len(b) == 16 {
			return b, true
		}
	}
	return nil, false
}

// Checksum returns the object's checksum of algorithm a, if reported.
func (o ObjectInfo) Checksum(a ChecksumAlgorithm) (Checksum, bool) {
	for _, c := range o.Checksums {
		if c.Algorithm == a && !c.IsZero() {
			return c, true
		}
	}
	return Checksum{}, false
}

// CloneMetadata copies m with lower-cased keys; nil stays nil.
func CloneMetadata(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}
