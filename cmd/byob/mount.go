package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/byobfs/byob/cache"
	byobfs "github.com/byobfs/byob/fs"
	"github.com/byobfs/byob/fs/fusefs"
	"github.com/byobfs/byob/layout"
)

type mountFlags struct {
	readOnly, allowOther, writeBack, daemon, debug bool
	uid, gid                                       int
	fileMode, dirMode                              string
	cacheDir, cacheSize, partSize                  string
	attrTTL, dirTTL, negTTL                        time.Duration
	maxInflight                                    int
	drainTimeout                                   time.Duration
	syncInterval                                   time.Duration
	writeBackUploads                               int
	metricsAddr                                    string
}

func (a *app) mountCommand() *cobra.Command {
	var f mountFlags
	cmd := &cobra.Command{
		Use:   "mount [ADDRESS|NAME:PATH] MOUNTPOINT",
		Short: "Mount a bucket (or a team's sub-path) as a directory",
		Long: `Mount a store as a FUSE file system, in the foreground until SIGINT/SIGTERM
or "byob unmount MOUNTPOINT" (--daemon returns once the mount is live).

Reads come through a local block cache (--cache-dir, --cache-size); writes are
staged in the cache and uploaded when the file is closed by the process that
opened it (or fsynced); errors come back from close/fsync as EIO. With
--write-back, close returns once the data is staged and journaled and the
upload runs in the background; a mount killed before it finished uploads at
the next mount. On unmount, pending uploads finish first (--drain-timeout).

With only a MOUNTPOINT, every team of the config file (--config) is mounted
under it: one directory per team, each confined to that team's store and
sub-path; renames between teams are EXDEV.

Names: keys that are not valid file names are escaped reversibly (see
README, "Names"). The source shown in /proc/mounts is the redacted address.`,
		Args: usageArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return a.mount(cmd.Context(), "", args[0], f)
			}
			return a.mount(cmd.Context(), args[0], args[1], f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.readOnly, "read-only", false, "refuse every change (EROFS)")
	fl.BoolVar(&f.allowOther, "allow-other", false, "let other users use the mount; the kernel enforces --uid, --gid, --file-mode and --dir-mode for them (default_permissions, always on)")
	fl.BoolVar(&f.writeBack, "write-back", false, "close returns once data is staged and journaled; uploads run in the background")
	fl.DurationVar(&f.syncInterval, "sync-interval", time.Second, "with --write-back: how often staged files and their journal are synced to the cache's disk (what a machine crash may lose)")
	fl.IntVar(&f.writeBackUploads, "write-back-uploads", 32, "with --write-back: uploads running at once")
	fl.BoolVar(&f.daemon, "daemon", false, "run in the background; return once the mount is live")
	fl.BoolVar(&f.debug, "fuse-debug", false, "log every FUSE request")
	fl.IntVar(&f.uid, "uid", os.Getuid(), "owner of every file")
	fl.IntVar(&f.gid, "gid", os.Getgid(), "group of every file")
	fl.StringVar(&f.fileMode, "file-mode", "0644", "permission bits of files")
	fl.StringVar(&f.dirMode, "dir-mode", "0755", "permission bits of directories")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "cache directory (default: <cache base>/mount-<hash of the mountpoint>)")
	fl.StringVar(&f.cacheSize, "cache-size", "", "cache size cap (default min(10GiB, 25% of free disk))")
	fl.StringVar(&f.partSize, "part-size", "", "multipart part size of uploads (e.g. 16MiB)")
	fl.DurationVar(&f.attrTTL, "attr-ttl", time.Second, "how long attributes are trusted")
	fl.DurationVar(&f.dirTTL, "dir-ttl", 5*time.Second, "how long directory listings are trusted")
	fl.DurationVar(&f.negTTL, "negative-ttl", time.Second, "how long a missing name is remembered")
	fl.IntVar(&f.maxInflight, "max-inflight", 8, "blocks prefetched at once across all files")
	fl.DurationVar(&f.drainTimeout, "drain-timeout", 10*time.Minute, "on unmount, how long to wait for pending uploads")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464)")
	return cmd
}

