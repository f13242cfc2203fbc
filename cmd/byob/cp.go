package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/byobfs/byob/providers"
)

func (a *app) cpCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cp SRC DST",
		Short: "Copy one object or file: local <-> bucket, bucket <-> bucket",
		Long: `Copy one file or object. Either side is a local path, a store address or
NAME:PATH. A destination ending in "/" (or naming an existing directory or
prefix) receives the source's base name.

Nothing half-written is ever left behind: a local destination is written to a
temporary name beside it and renamed on success; a bucket destination is one
atomic upload. A bucket-to-bucket copy inside one store is done server-side.
The file's modification time travels as rclone-compatible "mtime" metadata
and is set on downloaded files. For directories use "byob sync".`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.cp(cmd.Context(), args[0], args[1])
		},
	}
	return cmd
}

type cpResult struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Bytes       int64  `json:"bytes"`
	Version     string `json:"version,omitempty"`
	ServerSide  bool   `json:"server_side,omitempty"`
}

func (a *app) cp(ctx context.Context, srcRef, dstRef string) error {
	src, err := a.open(ctx, srcRef)
	if err != nil {
		return err
	}
	defer src.close()
	dst, err := a.open(ctx, dstRef)
	if err != nil {
		return err
	}
	defer dst.close()
	var res cpResult
	switch {
	case src.isLocal() && dst.isLocal():
		return usageError{fmt.Errorf("both sides are local paths; one side must be a store address or NAME:path")}
	case src.isLocal():
		res, err = a.upload(ctx, src.loc.Local, dst)
	case dst.isLocal():
		res, err = a.download(ctx, src, dst.loc.Local)
	default:
		res, err = a.copyBetween(ctx, src, dst)
	}
	if err != nil {
		return err
	}
	if a.jsonOut {
		return jsonLine(a.stdout, res)
	}
	a.log.Info("copied", "from", res.Source, "to", res.Destination, "bytes", res.Bytes)
	return nil
}

// destKey decides the destination key for a source base name.
func destKey(ctx context.Context, dst *target, base string) (string, error) {
	p := dst.prefix
	if p == "" || strings.HasSuffix(p, "/") {
		return p + base, nil
	}
	// An existing prefix ("directory") receives the base name.
	isDir := false
	err := dst.store.List(ctx, providers.ListOptions{Prefix: p + "/", Delimiter: "/"}, func(providers.Entry) error {
		isDir = true
		return errStopList
	})
	if err != nil && !errors.Is(err, errStopList) {
		return "", err
	}
	if isDir {
		return p + "/" + base, nil
	}
	return p, nil
}

var errStopList = errors.New("stop listing")

