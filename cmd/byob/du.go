package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/byobfs/byob/providers"
)

func (a *app) duCommand() *cobra.Command {
	var depth int
	cmd := &cobra.Command{
		Use:   "du [ADDRESS[/PREFIX] | NAME:PATH]",
		Short: "Total object counts and sizes by prefix",
		Long: `Total the objects below an address, grouped by the first --depth path
components below it (default 1), with a grand total. One recursive listing;
memory grows with the number of groups, not of objects.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := firstArg(args)
			if depth < 0 {
				return usageError{fmt.Errorf("--depth must be >= 0")}
			}
			return a.du(cmd.Context(), ref, depth)
		},
	}
	cmd.Flags().IntVar(&depth, "depth", 1, "group by this many path components below the address (0: total only)")
	return cmd
}

type duRow struct {
	Prefix  string `json:"prefix"`
	Objects int64  `json:"objects"`
	Bytes   int64  `json:"bytes"`
}

func (a *app) du(ctx context.Context, ref string, depth int) error {
	t, err := a.openStore(ctx, ref)
	if err != nil {
		return err
	}
	defer t.close()
	dir := t.prefix
	if dir != "" && !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	groups := map[string]*duRow{}
	total := duRow{Prefix: ""}
	err = t.store.List(ctx, providers.ListOptions{Prefix: dir}, func(e providers.Entry) error {
		rel := strings.TrimPrefix(e.Key, dir)
		total.Objects++
		total.Bytes += e.Size
		if depth == 0 {
			return nil
		}
		parts := strings.SplitAfterN(rel, "/", depth+1)
		g := rel
		if len(parts) > depth {
			g = strings.Join(parts[:depth], "")
		}
		r := groups[g]
		if r == nil {
			r = &duRow{Prefix: g}
			groups[g] = r
		}
		r.Objects++
		r.Bytes += e.Size
		return nil
	})
	if err != nil {
		return err
	}
	rows := make([]*duRow, 0, len(groups))
	for _, r := range groups {
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Prefix < rows[j].Prefix })
	if a.jsonOut {
		for _, r := range rows {
			jsonLine(a.stdout, r)
		}
		return jsonLine(a.stdout, struct {
			Total   bool   `json:"total"`
			Address string `json:"address"`
			duRow
		}{true, t.display(), total})
	}
	for _, r := range rows {
		fmt.Fprintf(a.stdout, "%10s  %8d  %s\n", humanSize(r.Bytes), r.Objects, r.Prefix)
	}
	fmt.Fprintf(a.stdout, "%10s  %8d  total\n", humanSize(total.Bytes), total.Objects)
	return nil
}
