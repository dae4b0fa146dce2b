package cli

import (
	"errors"
	"fmt"
)

// Exit codes. They are part of the CLI contract (README.md, "Exit codes").
const (
	ExitOK          = 0
	ExitFailure     = 1   // runtime error, or an audit whose coverage is incomplete
	ExitUsage       = 2   // bad flags, arguments or configuration
	ExitFindings    = 3   // --fail-on matched
	ExitPending     = 4   // enable: some tables are pending
	ExitNoMatch     = 5   // a selector (--table, --owner, --tier, ...) matched nothing; serve: no history database
	ExitUnsafe      = 6   // refused as unsafe: serve on a non-loopback address without --auth-token-file
	ExitInterrupted = 130 // Ctrl-C
)

// FlagError is a usage error: the message is followed by a hint to --help.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf returns a usage error.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ExitError ends a command with a specific code after its output was written.
// A nil Err means the command already said everything it had to say.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// exitCode maps an error from a command to the process exit code.
func exitCode(err error) int {
	var ee *ExitError
	var fe *FlagError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &fe):
		return ExitUsage
	}
	return ExitFailure
}
