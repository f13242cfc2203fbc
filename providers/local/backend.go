package local

import "github.com/byobfs/byob/providers"

// Backend serves file:// addresses.
func Backend() providers.Backend {
	return providers.Backend{Name: "local directory", Schemes: []string{"file"}, Open: Opener}
}
