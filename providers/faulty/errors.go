package faulty

import "errors"

// ErrInjected is wrapped by every error this package makes up, so a test can
// tell an injected fault from a real one with errors.Is. Errors a rule or
// the Before hook supply themselves are returned as given.
var ErrInjected = errors.New("faulty: injected fault")

// errStopList ends an inner List early when a Cut rule's entry budget is
// spent. It never leaves the package.
var errStopList = errors.New("faulty: list cut")