// mountCacheDir derives a mount's own cache directory from its mountpoint.
func (a *app) mountCacheDir(flag, mountpoint string) string {
	if flag != "" {
		return flag
	}
	h := sha256.Sum256([]byte(mountpoint))
	return filepath.Join(a.cacheBase(""), "mount-"+hex.EncodeToString(h[:6]))
}

func (a *app) mount(ctx context.Context, ref, mp string, f mountFlags) error {
	mountpoint, err := filepath.Abs(mp)
	if err != nil {
		return err
	}
	fileMode, err1 := strconv.ParseUint(f.fileMode, 8, 32)
	dirMode, err2 := strconv.ParseUint(f.dirMode, 8, 32)
	if err1 != nil || err2 != nil {
		return usageError{errors.New("--file-mode and --dir-mode are octal permission bits, e.g. 0644")}
	}
	if f.daemon && os.Getenv("BYOB_MOUNT_CHILD") == "" {
		return a.daemonize(mountpoint)
	}
	defer a.startProfiles()()
	setMountMemoryLimit()
	// What to mount: one store (ADDRESS or NAME:PATH), or every team.
	type mountee struct {
		name string
		t    *target
	}
	var ms []mountee
	if ref != "" {
		t, err := a.openStore(ctx, ref)
		if err != nil {
			return err
		}
		ms = append(ms, mountee{"", t})
	} else {
		if a.cfg == nil || len(a.cfg.Teams) == 0 {
			return usageError{errors.New("give an ADDRESS (or NAME:PATH) to mount, or a --config file with [teams.NAME] to mount every team")}
		}
		names := make([]string, 0, len(a.cfg.Teams))
		for n := range a.cfg.Teams {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			t, err := a.openStore(ctx, n+":")
			if err != nil {
				return fmt.Errorf("team %s: %w", n, err)
			}
			ms = append(ms, mountee{n, t})
		}
	}
	for _, m := range ms {
		defer m.t.close()
	}
	// A stale mount left by a killed byob (ENOTCONN) is cleared first.
	if err := fusefs.ClearStale(mountpoint); err != nil {
		return err
	}
	if fi, err := os.Stat(mountpoint); err != nil || !fi.IsDir() {
		return usageError{fmt.Errorf("mountpoint %s must be an existing directory", mountpoint)}
	}

	copts := cache.DefaultOptions(a.mountCacheDir(f.cacheDir, mountpoint))
	if f.cacheSize != "" {
		if copts.MaxSize, err = parseSize(f.cacheSize); err != nil {
			return usageError{fmt.Errorf("--cache-size: %v", err)}
		}
	}
	c, err := cache.Open(copts)
	if err != nil {
		return fmt.Errorf("cache %s: %w", copts.Dir, err)
	}
	defer c.Close()

	var partSize int64
	if f.partSize != "" {
		if partSize, err = parseSize(f.partSize); err != nil {
			return usageError{fmt.Errorf("--part-size: %v", err)}
		}
	}
	var fss []*byobfs.FS
	teams := map[string]*byobfs.FS{}
	var met *metrics
	if f.metricsAddr != "" {
		met = newMetrics()
	}
	closeAll := func() {
		for _, x := range fss {
			x.Close()
		}
	}
	// What an older byob recorded under a store's former ID is adopted,
	// unless several stores of this mount had that ID (teams under one
	// file:// bucket): its owner cannot be told, so it stays listed by
	// `byob cache pending` rather than being replayed into the wrong team.
	formers := map[string]int{}
	for _, m := range ms {
		formers[m.t.loc.Address.FormerStoreID()]++
	}
	for _, m := range ms {
		st := m.t.store
		if p := strings.Trim(m.t.prefix, "/"); p != "" {
			if st, err = layout.Confine(st, p); err != nil {
				closeAll()
				return usageError{fmt.Errorf("mount a prefix: %w", err)}
			}
		}
		if met != nil {
			st = counted(st, met)
		}
		o := byobfs.DefaultOptions()
		o.Store, o.StoreID, o.Cache = st, m.t.storeID(), c
		if former := m.t.loc.Address.FormerStoreID(); formers[former] == 1 {
			o.FormerStoreIDs = []string{former}
		} else {
			a.log.Warn("cache entries an older byob recorded for several teams under one ID are not replayed; byob cache pending lists them", "id", former)
		}
		o.ReadOnly, o.WriteBack = f.readOnly, f.writeBack
		o.UID, o.GID = uint32(f.uid), uint32(f.gid)
		o.FileMode, o.DirMode = os.FileMode(fileMode), os.FileMode(dirMode)
		o.AttrTTL, o.DirTTL, o.NegativeTTL = f.attrTTL, f.dirTTL, f.negTTL
		o.MaxInflight, o.PartSize = f.maxInflight, partSize
		o.SyncInterval, o.WriteBackConcurrency = f.syncInterval, f.writeBackUploads
		o.Logger = a.log
		fsys, err := byobfs.New(o)
		if err != nil {
			closeAll()
			return err
		}
		fss = append(fss, fsys)
		teams[m.name] = fsys
	}
	mopts := fusefs.MountOptions{AllowOther: f.allowOther, Debug: f.debug}
	var srv *fusefs.Server
	if ref != "" {
		mopts.FsName = ms[0].t.display()
		srv, err = fusefs.Mount(mountpoint, fss[0], mopts)
	} else {
		mopts.FsName = "byob-teams:" + filepath.Base(a.cfg.Path)
		srv, err = fusefs.MountTeams(mountpoint, teams, mopts)
	}
	if err != nil {
		closeAll()
		return fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	pidFile := filepath.Join(copts.Dir, "mount.pid")
	os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"+mountpoint+"\n"), 0o600)
	defer os.Remove(pidFile)
	a.log.Info("mounted", "source", mopts.FsName, "mountpoint", mountpoint, "cache", copts.Dir)
	if srv.ReadAheadErr != nil {
		a.log.Debug("kernel readahead left at its default", "error", srv.ReadAheadErr)
	}
	if fd := os.Getenv("BYOB_MOUNT_READY_FD"); fd != "" {
		if n, err := strconv.Atoi(fd); err == nil {
			w := os.NewFile(uintptr(n), "ready")
			w.Write([]byte("ok\n"))
			w.Close()
		}
	}

	// Until a signal, an unmount request, or the kernel side going away.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	if met != nil {
		stopMetrics, err := met.serve(ctx, f.metricsAddr, fss, nil)
		if err != nil {
			srv.Unmount()
			closeAll()
			return usageError{fmt.Errorf("--metrics-addr: %v", err)}
		}
		defer stopMetrics()
	}
	stopControl, err := serveControl(ctx, copts.Dir, fss, func() { sig <- syscall.SIGTERM })
	if err != nil {
		a.log.Warn("no control socket: byob cache pending cannot ask this mount", "error", err)
	} else {
		defer stopControl()
	}
	served := make(chan struct{})
	go func() { srv.Wait(); close(served) }()
	select {
	case <-sig:
	case <-served:
	case <-ctx.Done():
	}
	// Finish pending uploads first, then unmount.
	dctx, cancel := context.WithTimeout(context.Background(), f.drainTimeout)
	var derr error
	var pending []byobfs.PendingUpload
	for _, x := range fss {
		if err := x.Drain(dctx); err != nil && derr == nil {
			derr = err
		}
		p, _ := x.Pending(context.Background())
		pending = append(pending, p...)
	}
	cancel()
	srv.Unmount()
	closeAll()
	if derr != nil || len(pending) > 0 {
		for _, p := range pending {
			a.log.Warn("not uploaded yet; the next mount with this cache uploads it", "key", p.Key, "size", p.Size, "state", p.State)
		}
		return fmt.Errorf("unmounted with %d upload(s) pending (kept in cache %s)", len(pending), copts.Dir)
	}
	return nil
}

