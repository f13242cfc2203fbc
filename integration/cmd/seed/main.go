// Command seed fills a directory (a file:// bucket) with a realistic team
// layout for the demo: `go run ./integration/cmd/seed DIR [SUBPATH]`.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/byobfs/byob/integration/seed"
	"github.com/byobfs/byob/providers/local"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: seed DIR [SUBPATH]")
		os.Exit(2)
	}
	dir := os.Args[1]
	prefix := ""
	if len(os.Args) == 3 {
		prefix = os.Args[2]
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
	st, err := local.Open(dir, local.DefaultOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
	sum, err := seed.Team(context.Background(), st, prefix, seed.DefaultOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
	fmt.Printf("seeded %d objects into %s\n", len(sum.Objects), dir)
}
