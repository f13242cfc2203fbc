package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time: -ldflags "-X main.version=..."
var version = "dev"

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the byob version",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := struct {
				Version string `json:"version"`
				Go      string `json:"go"`
				OS      string `json:"os"`
				Arch    string `json:"arch"`
				Module  string `json:"module"`
			}{version, runtime.Version(), runtime.GOOS, runtime.GOARCH, "github.com/byobfs/byob"}
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path != "" {
				v.Module = bi.Main.Path
			}
			if a.jsonOut {
				return jsonLine(a.stdout, v)
			}
			_, err := fmt.Fprintf(a.stdout, "byob %s (%s, %s/%s)\n", v.Version, v.Go, v.OS, v.Arch)
			return err
		},
	}
}
