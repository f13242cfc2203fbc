// Package listing holds listing code the backends share: merging a page's
// objects and common prefixes (which S3 and GCS return apart) into one
// byte-ordered stream.
package listing

import "github.com/byobfs/byob/providers"

// MergeEmit calls fn for the entries of two sorted slices in byte order,
// skipping any at or before last, and returns the new last key.
func MergeEmit(objs, prefixes []providers.Entry, last string, fn func(providers.Entry) error) (string, error) {
	i, j := 0, 0
	for i < len(objs) || j < len(prefixes) {
		var e providers.Entry
		if j >= len(prefixes) || (i < len(objs) && objs[i].Key < prefixes[j].Key) {
			e = objs[i]
			i++
		} else {
			e = prefixes[j]
			j++
		}
		if last != "" && e.Key <= last {
			continue
		}
		if err := fn(e); err != nil {
			return last, err
		}
		last = e.Key
	}
	return last, nil
}
