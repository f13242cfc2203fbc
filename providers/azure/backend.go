package azure

import (
	"errors"
	"os"

	"github.com/byobfs/byob/providers"
)

// Backend serves az:// addresses.
func Backend() providers.Backend {
	return providers.Backend{
		Name:    "azure (azblob)",
		Schemes: []string{"az"},
		// credentials = "env": the account key or a SAS token.
		FromEnv: func(a *providers.Address) error {
			a.Secret, a.SAS = os.Getenv("AZURE_STORAGE_KEY"), os.Getenv("AZURE_STORAGE_SAS_TOKEN")
			if a.Secret == "" && a.SAS == "" {
				return errors.New(`credentials = "env" needs AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN`)
			}
			return nil
		},
		Open: Opener,
	}
}
