package sync

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	gosync "sync"
	"time"

	"github.com/byobfs/byob/providers"
)

// executor performs the actions of a plan against the two sides.
type executor struct {
	src, dst side
	// sameStore: both sides are prefixes of one store (server-side Copy).
	sameStore bool
	srcSide   Side // the source as given, for messages
	opts      *Options
	index     Index
	lim       *limiter
	rec       *recorder
}

// transfer performs a Copy, Update or Mkdir and returns the bytes moved.
func (x *executor) transfer(ctx context.Context, a Action) (int64, error) {
	if a.Op == OpUpdate && x.opts.BackupDir != "" && a.dst != nil {
		if err := x.backup(ctx, a.dst.key, a.dst.dir); err != nil {
			return 0, fmt.Errorf("backup: %w", err)
		}
	}
	if a.Op == OpMkdir {
		return 0, x.mkdir(ctx, a.Key)
	}
	s := a.src
	switch src := x.src.(type) {
	case *localSide:
		switch dst := x.dst.(type) {
		case *storeSide:
			return x.upload(ctx, s, dst)
		case *localSide:
			return x.localCopy(s, dst)
		}
	case *storeSide:
		switch dst := x.dst.(type) {
		case *localSide:
			return x.download(ctx, src, s, dst)
		case *storeSide:
			if x.sameStore {
				return x.serverCopy(ctx, src, s, dst)
			}
			return x.streamCopy(ctx, src, s, dst)
		}
	}
	return 0, fmt.Errorf("%w: unsupported side types %T -> %T", ErrInvalidOptions, x.src, x.dst)
}

func (x *executor) limitSource(src UploadSource) UploadSource {
	if x.lim == nil {
		return src
	}
	return limitedSource{UploadSource: src, l: x.lim}
}

func contentType(key string) string { return mime.TypeByExtension(path.Ext(key)) }

// upload sends a local file, retrying when the file changes while it is read.
func (x *executor) upload(ctx context.Context, s *entry, dst *storeSide) (int64, error) {
	key := dst.full(s.key)
	for attempt := 0; ; attempt++ {
		src, err := openLocalSource(s.path)
		if err != nil {
			return 0, err
		}
		fp := src.Fingerprint()
		meta := map[string]string{providers.MetaMtime: providers.FormatMtime(fp.ModTime)}
		sums := []providers.Checksum(nil)
		if md5, ok := x.index.LookupHash(fp, providers.ChecksumMD5); ok {
			meta[providers.MetaMD5] = md5.Base64() // known before the upload starts
			sums = append(sums, md5)
		}
		opts := providers.PutOptions{Metadata: meta, ContentType: contentType(s.key)}
		info, err := x.opts.Mover.Upload(ctx, dst.store, key, x.limitSource(src), opts)
		verr := src.Verify(ctx) // re-checked after, whatever the Mover did
		src.Close()
		if err == nil && verr == nil {
			for _, c := range contentSums(info) {
				if _, dup := findSum(sums, c.Algorithm); !dup {
					sums = append(sums, c)
				}
			}
			dst.index.RememberRemote(dst.name, key, info.Version, RemoteAttrs{Mtime: fp.ModTime, Checksums: sums})
			return fp.Size, nil
		}
		switch {
		case errors.Is(verr, ErrSourceChanged):
			// A change also explains a failed upload (a part no longer
			// matching the checksum hashed before it was sent): retry.
			err = errors.Join(verr, err)
		case err == nil:
			err = verr
		}
		if !errors.Is(err, ErrSourceChanged) || attempt >= x.opts.ChangedRetries || ctx.Err() != nil {
			return 0, err
		}
		x.opts.Logger.Warn("sync: source changed during upload, retrying", "key", s.key, "attempt", attempt+1)
	}
}

// download writes an object to a local file atomically, with its mtime.
func (x *executor) download(ctx context.Context, src *storeSide, s *entry, dst *localSide) (int64, error) {
	key := src.full(s.key)
	var info providers.ObjectInfo
	err := dst.writeFile(s.key, func(f *os.File) (time.Time, error) {
		var w io.WriterAt = f
		if x.lim != nil {
			w = limitedWriterAt{ctx: ctx, l: x.lim, w: f}
		}
		var err error
		info, err = x.opts.Mover.Download(ctx, src.store, key, s.version, s.size, w)
		if err != nil {
			return time.Time{}, err
		}
		fi, err := f.Stat()
		if err != nil {
			return time.Time{}, err
		}
		if fi.Size() != info.Size {
			return time.Time{}, fmt.Errorf("%w: wrote %d of %d bytes", providers.ErrSizeMismatch, fi.Size(), info.Size)
		}
		return info.Mtime(), nil
	})
	if err != nil {
		return 0, err
	}
	src.index.RememberRemote(src.name, key, info.Version, RemoteAttrs{Mtime: info.Mtime(), Checksums: contentSums(info)})
	return info.Size, nil
}

// localCopy copies one local file to another local tree.
func (x *executor) localCopy(s *entry, dst *localSide) (int64, error) {
	var n int64
	for attempt := 0; ; attempt++ {
		src, err := openLocalSource(s.path)
		if err != nil {
			return 0, err
		}
		err = dst.writeFile(s.key, func(f *os.File) (time.Time, error) {
			var err error
			if n, err = io.Copy(f, io.NewSectionReader(src.f, 0, src.fp.Size)); err != nil {
				return time.Time{}, err
			}
			if err := src.Verify(context.Background()); err != nil {
				return time.Time{}, err
			}
			return src.fp.ModTime, nil
		})
		src.Close()
		if err == nil || !errors.Is(err, ErrSourceChanged) || attempt >= x.opts.ChangedRetries {
			return n, err
		}
	}
}

