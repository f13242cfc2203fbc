package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/byobfs/byob/cmd/internal/config"
	"github.com/byobfs/byob/providers"
)

// Exit codes, documented in README and `byob --help`.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitPartial = 3
	exitNothing = 4
)

const exitCodesHelp = `Exit codes:
  0  success
  1  failure
  2  usage error (bad flags, malformed address or config)
  3  partial failure (some items failed, the rest were done)
  4  nothing to do (where a command is asked to flag it)`

// app is the state one invocation shares between commands.
type app struct {
	stdout io.Writer
	stderr *scrubWriter
	log    *slog.Logger

	configPath string
	logLevel   string
	logFormat  string
	jsonOut    bool

	cfg      *config.File
	registry *providers.Registry
}

func main() {
	args := os.Args[1:]
	if a, ok, err := mountHelperArgs(os.Args[0], args); ok {
		if err != nil {
			fmt.Fprintln(os.Stderr, "byob:", err)
			os.Exit(exitUsage)
		}
		args = a
	}
	os.Exit(run(context.Background(), args, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: stdout, stderr: newScrubWriter(stderr), registry: newRegistry()}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	msg, code := describe(err)
	fmt.Fprintf(a.stderr, "byob: %s\n", msg)
	return code
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "byob",
		Short: "Mount, sync and inspect a team's bring-your-own-bucket storage",
		Long: `byob mounts and syncs the "bring your own bucket" storage of an ML
experiment-tracking platform: S3, CoreWeave, GCS, Azure Blob, MinIO or a local
directory, optionally under a sub-path, per instance or per team.

Addresses:
  s3://KEY:SECRET@ENDPOINT/BUCKET[/PATH]?region=R&tls=true
  s3://KEY:SECRET@BUCKET[/PATH]         s3://BUCKET[/PATH] (AWS credential chain)
  cw://KEY:SECRET@cwobject.com/BUCKET[/PATH]
  gs://EMAIL:URL_ENCODED_KEY@BUCKET[/PATH]
  az://:URL_ENCODED_KEY@ACCOUNT/CONTAINER[/PATH]
  file:///ABSOLUTE/DIR
  NAME:PATH     a remote or team from the config file
  :PATH or ""   BYOB_STORE (else the platform's BUCKET + BUCKET_PATH)

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup()
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "config file (default $BYOB_CONFIG or $XDG_CONFIG_HOME/byob/config.toml)")
	pf.StringVar(&a.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	pf.BoolVar(&a.jsonOut, "json", false, "machine-readable JSON output")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(a.lsCommand(), a.statCommand(), a.catCommand(), a.cpCommand(), a.syncCommand(), a.duCommand(), a.mountCommand(), a.unmountCommand(), a.cacheCommand(), a.versionCommand())
	return root
}

func (a *app) setup() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level must be debug, info, warn or error")}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch a.logFormat {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	default:
		return usageError{fmt.Errorf("--log-format must be text or json")}
	}
	cfg, err := config.Load(a.configPath)
	if err != nil {
		return err
	}
	a.cfg = cfg
	for _, w := range cfg.Warnings {
		a.log.Warn(w)
	}
	return nil
}

// usageError marks errors that exit with code 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// partialError marks a run where some items failed and the rest were done.
type partialError struct {
	failed, total int
	first         error
}

func (p partialError) Error() string {
	return fmt.Sprintf("%d of %d items failed; first error: %v", p.failed, p.total, p.first)
}

func (p partialError) Unwrap() error { return p.first }

// describe turns an error into one line (what is wrong, what to do) and an
// exit code.
func describe(err error) (string, int) {
	msg := providers.RedactText(err.Error())
	var pe partialError
	switch {
	case errors.As(err, &pe):
		return msg, exitPartial
	case errors.As(err, new(usageError)):
		return msg + " (see --help)", exitUsage
	case errors.Is(err, providers.ErrInvalidAddress):
		return msg + " (see `byob --help` for address forms)", exitUsage
	case errors.Is(err, config.ErrConfig):
		return msg, exitUsage
	case errors.Is(err, context.Canceled):
		return "interrupted", exitFailure
	case errors.Is(err, providers.ErrBucketNotExist):
		return msg + " (check the bucket name, region and endpoint)", exitFailure
	case errors.Is(err, providers.ErrNotExist):
		return msg, exitFailure
	case errors.Is(err, providers.ErrExpired):
		return msg + " (the credentials or signed URL expired: refresh them)", exitFailure
	case errors.Is(err, providers.ErrPermission):
		return msg + " (check the access key and secret, and the bucket's permissions)", exitFailure
	case errors.Is(err, providers.ErrUnavailable):
		return msg + " (check the endpoint host, port and tls= setting, and that the server is up)", exitFailure
	}
	return msg, exitFailure
}

// scrubWriter replaces every secret this process has seen with "***"
// before the bytes reach stderr.
type scrubWriter struct {
	w       io.Writer
	secrets []string
}

func newScrubWriter(w io.Writer) *scrubWriter { return &scrubWriter{w: w} }

func (s *scrubWriter) add(secret string) {
	if len(secret) >= 4 {
		s.secrets = append(s.secrets, secret)
	}
}

func (s *scrubWriter) Write(p []byte) (int, error) {
	if len(s.secrets) == 0 {
		return s.w.Write(p)
	}
	out := string(p)
	for _, sec := range s.secrets {
		out = strings.ReplaceAll(out, sec, "***")
	}
	if _, err := io.WriteString(s.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// usageArgs marks cobra's argument-count errors as usage errors (exit 2).
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// firstArg is the optional location argument ("" means BYOB_STORE).
func firstArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return ""
}
