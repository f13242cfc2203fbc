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
	"github.com/byobfs/byob/cmd/internal/mounts"
	byobfs "github.com/byobfs/byob/fs"
	"github.com/byobfs/byob/fs/fusefs"
	"github.com/byobfs/byob/transfer"
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
the next mount. "byob unmount" refuses a mount in use and lists what is open;
SIGTERM unmounts, or detaches a busy mount and serves its open files until
they are closed; pending uploads finish first (both within --drain-timeout).

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
	fl.DurationVar(&f.drainTimeout, "drain-timeout", 10*time.Minute, "when stopping: how long files still open are served, and pending uploads waited for")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464)")
	return cmd
}

// mountCacheDir derives a mount's own cache directory from its mountpoint.
func (a *app) mountCacheDir(flag, mountpoint string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	base, err := a.cacheBase("")
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(mountpoint))
	return filepath.Join(base, "mount-"+hex.EncodeToString(h[:6])), nil
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
	rt, err := a.runtimeDir()
	if err != nil {
		return err
	}
	// What stands at the mountpoint: a dead byob mount (ENOTCONN) is
	// cleared, anything mounted there refused.
	switch m, err := mounts.Find(rt, mountpoint); {
	case err != nil:
		return err
	case m.State == mounts.Dead:
		if err := mounts.ClearDead(rt, m); err != nil {
			return fmt.Errorf("clear the dead mount at %s: %w", mountpoint, err)
		}
		a.log.Warn("cleared a dead byob mount (its process was gone)", "mountpoint", mountpoint)
	case m.State == mounts.Stopping:
		return fmt.Errorf("the byob mount at %s (pid %d) is still finishing its uploads; wait for it to exit", mountpoint, m.Record.PID)
	case m.State != mounts.NotMounted:
		return fmt.Errorf("%s is already a mount point (%s, %s): unmount it first", mountpoint, m.Entry.FSType, m.State)
	}
	// What to mount: one store (ADDRESS or NAME:PATH), or every team.
	type mountee struct {
		name string
		t    *target
	}
	var met *metrics
	if f.metricsAddr != "" {
		met = newMetrics()
	}
	oo := openOptions{confine: true}
	if met != nil {
		oo.observer = met
	}
	var ms []mountee
	if ref != "" {
		t, err := a.openStoreWith(ctx, ref, oo)
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
			t, err := a.openStoreWith(ctx, n+":", oo)
			if err != nil {
				return fmt.Errorf("team %s: %w", n, err)
			}
			ms = append(ms, mountee{n, t})
		}
	}
	for _, m := range ms {
		defer m.t.close()
	}
	if fi, err := os.Stat(mountpoint); err != nil || !fi.IsDir() {
		return usageError{fmt.Errorf("mountpoint %s must be an existing directory", mountpoint)}
	}

	cacheDir, err := a.mountCacheDir(f.cacheDir, mountpoint)
	if err != nil {
		return err
	}
	copts := cache.DefaultOptions(cacheDir)
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
	live := transfer.NewMemory(transfer.DefaultLiveMemory) // write tails of every team together
	for _, m := range ms {
		o := byobfs.DefaultOptions()
		o.Store, o.StoreID, o.Cache, o.LiveMemory = m.t.store, m.t.storeID(), c, live
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
	a.log.Info("mounted", "source", mopts.FsName, "mountpoint", mountpoint, "cache", copts.Dir)
	if srv.ReadAheadErr != nil {
		a.log.Debug("kernel readahead left at its default", "error", srv.ReadAheadErr)
	}
	if met != nil {
		stopMetrics, err := met.serve(ctx, f.metricsAddr, fss, nil)
		if err != nil {
			srv.Detach()
			srv.Wait()
			closeAll()
			return usageError{fmt.Errorf("--metrics-addr: %v", err)}
		}
		defer stopMetrics()
	}
	s := &mountServer{a: a, srv: srv, fss: fss, cache: c, mountpoint: mountpoint, drainTimeout: f.drainTimeout,
		unmounts: make(chan unmountRequest)}
	socket := mounts.SocketPath(rt, mountpoint)
	stopControl, err := serveControl(socket, s.handle)
	if err != nil {
		a.log.Warn("no control socket: byob unmount and byob cache pending cannot ask this mount", "error", err)
	} else {
		defer stopControl()
	}
	rec, err := mounts.NewRecord(mountpoint, mopts.FsName, copts.Dir, socket, version)
	if err == nil {
		var unregister func()
		if unregister, err = mounts.Register(rt, rec); err == nil {
			defer unregister()
		}
	}
	if err != nil {
		a.log.Warn("the mount is not registered: byob unmount and byob mounts will not find it", "error", err)
	}
	if fd := os.Getenv("BYOB_MOUNT_READY_FD"); fd != "" {
		if n, err := strconv.Atoi(fd); err == nil {
			w := os.NewFile(uintptr(n), "ready")
			w.Write([]byte("ok\n"))
			w.Close()
		}
	}
	return s.run(ctx)
}

