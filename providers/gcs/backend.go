package gcs

import (
	"errors"
	"os"

	"github.com/byobfs/byob/providers"
)

// Backend serves gs:// addresses.
func Backend() providers.Backend {
	return providers.Backend{
		Name:    "gcs (cloud.google.com/go/storage)",
		Schemes: []string{"gs"},
		// credentials = "env": Google's application default credentials,
		// from the key file GOOGLE_APPLICATION_CREDENTIALS names.
		FromEnv: func(a *providers.Address) error {
			if os.Getenv("GOOGLE_APPLICATION_CREDENTIALS") == "" {
				return errors.New(`credentials = "env" needs GOOGLE_APPLICATION_CREDENTIALS`)
			}
			a.User, a.Secret = "", ""
			return nil
		},
		Open: Opener,
	}
}
