package layout

import "errors"

// Sentinel errors of the name mapping. Errors about keys wrap
// providers.ErrInvalidKey instead, so callers test one sentinel for "this key
// cannot be used" whichever layer refused it.
var (
	// ErrInvalidName: a string is not a file name (empty, ".", "..", holds
	// "/" or NUL, or is over MaxNameLen bytes where a name on disk is
	// required), or a path is not a relative path of such names.
	ErrInvalidName = errors.New("invalid file name")
)