// mountServer runs a live mount until it is unmounted (byob unmount, a
// signal, or the kernel) and its uploads are done.
type mountServer struct {
	a            *app
	srv          *fusefs.Server
	fss          []*byobfs.FS
	cache        *cache.Cache
	mountpoint   string
	drainTimeout time.Duration
	unmounts     chan unmountRequest // from the control socket
}

// unmountRequest asks the serving loop to unmount; the answer goes to reply.
type unmountRequest struct {
	force bool
	reply chan controlAnswer
}

// handle answers one control request.
func (s *mountServer) handle(ctx context.Context, req string) controlAnswer {
	ans := controlAnswer{OK: true, PID: os.Getpid(), Mount: s.mountpoint}
	switch req {
	case "status":
	case "pending":
		for _, f := range s.fss {
			p, err := f.Pending(ctx)
			if err != nil {
				ans.OK, ans.Error = false, err.Error()
			}
			ans.Pending = append(ans.Pending, p...)
		}
	case "stats":
		st, err := s.cache.Stats(ctx)
		if err != nil {
			ans.OK, ans.Error = false, err.Error()
		}
		ans.Stats = &st
	case "unmount", "unmount force":
		r := unmountRequest{force: req == "unmount force", reply: make(chan controlAnswer, 1)}
		select {
		case s.unmounts <- r:
			return <-r.reply
		case <-ctx.Done():
			ans.OK, ans.Error = false, "the mount is stopping"
		}
	default:
		ans.OK, ans.Error = false, fmt.Sprintf("unknown request %q", req)
	}
	return ans
}

// run serves until the mount goes away, then waits for the uploads.
//
//   - The kernel unmounts (umount by root; umount -l once the last open
//     file is closed): the loop ends.
//   - byob unmount: unmounted unless busy; busy, the files open are
//     answered and the mount goes on; forced, it is detached and serves
//     its open files until they are closed.
//   - SIGTERM, SIGINT: unmounted; busy, detached, and its open files are
//     served until they are closed or --drain-timeout passes.
//
// Then the write-back queue is drained within what is left of
// --drain-timeout. What was left pending stays journaled in the cache
// (the next mount, or byob cache pending --upload, uploads it); writes to
// files still open when the drain timeout ends are lost (the kernel
// answers them ENOTCONN), and such files are logged.
func (s *mountServer) run(ctx context.Context) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var sig <-chan os.Signal = sigs
	served := make(chan struct{})
	go func() { s.srv.Wait(); close(served) }()
	var deadline <-chan time.Time // set once stopping
	done := ctx.Done()
	stopping := func() {
		if deadline == nil {
			deadline = time.After(s.drainTimeout)
		}
		sig, done = nil, nil // stopping once is enough
	}
	var drainBy time.Time
loop:
	for {
		select {
		case <-served:
			break loop
		case r := <-s.unmounts:
			ans := controlAnswer{OK: true, PID: os.Getpid(), Mount: s.mountpoint}
			err := s.srv.UnmountIfIdle()
			if errors.Is(err, fusefs.ErrBusy) {
				ans.Busy, ans.Open = true, mounts.OpenFiles(s.mountpoint)
				if !r.force {
					ans.OK, ans.Error = false, "busy"
					r.reply <- ans
					continue
				}
				err = s.srv.Detach()
				s.a.log.Warn("detached while busy: open files are served until they are closed", "mountpoint", s.mountpoint, "open", len(ans.Open))
			}
			if err != nil {
				ans.OK, ans.Error = false, err.Error()
			}
			r.reply <- ans
			if err == nil {
				drainBy = time.Now().Add(s.drainTimeout)
				if r.force {
					stopping()
				}
			}
		case <-sig:
			s.stopOnSignal()
			drainBy = time.Now().Add(s.drainTimeout)
			stopping()
		case <-done:
			s.stopOnSignal()
			drainBy = time.Now().Add(s.drainTimeout)
			stopping()
		case <-deadline:
			for _, x := range s.fss {
				for _, h := range x.OpenHandles() {
					s.a.log.Error("still open after --drain-timeout: not published, and later writes to it fail", "key", h.Key, "write", h.Write)
				}
			}
			break loop
		}
	}
	if drainBy.IsZero() {
		drainBy = time.Now().Add(s.drainTimeout)
	}
	dctx, cancel := context.WithDeadline(context.Background(), drainBy)
	defer cancel()
	var derr error
	var pending []byobfs.PendingUpload
	for _, x := range s.fss {
		if err := x.Drain(dctx); err != nil && derr == nil {
			derr = err
		}
		p, _ := x.Pending(context.Background())
		pending = append(pending, p...)
	}
	for _, x := range s.fss {
		x.Close()
	}
	if derr != nil || len(pending) > 0 {
		for _, p := range pending {
			s.a.log.Warn("not uploaded yet; the next mount with this cache uploads it", "key", p.Key, "size", p.Size, "state", p.State)
		}
		return fmt.Errorf("unmounted with %d upload(s) pending (kept in cache %s)", len(pending), s.cache.Dir())
	}
	return nil
}