// daemonize re-runs this command in a new session and returns once it
// reports the mount live (or its error).
func (a *app) daemonize(mountpoint string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), "BYOB_MOUNT_CHILD=1", "BYOB_MOUNT_READY_FD=3")
	cmd.ExtraFiles = []*os.File{w}
	errFile, _ := os.CreateTemp("", "byob-mount-*.log")
	cmd.Stderr = errFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	w.Close()
	ready := make(chan bool, 1)
	go func() {
		buf := make([]byte, 3)
		n, _ := r.Read(buf)
		ready <- n > 0
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case ok := <-ready:
		if ok {
			fmt.Fprintf(a.stdout, "mounted %s (pid %d)\n", mountpoint, cmd.Process.Pid)
			return nil
		}
		err := <-exited
		return daemonError(errFile, err)
	case err := <-exited:
		return daemonError(errFile, err)
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		return fmt.Errorf("the mount did not become live within 2 minutes")
	}
}

func daemonError(f *os.File, err error) error {
	defer os.Remove(f.Name())
	b, _ := os.ReadFile(f.Name())
	msg := strings.TrimSpace(string(b))
	if i := strings.LastIndex(msg, "byob: "); i >= 0 {
		msg = msg[i+len("byob: "):]
	}
	if msg == "" && err != nil {
		msg = err.Error()
	}
	return errors.New(msg)
}