func (a *app) upload(ctx context.Context, localPath string, dst *target) (cpResult, error) {
	f, err := os.Open(localPath)
	if err != nil {
		return cpResult{}, fmt.Errorf("cannot read %s: %w", localPath, unwrapPathErr(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return cpResult{}, err
	}
	if fi.IsDir() {
		return cpResult{}, usageError{fmt.Errorf("%s is a directory: use byob sync for directories", localPath)}
	}
	key, err := destKey(ctx, dst, filepath.Base(localPath))
	if err != nil {
		return cpResult{}, err
	}
	opts := providers.PutOptions{
		ContentType: mime.TypeByExtension(path.Ext(key)),
		Metadata:    map[string]string{providers.MetaMtime: providers.FormatMtime(fi.ModTime())},
	}
	info, err := dst.store.Put(ctx, key, f, fi.Size(), opts)
	if err != nil {
		return cpResult{}, fmt.Errorf("upload %s to %s: %w", localPath, dst.loc.Address.WithPath("").Redacted(), err)
	}
	// The file must not have changed while it was read.
	if fi2, err := os.Stat(localPath); err == nil && (fi2.Size() != fi.Size() || !fi2.ModTime().Equal(fi.ModTime())) {
		return cpResult{}, fmt.Errorf("%s changed while it was uploaded; run the copy again", localPath)
	}
	return cpResult{Source: localPath, Destination: keyDisplay(dst, key), Bytes: fi.Size(), Version: info.Version}, nil
}

func (a *app) download(ctx context.Context, src *target, localPath string) (cpResult, error) {
	if src.prefix == "" || strings.HasSuffix(src.prefix, "/") {
		return cpResult{}, usageError{fmt.Errorf("%s names a prefix, not an object: use byob sync for directories", src.display())}
	}
	info, err := src.store.Stat(ctx, src.prefix)
	if errors.Is(err, providers.ErrNotExist) {
		return cpResult{}, fmt.Errorf("no object at %s: %w", src.display(), err)
	}
	if err != nil {
		return cpResult{}, err
	}
	out := localPath
	if st, err := os.Stat(localPath); (err == nil && st.IsDir()) || strings.HasSuffix(localPath, string(os.PathSeparator)) {
		out = filepath.Join(localPath, path.Base(src.prefix))
	}
	dir := filepath.Dir(out)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(out)+".byob-*.part")
	if err != nil {
		return cpResult{}, fmt.Errorf("cannot write in %s: %w", dir, unwrapPathErr(err))
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	rc, _, err := src.store.Get(ctx, src.prefix, 0, -1, providers.GetOptions{IfMatch: info.Version})
	if err != nil {
		return cpResult{}, fmt.Errorf("download %s: %w", src.display(), err)
	}
	n, err := io.Copy(tmp, rc)
	rc.Close()
	if err != nil {
		return cpResult{}, fmt.Errorf("download %s: %w", src.display(), err)
	}
	if n != info.Size {
		return cpResult{}, fmt.Errorf("download %s: got %d bytes, expected %d: %w", src.display(), n, info.Size, providers.ErrSizeMismatch)
	}
	if err := tmp.Sync(); err != nil {
		return cpResult{}, err
	}
	if err := tmp.Chmod(os.FileMode(0o666 &^ umask())); err != nil {
		return cpResult{}, err
	}
	if err := tmp.Close(); err != nil {
		return cpResult{}, err
	}
	mt := info.Mtime()
	if !mt.IsZero() {
		os.Chtimes(tmp.Name(), mt, mt)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return cpResult{}, fmt.Errorf("cannot create %s: %w", out, unwrapPathErr(err))
	}
	ok = true
	return cpResult{Source: src.display(), Destination: out, Bytes: n, Version: info.Version}, nil
}

func (a *app) copyBetween(ctx context.Context, src, dst *target) (cpResult, error) {
	if src.prefix == "" || strings.HasSuffix(src.prefix, "/") {
		return cpResult{}, usageError{fmt.Errorf("%s names a prefix, not an object: use byob sync for prefixes", src.display())}
	}
	info, err := src.store.Stat(ctx, src.prefix)
	if errors.Is(err, providers.ErrNotExist) {
		return cpResult{}, fmt.Errorf("no object at %s: %w", src.display(), err)
	}
	if err != nil {
		return cpResult{}, err
	}
	key, err := destKey(ctx, dst, path.Base(src.prefix))
	if err != nil {
		return cpResult{}, err
	}
	if sameStore(src.loc.Address, dst.loc.Address) {
		out, err := src.store.Copy(ctx, src.prefix, key, providers.CopyOptions{IfMatch: info.Version})
		if err != nil {
			return cpResult{}, fmt.Errorf("copy %s: %w", src.display(), err)
		}
		return cpResult{Source: src.display(), Destination: keyDisplay(dst, key), Bytes: info.Size, Version: out.Version, ServerSide: true}, nil
	}
	rc, _, err := src.store.Get(ctx, src.prefix, 0, -1, providers.GetOptions{IfMatch: info.Version})
	if err != nil {
		return cpResult{}, fmt.Errorf("read %s: %w", src.display(), err)
	}
	defer rc.Close()
	meta := providers.CloneMetadata(info.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	if _, ok := meta[providers.MetaMtime]; !ok {
		meta[providers.MetaMtime] = providers.FormatMtime(info.Mtime())
	}
	out, err := dst.store.Put(ctx, key, rc, info.Size, providers.PutOptions{ContentType: info.ContentType, Metadata: meta})
	if err != nil {
		return cpResult{}, fmt.Errorf("write %s: %w", keyDisplay(dst, key), err)
	}
	return cpResult{Source: src.display(), Destination: keyDisplay(dst, key), Bytes: info.Size, Version: out.Version}, nil
}

// sameStore reports whether two addresses name one bucket with the same
// credentials, so a server-side copy works.
func sameStore(a, b providers.Address) bool {
	return a.Scheme == b.Scheme && a.Host == b.Host && a.Endpoint == b.Endpoint && a.Bucket == b.Bucket &&
		a.User == b.User && a.Secret == b.Secret && a.SAS == b.SAS && a.TLS == b.TLS
}

// keyDisplay names key in t's store safely; key extends t.prefix.
func keyDisplay(t *target, key string) string {
	if rest, ok := strings.CutPrefix(key, t.prefix); ok {
		d := t.display()
		if rest != "" && !strings.HasSuffix(d, "/") && !strings.HasPrefix(rest, "/") {
			d += "/"
		}
		return d + rest
	}
	a := t.loc.Address
	a.Path = key
	return a.Redacted()
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
