package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/byobfs/byob/providers"
)

func (a *app) catCommand() *cobra.Command {
	var offset, count int64
	cmd := &cobra.Command{
		Use:   "cat ADDRESS/KEY | NAME:PATH",
		Short: "Write an object's bytes to standard output",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if offset < 0 || count < -1 {
				return usageError{fmt.Errorf("--offset must be >= 0 and --count >= -1")}
			}
			return a.cat(cmd.Context(), args[0], offset, count)
		},
	}
	cmd.Flags().Int64Var(&offset, "offset", 0, "start at this byte")
	cmd.Flags().Int64Var(&count, "count", -1, "bytes to write (-1: to the end)")
	return cmd
}

func (a *app) cat(ctx context.Context, ref string, offset, count int64) error {
	t, err := a.openStore(ctx, ref)
	if err != nil {
		return err
	}
	defer t.close()
	if t.prefix == "" {
		return usageError{fmt.Errorf("cat needs an object key after the bucket: %s/KEY", t.display())}
	}
	rc, info, err := t.store.Get(ctx, t.prefix, offset, count, providers.GetOptions{})
	if errors.Is(err, providers.ErrNotExist) {
		return fmt.Errorf("no object at %s: %w", t.display(), err)
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	want := info.Size - offset
	if count >= 0 && count < want {
		want = count
	}
	n, err := io.Copy(a.stdout, rc)
	if err != nil {
		return fmt.Errorf("reading %s: %w", t.display(), err)
	}
	if n != want {
		return fmt.Errorf("reading %s: got %d bytes, expected %d: %w", t.display(), n, want, providers.ErrSizeMismatch)
	}
	return nil
}