func (a *app) unmountCommand() *cobra.Command {
	var cacheDir string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "unmount MOUNTPOINT",
		Short: "Unmount a byob mount after its pending uploads finish",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			mp, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			pidFile := filepath.Join(a.mountCacheDir(cacheDir, mp), "mount.pid")
			b, err := os.ReadFile(pidFile)
			if err != nil {
				// No running byob for it: a stale mount is just cleared.
				if cerr := fusefs.ClearStale(mp); cerr != nil {
					return cerr
				}
				return fmt.Errorf("no byob mount is running at %s (looked for %s)", mp, pidFile)
			}
			pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
			// Ask the mount over its control socket; a signal if it does not answer.
			if _, err := askMount(a.mountCacheDir(cacheDir, mp), "unmount"); err != nil {
				if pid <= 0 || syscall.Kill(pid, syscall.SIGTERM) != nil {
					return fmt.Errorf("the byob mount at %s (pid %d) is not running", mp, pid)
				}
			}
			deadline := time.Now().Add(timeout)
			for time.Now().Before(deadline) {
				if syscall.Kill(pid, 0) != nil {
					return nil
				}
				time.Sleep(100 * time.Millisecond)
			}
			return fmt.Errorf("the mount at %s (pid %d) is still finishing uploads after %v; see its log, or wait", mp, pid, timeout)
		},
	}
	cmd.Flags().StringVar(&cacheDir, "cache-dir", "", "the mount's cache directory, if it was given to mount")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for pending uploads")
	return cmd
}

// mountMemoryLimit is the Go runtime's soft memory limit of a mount
// process, unless GOMEMLIMIT says otherwise. Without one, the collector
// lets the heap grow to twice what was live at its last cycle: after a
// large write (part buffers in flight) a mount reached 557 MiB of RSS
// copying small files with 40 MiB live, and 16 handles reading one cold
// file peaked at 245 MiB. With 160 MiB the latter peaks at 210 MiB (the
// binary's own pages included) for the same speed (cold 1 GiB read,
// 1.48-1.56 mount CPU-s either way; a warm ls -l of 100,000 entries also
// took the same time with and without it). The memory a mount uses by
// design is bounded elsewhere (FetchMemory, 128 MiB of fetched blocks;
// write tails, 128 MiB across files); when a heavy read and heavy writes
// run at once, what is live can pass the limit, and the collector then
// runs back to back (the runtime caps it at half the CPU) until it falls.
const mountMemoryLimit = 160 << 20

func setMountMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(mountMemoryLimit)
	}
}
