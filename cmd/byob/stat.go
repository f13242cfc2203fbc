package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/byobfs/byob/providers"
)

func (a *app) statCommand() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "stat ADDRESS/KEY | NAME:PATH",
		Short: "Show an object's size, version, times and metadata",
		Long: `Show an object's attributes and user metadata. With -v also show how the
address was read (which part is the endpoint, which the bucket), the backend
used and where the address came from.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := firstArg(args)
			return a.stat(cmd.Context(), ref, verbose)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also show how the address was read and the backend used")
	return cmd
}

type statOutput struct {
	Address     string            `json:"address"`
	Key         string            `json:"key"`
	Size        int64             `json:"size"`
	Version     string            `json:"version"`
	ModTime     time.Time         `json:"mod_time"`
	Mtime       time.Time         `json:"mtime"`
	ContentType string            `json:"content_type,omitempty"`
	Kind        string            `json:"kind"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Checksums   map[string]string `json:"checksums,omitempty"`
	Reading     string            `json:"reading,omitempty"`
	Backend     string            `json:"backend,omitempty"`
	Source      string            `json:"source,omitempty"`
}

func (a *app) stat(ctx context.Context, ref string, verbose bool) error {
	t, err := a.openStore(ctx, ref)
	if err != nil {
		return err
	}
	defer t.close()
	if t.prefix == "" {
		return usageError{fmt.Errorf("stat needs an object key after the bucket: %s/KEY", t.display())}
	}
	info, err := t.store.Stat(ctx, t.prefix)
	if errors.Is(err, providers.ErrNotExist) {
		return fmt.Errorf("no object at %s: %w", t.display(), err)
	}
	if err != nil {
		return err
	}
	out := statOutput{
		Address: t.display(), Key: info.Key, Size: info.Size, Version: info.Version,
		ModTime: info.ModTime, Mtime: info.Mtime(), ContentType: info.ContentType,
		Kind: classify(t.store, t.prefix).Kind.String(), Metadata: info.Metadata,
	}
	if out.Key == "" {
		out.Key = t.prefix
	}
	if len(info.Checksums) > 0 {
		out.Checksums = map[string]string{}
		for _, c := range info.Checksums {
			out.Checksums[c.Algorithm.String()] = c.Base64()
		}
	}
	if verbose {
		out.Reading, out.Backend, out.Source = t.loc.Address.Reading, a.registry.Describe(t.loc.Address), t.loc.Source
	}
	if a.jsonOut {
		return jsonLine(a.stdout, out)
	}
	w := a.stdout
	fmt.Fprintf(w, "key:          %s\n", out.Key)
	fmt.Fprintf(w, "size:         %d (%s)\n", out.Size, humanSize(out.Size))
	fmt.Fprintf(w, "version:      %s\n", out.Version)
	fmt.Fprintf(w, "modified:     %s (file mtime %s)\n", fmtTime(out.ModTime), fmtTime(out.Mtime))
	if out.ContentType != "" {
		fmt.Fprintf(w, "content-type: %s\n", out.ContentType)
	}
	fmt.Fprintf(w, "kind:         %s\n", out.Kind)
	keys := make([]string, 0, len(out.Metadata))
	for k := range out.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "meta %-8s %s\n", k+":", out.Metadata[k])
	}
	for k, v := range out.Checksums {
		fmt.Fprintf(w, "checksum:     %s %s\n", k, v)
	}
	if verbose {
		fmt.Fprintf(w, "address:      %s\n", out.Address)
		fmt.Fprintf(w, "source:       %s\n", out.Source)
		fmt.Fprintf(w, "reading:      %s\n", out.Reading)
		fmt.Fprintf(w, "backend:      %s\n", out.Backend)
	}
	return nil
}