// serverCopy copies inside one store.
func (x *executor) serverCopy(ctx context.Context, src *storeSide, s *entry, dst *storeSide) (int64, error) {
	srcKey, dstKey := src.full(s.key), dst.full(s.key)
	info, err := x.opts.Mover.Copy(ctx, dst.store, srcKey, dstKey, providers.CopyOptions{IfMatch: s.version})
	if err != nil {
		return 0, err
	}
	// The copy carries the source's metadata; without an mtime there, the
	// source's effective mtime is its server time, which the index keeps
	// for the copy so the next run compares equal.
	a := RemoteAttrs{Mtime: info.Mtime(), Checksums: contentSums(info)}
	if _, ok := providers.ParseMtime(info.Metadata[providers.MetaMtime]); !ok {
		if sa, ok := src.index.LookupRemote(src.name, srcKey, s.version); ok {
			a.Mtime = sa.Mtime
		} else {
			a.Mtime = s.modTime
		}
	}
	dst.index.RememberRemote(dst.name, dstKey, info.Version, a)
	return info.Size, nil
}

// streamCopy copies between two stores through this machine.
func (x *executor) streamCopy(ctx context.Context, src *storeSide, s *entry, dst *storeSide) (int64, error) {
	srcKey, dstKey := src.full(s.key), dst.full(s.key)
	info, err := src.store.Stat(ctx, srcKey)
	if err != nil {
		return 0, err
	}
	meta := providers.CloneMetadata(info.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	mtime := info.Mtime()
	meta[providers.MetaMtime] = providers.FormatMtime(mtime)
	out, err := x.opts.Mover.Upload(ctx, dst.store, dstKey, x.limitSource(&remoteSource{store: src.store, info: info}),
		providers.PutOptions{Metadata: meta, ContentType: info.ContentType})
	if err != nil {
		return 0, err
	}
	sums := contentSums(info)
	src.index.RememberRemote(src.name, srcKey, info.Version, RemoteAttrs{Mtime: mtime, Checksums: sums})
	dst.index.RememberRemote(dst.name, dstKey, out.Version, RemoteAttrs{Mtime: mtime, Checksums: contentSums(out)})
	return info.Size, nil
}

func (x *executor) mkdir(ctx context.Context, key string) error {
	switch dst := x.dst.(type) {
	case *localSide:
		return dst.mkdir(key)
	case *storeSide:
		_, err := dst.store.Put(ctx, dst.full(key), bytes.NewReader(nil), 0, providers.PutOptions{})
		return err
	}
	return nil
}

// remove performs a Delete (after a backup when BackupDir is set); dir
// says the key is a directory marker.
func (x *executor) remove(ctx context.Context, key string, dir bool) error {
	if x.opts.BackupDir != "" {
		if err := x.backup(ctx, key, dir); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if _, ok := x.dst.(*localSide); ok {
			return nil // moved away
		}
	}
	switch dst := x.dst.(type) {
	case *localSide:
		return dst.remove(key, dir)
	case *storeSide:
		return dst.store.Delete(ctx, dst.full(key))
	}
	return nil
}

// backup saves the destination's current key under BackupDir: a
// server-side copy in a store, a rename on disk.
func (x *executor) backup(ctx context.Context, key string, dir bool) error {
	switch dst := x.dst.(type) {
	case *localSide:
		return dst.backup(key, dir, x.opts.BackupDir)
	case *storeSide:
		_, err := x.opts.Mover.Copy(ctx, dst.store, dst.full(key), normPrefix(x.opts.BackupDir)+key, providers.CopyOptions{})
		if isNotExist(err) {
			return nil
		}
		return err
	}
	return nil
}

// spool holds pending deletes in a temporary file so memory stays flat:
// each key is a uvarint (length<<1 | dir) and the key's bytes.
type spool struct {
	dir string
	f   *os.File
	w   *bufio.Writer
	n   int64
}

func (s *spool) add(key string, dir bool) error {
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "byob-sync-deletes-*")
		if err != nil {
			return err
		}
		s.f, s.w = f, bufio.NewWriter(f)
	}
	var buf [binary.MaxVarintLen64]byte
	if _, err := s.w.Write(buf[:binary.PutUvarint(buf[:], uint64(len(key))<<1|b2u(dir))]); err != nil {
		return err
	}
	if _, err := s.w.WriteString(key); err != nil {
		return err
	}
	s.n++
	return nil
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// each calls fn for every spooled key, in the order added.
func (s *spool) each(fn func(key string, dir bool) error) error {
	if s.f == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReader(s.f)
	for {
		n, err := binary.ReadUvarint(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		b := make([]byte, n>>1)
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		if err := fn(string(b), n&1 == 1); err != nil {
			return err
		}
	}
}

func (s *spool) close() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
	}
}

// runDeletes deletes the spooled keys with up to workers at once.
func (x *executor) runDeletes(ctx context.Context, sp *spool, workers int) error {
	type del struct {
		key string
		dir bool
	}
	var wg gosync.WaitGroup
	keys := make(chan del)
	for range workers {
		wg.Go(func() {
			for d := range keys {
				a := Action{Op: OpDelete, Key: d.key, Reason: "not in source"}
				x.rec.done(a, 0, x.remove(ctx, d.key, d.dir))
			}
		})
	}
	err := sp.each(func(k string, dir bool) error {
		select {
		case keys <- del{k, dir}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(keys)
	wg.Wait()
	return err
}