// stopOnSignal unmounts, or detaches a busy mount and logs what is open.
func (s *mountServer) stopOnSignal() {
	if err := s.srv.UnmountIfIdle(); errors.Is(err, fusefs.ErrBusy) {
		for _, o := range mounts.OpenFiles(s.mountpoint) {
			s.a.log.Warn("stopping while busy: served until closed or --drain-timeout", "file", o.String())
		}
		if err := s.srv.Detach(); err != nil {
			s.a.log.Error("detach", "error", err)
		}
	} else if err != nil {
		s.a.log.Error("unmount", "error", err)
	}
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
	var force bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "unmount MOUNTPOINT",
		Short: "Unmount a byob mount after its pending uploads finish",
		Long: `Unmount the byob mount at MOUNTPOINT and wait until its pending uploads are
done and its process has exited (--timeout).

A mount in use (files open, or a working directory inside it) is not
unmounted: the command fails and lists what is open, by process. --force
detaches it anyway: the directory is released at once, and the mount's
process keeps serving the files already open until they are closed (or its
--drain-timeout passes: writes after that are lost), then uploads and exits.

A mount whose process died (ENOTCONN) is cleared. The mount is found through
the kernel's mount table and the registry of running mounts, whatever cache
directory it was given; a process is only ever signalled once it is known to
be that mount.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			mp, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			return a.unmount(mp, force, timeout)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "detach even when files are open (they stay usable until closed)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for pending uploads and the mount's exit")
	cmd.Flags().String("cache-dir", "", "ignored: mounts are found whatever their cache directory")
	cmd.Flags().MarkHidden("cache-dir")
	return cmd
}

func (a *app) unmount(mp string, force bool, timeout time.Duration) error {
	rt, err := a.runtimeDir()
	if err != nil {
		return err
	}
	m, err := mounts.Find(rt, mp)
	if err != nil {
		return err
	}
	switch m.State {
	case mounts.NotMounted:
		return fmt.Errorf("no byob mount at %s", mp)
	case mounts.Other:
		return fmt.Errorf("%s is not a byob mount (%s)", mp, m.Entry.FSType)
	case mounts.Dead:
		if err := mounts.ClearDead(rt, m); err != nil {
			return fmt.Errorf("the byob mount at %s had died (ENOTCONN); detaching it failed: %w", mp, err)
		}
		fmt.Fprintf(a.stderr, "byob: the mount at %s had died (its process was gone); detached it. What it had not uploaded is in its cache (byob cache pending --cache-dir DIR)\n", mp)
		return nil
	case mounts.Unregistered:
		// Another user's, or a byob before registries: the kernel is
		// asked directly (it refuses a busy mount); its process exits
		// once unmounted.
		if err := syscall.Unmount(mp, 0); err != nil {
			if errors.Is(err, syscall.EBUSY) {
				return busyError(mp, mounts.OpenFiles(mp))
			}
			return fmt.Errorf("unmount %s (a byob mount not registered in %s): %w", mp, rt, err)
		}
		return nil
	case mounts.Stopping:
		return a.waitExit(*m.Record, timeout)
	}
	req := "unmount"
	if force {
		req = "unmount force"
	}
	ans, err := askMount(m.Record.Socket, req)
	switch {
	case errors.Is(err, errNoAnswer):
		// Alive (pid, start time and executable match) but not answering:
		// the signal path, which unmounts or detaches a busy mount.
		if !force {
			if open := mounts.OpenFiles(mp); len(open) > 0 {
				return busyError(mp, open)
			}
		}
		if err := syscall.Kill(m.Record.PID, syscall.SIGTERM); err != nil {
			return fmt.Errorf("the mount at %s (pid %d) does not answer and could not be signalled: %w", mp, m.Record.PID, err)
		}
	case err != nil:
		return err
	case ans.Busy && !force:
		return busyError(mp, ans.Open)
	case ans.Busy:
		fmt.Fprintf(a.stderr, "byob: detached %s while busy; the mount (pid %d) serves these until they are closed, then uploads and exits (writes after its --drain-timeout are lost):\n", mp, m.Record.PID)
		for _, o := range ans.Open {
			fmt.Fprintf(a.stderr, "  %s\n", o)
		}
		return nil
	}
	return a.waitExit(*m.Record, timeout)
}

// waitExit waits until the mount process of r has exited.
func (a *app) waitExit(r mounts.Record, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for r.Alive() {
		if time.Now().After(deadline) {
			return fmt.Errorf("the mount at %s (pid %d) is still finishing uploads after %v; see its log, or wait", r.Mountpoint, r.PID, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// busyError is the refusal of an unmount while files are open.
func busyError(mp string, open []mounts.OpenFile) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is busy (%d open): not unmounted; close them, or --force to detach anyway", mp, len(open))
	for _, o := range open {
		b.WriteString("\n  ")
		b.WriteString(o.String())
	}
	return fmt.Errorf("%s: %w", b.String(), syscall.EBUSY)
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
