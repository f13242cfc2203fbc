package transfer

import "github.com/byobfs/byob/providers"

// CrashEnv names the environment variable CrashPoint reads
// (providers.CrashEnv).
const CrashEnv = providers.CrashEnv

// CrashPoint is providers.CrashPoint, for the crash points of this package
// and its callers.
func CrashPoint(name string) { providers.CrashPoint(name) }
