// Command byob mounts and syncs a team's "bring your own bucket" storage.
//
// This package is CLI wiring only: cobra commands (one file each), flags,
// configuration, output (human on a terminal, --json for machines), logs
// (slog to stderr) and exit codes. The work is done by the packages below it.
//
// Exit codes: 0 success, 1 failure, 2 usage error (bad flags, a malformed
// address or config), 3 partial failure (some items failed, the rest done),
// 4 nothing to do where asked to flag it.
//
// Secrets: every address is printed redacted; the secrets of every address
// this process parsed are also scrubbed from anything written to stderr
// (errors and logs), as a last line of defence.
package main
